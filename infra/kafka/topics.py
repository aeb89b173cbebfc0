"""Create the platform's Kafka topics with explicit partitions and retention; safe to re-run.

Raw feed topics keep a week, enough to replay any day the pipeline missed; the dead-letter
topic keeps a month, so operators have time to fix and replay rejected records.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cur import settings as settings_module

RAW_PARTITIONS = 4
DAY_MS = 24 * 3600 * 1000
log = logging.getLogger("infra.kafka.topics")


def topic_specs(settings: settings_module.Settings) -> list[NewTopic]:
    raw = [
        NewTopic(topic, RAW_PARTITIONS, 1, topic_configs={"retention.ms": str(7 * DAY_MS)})
        for topic in settings.raw_topics.values()
    ]
    dead_letter = NewTopic(settings.dead_letter_topic, 1, 1, topic_configs={"retention.ms": str(30 * DAY_MS)})
    return [*raw, dead_letter]


async def ensure_topics(settings: settings_module.Settings) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in topic_specs(settings) if spec.name not in existing]
        if missing:
            await admin.create_topics(missing)
        return [spec.name for spec in missing]
    finally:
        await admin.close()


async def recreate_topics(settings: settings_module.Settings) -> None:
    """Delete the platform's topics and create them again, empty (tests and benchmarks start so)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        ours = {spec.name for spec in topic_specs(settings)} & set(await admin.list_topics())
        if ours:
            await admin.delete_topics(sorted(ours))
            for _ in range(100):  # deletion completes asynchronously on the broker
                if not ours & set(await admin.list_topics()):
                    break
                await asyncio.sleep(0.2)
    finally:
        await admin.close()
    await ensure_topics(settings)


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    created = asyncio.run(ensure_topics(settings_module.load()))
    print(f"kafka topics created: {', '.join(created) if created else 'none (all present)'}")


if __name__ == "__main__":
    main()
