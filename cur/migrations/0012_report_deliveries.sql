-- Weekly KPI reports (reports/deliver.py): one row per event of a week's report for one recipient.
-- Append-only, so an auditor reads the whole history of a week: when it was rendered, sent (to
-- which addresses, with which Message-ID and file checksums), skipped because it had been sent
-- already, or held back because its data failed the quality gate (and the operators were told).
-- A re-run reads the latest event per (week_start, recipient_kind, recipient_code) to decide
-- whether a report was sent already.
CREATE TABLE IF NOT EXISTS {db}.report_deliveries
(
    week_start      Date,                  -- Monday of the reported week, region-local
    recipient_kind  LowCardinality(String),  -- 'ministry', 'municipality', or 'operators' for a gate notice
    recipient_code  String,                -- authority_code, municipality_code, or '' for the operators
    recipient_name  String,
    event           Enum8('sent' = 1, 'already_sent' = 2, 'held_by_gate' = 3, 'operators_told' = 4),
    addresses       Array(String),
    pdf_path        String,
    xlsx_path       String,
    pdf_sha256      String,
    xlsx_sha256     String,
    message_id      String,
    gate_status     LowCardinality(String),  -- reports/quality.py: passed, failed, partial, unknown
    run_id          String,                -- the Airflow run (or the command line) that made the event
    recorded_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(week_start)
ORDER BY (week_start, recipient_kind, recipient_code, recorded_at)
