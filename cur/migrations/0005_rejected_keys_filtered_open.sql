-- Replays keep their partition: the rejected record's Kafka key is kept too.
ALTER TABLE {db}.rejected_events ADD COLUMN IF NOT EXISTS kafka_key String DEFAULT '' AFTER kafka_offset;

-- Records that are valid but carry no appeal (a Safe City camera heartbeat) are counted, not stored.
ALTER TABLE {db}.stream_batches ADD COLUMN IF NOT EXISTS filtered UInt32 DEFAULT 0 AFTER rejected;

-- Rejected records not replayed yet: what an operator still has to look at.
CREATE VIEW IF NOT EXISTS {db}.rejected_open AS
SELECT r.*
FROM {db}.rejected_events AS r FINAL
LEFT ANTI JOIN {db}.rejected_replays AS p USING (kafka_topic, kafka_partition, kafka_offset);
