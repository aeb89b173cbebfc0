"""Stand-in for the four source systems: realistic raw events of one region-local day.

Reproducible from a seed, and it knows the ground truth of what it sent: how many distinct
appeals per feed, how many exact replays (the same message sent twice, as feeds do after a
reconnect) and how many malformed records (which the pipeline must reject, with a reason).

    python -m streams.generator --day 2026-11-20 --appeals 2000 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cur import settings as settings_module
from cur import taxonomy

# Feed shares of a day's appeals: the portal dominates, as in the articles.
FEED_WEIGHTS = {"pos": 0.55, "112": 0.15, "safe_city": 0.2, "housing": 0.1}
REPLAY_SHARE = 0.03
MALFORMED_SHARE = 0.01

# (lat, lon) of each municipality's centre, and streets for addresses.
CENTRES = {
    "29701000": (54.5138, 36.2612),
    "29715000": (55.0968, 36.6101),
    "29606000": (55.2079, 36.4870),
    "29623000": (55.0113, 35.8792),
    "29620000": (53.8672, 34.4463),
    "29616000": (54.0353, 35.7817),
    "29615000": (54.0793, 34.3076),
    "29612000": (55.0307, 36.7453),
    "29638000": (54.0976, 35.3437),
    "29639000": (54.7240, 37.1753),
}
STREETS = [
    "ул. Ленина",
    "ул. Кирова",
    "ул. Гагарина",
    "ул. Московская",
    "ул. Суворова",
    "ул. Советская",
    "пер. Школьный",
]
TEXTS = {
    "roads.pothole": "Во дворе дома огромная яма, машины не могут проехать.",
    "roads.snow_ice": "Дорогу не чистят от снега второй день, гололёд.",
    "roads.street_lighting": "Не горят фонари на улице, очень темно вечером.",
    "waste.garbage_removal": "Мусорные баки переполнены, мусор не вывозят.",
    "waste.illegal_dump": "За гаражами образовалась стихийная свалка.",
    "housing_utilities.heating": "В квартире холодно, батареи еле тёплые.",
    "housing_utilities.water": "Нет горячей воды с утра.",
    "housing_utilities.management_company": "Управляющая компания не отвечает на заявки.",
    "housing_utilities.yard_cleaning": "Подъезд не убирается уже месяц.",
    "healthcare.clinic_access": "Невозможно записаться к терапевту в поликлинике.",
    "healthcare.medicines": "В аптеке нет льготных лекарств.",
    "education.schools": "В школе не работает столовая.",
    "education.kindergartens": "Нет мест в детском саду рядом с домом.",
    "social_protection.benefits": "Задерживают выплату пособия на ребёнка.",
    "transport.public_transport": "Автобус №10 не ходит по расписанию.",
    "energy.power_outage": "Отключили электричество во всём доме.",
    "public_services.mfc": "Очереди в МФЦ по два часа.",
    "public_services.communications": "Нет мобильной связи в посёлке.",
    "ecology.air_pollution": "Неприятный запах от предприятия по ночам.",
    "construction.unauthorized": "Во дворе без разрешения строят гараж.",
}


KEY_FIELDS = {"pos": "id", "112": "card_id", "safe_city": "eventId", "housing": "complaint_no"}
CODE_FIELDS = {"pos": "categoryId", "112": "incident_type", "safe_city": "eventType", "housing": "violation_code"}


@dataclass(frozen=True)
class RawEvent:
    feed: str
    key: bytes
    value: bytes
    kind: str  # "appeal", "replay" or "malformed"


@dataclass
class GeneratedDay:
    day: date
    events: list[RawEvent] = field(default_factory=list)

    def truth(self) -> dict[str, Counter[str]]:
        """Per feed: distinct appeals, replays and malformed records sent."""
        result: dict[str, Counter[str]] = {feed: Counter() for feed in FEED_WEIGHTS}
        for event in self.events:
            result[event.feed][event.kind] += 1
        return result


def _encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


class DayGenerator:
    def __init__(self, day: date, seed: int, region_tz: ZoneInfo) -> None:
        self.day = day
        self.rng = random.Random(f"{seed}:{day.isoformat()}")
        self.tz = region_tz
        self.municipalities = list(CENTRES)

    def _moment(self) -> datetime:
        start = datetime.combine(self.day, time(0, 0), tzinfo=self.tz)
        # Daytime-heavy: most appeals arrive between 07:00 and 23:00 local time.
        seconds = int(self.rng.triangular(0, 86_399, 13 * 3600))
        return start + timedelta(seconds=seconds)

    def _municipality(self) -> str:
        # About 60% of appeals concern the regional capital (Kaluga's figure).
        return "29701000" if self.rng.random() < 0.6 else self.rng.choice(self.municipalities[1:])

    def _point(self, oktmo: str) -> tuple[float, float]:
        lat, lon = CENTRES[oktmo]
        return round(lat + self.rng.uniform(-0.03, 0.03), 6), round(lon + self.rng.uniform(-0.05, 0.05), 6)

    def _address(self, oktmo: str) -> str:
        name = taxonomy.municipalities()[oktmo]
        return f"{name}, {self.rng.choice(STREETS)}, д. {self.rng.randint(1, 120)}"

    def _response(self, created: datetime, typical_h: float) -> datetime | None:
        """About 80% answered, most within the typical delay, some late."""
        if self.rng.random() < 0.2:
            return None
        return created + timedelta(hours=self.rng.expovariate(1 / typical_h))

    def pos(self, n: int) -> dict:
        created = self._moment()
        oktmo = self._municipality()
        code = self.rng.choice(taxonomy.feed_codes("pos"))
        sub = taxonomy.subcategory_for("pos", code)
        lat, lon = self._point(oktmo)
        answered = self._response(created, 5)
        return {
            "id": 40_000_000 + n,
            "categoryId": int(code),
            "regionCode": "40",
            "oktmo": oktmo,
            "address": self._address(oktmo),
            "coordinates": {"lat": lat, "lon": lon} if self.rng.random() < 0.9 else None,
            "text": TEXTS.get(sub.code, sub.name_ru),
            "createdAt": created.isoformat(),
            "status": "ANSWERED" if answered else self.rng.choice(["REGISTERED", "MODERATION", "IN_WORK"]),
            "firstAnswerAt": answered.isoformat() if answered else None,
            "attachmentsCount": self.rng.randint(0, 3),
            "applicant": {"esiaId": str(1_000_000_000 + self.rng.randint(0, 10**8))},
            "urgent": False,
            "publicResonance": self.rng.random() < 0.03,
        }

    def card_112(self, n: int) -> dict:
        created = self._moment()
        oktmo = self._municipality()
        dispatched = self._response(created, 0.3)
        local = "%d.%m.%Y %H:%M:%S"
        return {
            "card_id": f"112-40-{self.day:%Y%m%d}-{n:06d}",
            "call_time": created.astimezone(self.tz).strftime(local),
            "caller_phone": f"+7910{self.rng.randint(0, 9_999_999):07d}",
            "incident_type": self.rng.choice(taxonomy.feed_codes("112")),
            "address_text": self._address(oktmo),
            "municipality": taxonomy.municipalities()[oktmo],
            "services": self.rng.sample(["01", "02", "03", "04", "05"], k=self.rng.randint(1, 2)),
            "severity": self.rng.randint(1, 3),
            "dispatch_time": dispatched.astimezone(self.tz).strftime(local) if dispatched else None,
            "closed": bool(dispatched) and self.rng.random() < 0.5,
        }

    def safe_city(self, n: int) -> dict:
        created = self._moment()
        oktmo = self._municipality()
        lat, lon = self._point(oktmo)
        return {
            "eventId": f"sc-{self.day:%Y%m%d}-{n:07d}",
            "cameraId": f"CAM-{self.rng.randint(1, 400):04d}",
            "eventType": self.rng.choice(taxonomy.feed_codes("safe_city")),
            "confidence": round(self.rng.uniform(0.6, 0.99), 2),
            "lat": lat,
            "lon": lon,
            "ts": int(created.timestamp() * 1000),
            "districtOktmo": oktmo,
        }

    def housing(self, n: int) -> dict:
        created = self._moment()
        oktmo = self._municipality()
        response = self._response(created, 30)
        local = "%Y-%m-%d %H:%M:%S"
        code = self.rng.choice(taxonomy.feed_codes("housing"))
        sub = taxonomy.subcategory_for("housing", code)
        return {
            "complaint_no": f"ГЖИ-{self.day:%Y%m%d}/{n:05d}",
            "registered_at": created.astimezone(self.tz).strftime(local),
            "violation_code": code,
            "management_company": {"name": f"ООО «УК {self.rng.choice(['Центр', 'Восход', 'Уют', 'Жилсервис'])}»"},
            "building_address": self._address(oktmo),
            "oktmo": oktmo,
            "description": TEXTS.get(sub.code, sub.name_ru),
            "response_at": response.astimezone(self.tz).strftime(local) if response else None,
            "result": None,
        }

    def malformed(self, feed: str, payload: dict) -> bytes:
        """The ways real exports break: truncated JSON, an unknown code, a missing key field."""
        choice = self.rng.randrange(3)
        if choice == 0:
            return _encode(payload)[:-7]
        broken = dict(payload)
        if choice == 1:
            broken[CODE_FIELDS[feed]] = "UNKNOWN-999"
        else:
            broken.pop(KEY_FIELDS[feed])
        return _encode(broken)


def generate_day(day: date, appeals: int, seed: int, region_tz: ZoneInfo) -> GeneratedDay:
    gen = DayGenerator(day, seed, region_tz)
    makers = {"pos": gen.pos, "112": gen.card_112, "safe_city": gen.safe_city, "housing": gen.housing}
    result = GeneratedDay(day)
    feeds = gen.rng.choices(list(FEED_WEIGHTS), weights=list(FEED_WEIGHTS.values()), k=appeals)
    for n, feed in enumerate(feeds):
        payload = makers[feed](n)
        key = str(payload[KEY_FIELDS[feed]]).encode()
        if gen.rng.random() < MALFORMED_SHARE:
            result.events.append(RawEvent(feed, key, gen.malformed(feed, payload), "malformed"))
            continue
        event = RawEvent(feed, key, _encode(payload), "appeal")
        result.events.append(event)
        if gen.rng.random() < REPLAY_SHARE:
            result.events.append(RawEvent(feed, key, event.value, "replay"))
    return result


async def publish(events: list[RawEvent], settings: settings_module.Settings) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        for event in events:
            await producer.send(settings.raw_topics[event.feed], key=event.key, value=event.value)
        await producer.flush()
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", type=date.fromisoformat, default=datetime.now(UTC).date() - timedelta(days=1))
    parser.add_argument("--appeals", type=int, default=2000, help="distinct appeals to generate")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings = settings_module.load()
    generated = generate_day(args.day, args.appeals, args.seed, settings.tz)
    asyncio.run(publish(generated.events, settings))
    for feed, counts in generated.truth().items():
        print(f"{feed:>9}: {counts['appeal']} appeals, {counts['replay']} replays, {counts['malformed']} malformed")
    print(f"published {len(generated.events)} raw events for {args.day} to {settings.kafka_bootstrap}")


if __name__ == "__main__":
    main()
