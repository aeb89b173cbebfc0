"""Property-based tests of every normalizer against what real feeds break.

For arbitrary bytes, arbitrary JSON, and valid records of every raw shape with fields dropped, retyped or
garbled (in UTF-8, \\u-escaped or Windows-1251): nothing crashes, every rejected record has a non-empty reason
of a known kind (never a Python error escaping a normalizer), every canonical record passes its own dataclass
validation with the declared types, and no personal datum of the applicant appears in clear anywhere.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import typing
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cur.pseudonymize import PSEUDONYM_RE, Pseudonymizer
from cur.schema import SOURCES, STATUSES, Appeal, Canonical, StatusEvent
from streams.feeds import NORMALIZERS
from streams.parsing import reason_kind
from streams.records import Context, KafkaMeta, Rejected, normalize_record
from tests.fixtures import known_events as k

MSK = ZoneInfo("Europe/Moscow")
PSEUDONYMIZER = Pseudonymizer(b"unit-test-key-unit-test-key")
FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FEEDS = sorted(NORMALIZERS)
per_feed = pytest.mark.parametrize("feed", FEEDS)

PHONE_DIGITS = "9107654321"
PHONE = "+7 (910) 765-43-21"
EMAIL = "petrov.pyotr@yandex.ru"
FIO = "Петров Пётр Петрович"
ESIA = "1000000777"
PD_TEXT = f"Перезвоните: {PHONE}, почта {EMAIL}. С уважением, {FIO}."

BASES: dict[str, list[dict[str, Any]]] = {
    "pos": [
        {
            **k.POS_1,
            "type": "appeal",
            "text": f"Во дворе яма. {PD_TEXT}",
            "official": True,
            "applicant": {"esiaId": ESIA, "fullName": FIO, "phone": PHONE, "email": EMAIL},
        },
        {
            "type": "status",
            "appealId": 5001,
            "status": "RETURNED",
            "changedAt": "2026-11-22T10:00:00+03:00",
            "executor": "Администрация МО «Калуга»",
            "rating": 2,
            "comment": f"Ничего не сделано, звоните {PHONE}, пишите {EMAIL}",
        },
    ],
    "112": [
        {
            **k.CARD_1,
            "caller_phone": PHONE,
            "address_text": f"Калуга, ул. Кирова, д. 5, перезвонить {PHONE}",
            "close_time": "20.11.2026 09:40:00",
        }
    ],
    "safe_city": [
        {**k.SAFE_1, "type": "detection"},
        {"type": "heartbeat", "cameraId": "CAM-0042", "ts": 1795158000000, "state": "online"},
    ],
    "housing": [
        {
            **k.HOUSING_1,
            "type": "complaint",
            "description": f"Батареи еле тёплые. {PD_TEXT}",
            "applicant": {"fio": FIO, "phone": PHONE, "email": EMAIL},
        },
        {
            "type": "inspection",
            "complaint_no": "ГЖИ-1",
            "inspection_no": "П-7",
            "inspected_at": "2026-11-24 10:00:00",
            "inspection_type": "выездная",
            "violation_found": True,
        },
        {
            "type": "order",
            "complaint_no": "ГЖИ-1",
            "order_no": "ПР-7",
            "issued_at": "2026-11-25 12:00:00",
            "deadline": "2026-12-05",
            "management_company": {"name": "ООО «УК Центр»", "inn": "4027000001"},
            "requirement": f"устранить течь; ответственный тел. {PHONE}",
        },
        {
            "type": "result",
            "complaint_no": "ГЖИ-1",
            "result_at": "2026-12-04 16:00:00",
            "outcome": "fixed",
            "comment": f"акт от 04.12.2026, заявитель {EMAIL}",
        },
    ],
}
SHAPES = [(feed, base) for feed in sorted(BASES) for base in BASES[feed]]
FIELD_NAMES = {feed: sorted({key for base in bases for key in base} | {"type"}) for feed, bases in BASES.items()}

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities too: Python's json reads and writes them
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


# --- what every outcome must satisfy ------------------------------------------------------------------------


def run(feed: str, payload: bytes) -> list[Canonical] | Rejected:
    ctx = Context(KafkaMeta(f"raw.{feed}", 2, 41), datetime(2026, 11, 25, tzinfo=UTC), MSK, PSEUDONYMIZER)
    return normalize_record(feed, NORMALIZERS[feed], payload, ctx, key=b"key")


HINTS = {cls: typing.get_type_hints(cls) for cls in (Appeal, StatusEvent)}


def assert_valid(record: Canonical) -> None:
    """The record passes its own validation again, has the declared types and can become a row."""
    assert dataclasses.replace(record) == record  # replace() runs __post_init__ again
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        declared = HINTS[type(record)][field.name]
        assert isinstance(value, declared), (field.name, value)
        if declared is int:
            assert type(value) is int, (field.name, value)  # a bool is an int to isinstance
        if isinstance(value, str):
            value.encode("utf-8")  # storable in a ClickHouse String
        if isinstance(value, datetime):
            assert value.utcoffset() is not None
    assert record.source in SOURCES and record.status in STATUSES
    assert record.source_id and record.source_id == record.source_id.strip()
    if isinstance(record, Appeal):
        assert 0 <= record.version < 2**64
        assert record.applicant_pseudonym == "" or PSEUDONYM_RE.match(record.applicant_pseudonym)
    else:
        assert record.rating is None or (type(record.rating) is int and 1 <= record.rating <= 5)
    assert len(record.as_row()) == len(dataclasses.fields(record))


def _fold(value: str) -> str:
    return value.casefold().replace("ё", "е")


def assert_no_personal_data(record: Canonical, *, name_known: bool) -> None:
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if not isinstance(value, str) or field.name == "applicant_pseudonym":
            continue
        squeezed = re.sub(r"[\s\-()+]", "", value)
        assert PHONE_DIGITS not in squeezed and ESIA not in squeezed, (field.name, value)
        assert "petrov.pyotr" not in _fold(value), (field.name, value)
        if name_known:
            assert "петров" not in _fold(value) and "петр " not in _fold(value), (field.name, value)


def assert_outcome(result: list[Canonical] | Rejected, *, name_known: bool = True) -> None:
    if isinstance(result, Rejected):
        assert result.reason.strip()
        assert reason_kind(result.reason, result.unmapped_code) != "internal", result.reason
        return
    assert isinstance(result, list)
    for record in result:
        assert_valid(record)
        assert_no_personal_data(record, name_known=name_known)


def test_every_base_record_is_valid() -> None:
    """The starting points of the mutations are themselves valid records, without personal data in clear."""
    for feed, base in SHAPES:
        result = run(feed, json.dumps(base, ensure_ascii=False).encode())
        assert not isinstance(result, Rejected), (feed, result)
        assert_outcome(result)


# --- arbitrary input -------------------------------------------------------------------------------------


@per_feed
@FAST
@given(payload=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(feed: str, payload: bytes) -> None:
    assert_outcome(run(feed, payload))


@per_feed
@FAST
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_arbitrary_json_never_crashes(feed: str, value: Any, ascii_only: bool) -> None:
    assert_outcome(run(feed, json.dumps(value, ensure_ascii=ascii_only).encode()))


@per_feed
@FAST
@given(data=st.data())
def test_json_objects_with_the_feeds_field_names_never_crash(feed: str, data: st.DataObject) -> None:
    names = st.sampled_from(FIELD_NAMES[feed]) | st.text(max_size=8)
    record = data.draw(st.dictionaries(names, JSON_VALUES, max_size=12))
    assert_outcome(run(feed, json.dumps(record).encode()))


# --- mutations of valid records ------------------------------------------------------------------------------


def _paths(payload: dict[str, Any]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for key, value in payload.items():
        paths.append((key,))
        if isinstance(value, dict):
            paths.extend((key, inner) for inner in value)
    return paths


def _garbled(draw: st.DrawFn, value: Any) -> Any:
    """A value of the same JSON type with other content (for a string: cut, doubled or replaced)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return draw(st.integers(min_value=-(2**64), max_value=2**64) | st.sampled_from([0, -1, value * 1000]))
    if isinstance(value, float):
        return draw(st.floats() | st.sampled_from([value * 1000, -value, 0.0]))
    if isinstance(value, str):
        return draw(
            st.sampled_from([value[: len(value) // 2], value + value, value.upper(), " " + value + " "])
            | st.text(max_size=25)
        )
    if isinstance(value, list):
        return draw(st.lists(JSON_SCALARS, max_size=3))
    if isinstance(value, dict):
        return draw(st.dictionaries(st.text(max_size=6), JSON_SCALARS, max_size=3))
    return draw(JSON_VALUES)


@st.composite
def mutated_records(draw: st.DrawFn, feed: str) -> dict[str, Any]:
    """A valid record of one of the feed's raw shapes, with 1-3 fields dropped, retyped or garbled."""
    payload = copy.deepcopy(draw(st.sampled_from(BASES[feed])))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(payload) or [("type",)]))
        parent: Any = payload
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        operation = draw(st.sampled_from(["drop", "retype", "garble"]))
        if operation == "drop":
            parent.pop(path[-1], None)
        elif operation == "retype":
            old_type = type(parent.get(path[-1]))
            parent[path[-1]] = draw(JSON_VALUES.filter(lambda v, old_type=old_type: type(v) is not old_type))
        else:
            parent[path[-1]] = _garbled(draw, parent.get(path[-1]))
    return payload


def _name_known(payload: dict[str, Any]) -> bool:
    """Whether the normalizer was told the applicant's name (then it must cut it out of the text)."""
    applicant = payload.get("applicant")
    return isinstance(applicant, dict) and FIO in (applicant.get("fullName"), applicant.get("fio"))


def _encodings(draw: st.DrawFn, payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        try:
            legacy = text.encode("cp1251")
            legacy.decode("utf-8")
        except UnicodeEncodeError:
            pass  # not representable in Windows-1251: the legacy exporter would not have written it
        except UnicodeDecodeError:
            return legacy
    return text.encode("utf-8")


@per_feed
@settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_records_normalize_or_carry_a_reason(feed: str, data: st.DataObject) -> None:
    payload = data.draw(mutated_records(feed))
    assert_outcome(run(feed, _encodings(data.draw, payload)), name_known=_name_known(payload))


@per_feed
@FAST
@given(data=st.data())
def test_windows_1251_gives_the_same_records_as_utf8(feed: str, data: st.DataObject) -> None:
    payload = data.draw(mutated_records(feed))
    text = json.dumps(payload, ensure_ascii=False)
    try:
        legacy = text.encode("cp1251")
        legacy.decode("utf-8")
        return  # not representable, or ambiguous: such a record is not a Windows-1251 one
    except UnicodeEncodeError:
        return
    except UnicodeDecodeError:
        pass
    as_utf8, as_cp1251 = run(feed, text.encode("utf-8")), run(feed, legacy)
    if isinstance(as_utf8, Rejected):
        assert isinstance(as_cp1251, Rejected) and as_cp1251.reason == as_utf8.reason
    else:
        assert as_cp1251 == as_utf8


# --- personal data written into free text --------------------------------------------------------------------


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    """(how it is written, its 10 national digits)"""
    digits = "9" + draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    a, b, c, d = digits[:3], digits[3:6], digits[6:8], digits[8:]
    written = draw(
        st.sampled_from(
            [f"+7{digits}", f"8{digits}", f"8 ({a}) {b}-{c}-{d}", f"+7 {a} {b} {c} {d}", f"8-{a}-{b}-{c}-{d}", digits]
        )
    )
    return written, digits


EMAILS = st.builds(
    "{}{}@{}.{}".format,
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10),
    st.sampled_from(["", ".", "_", "-", "+"]).map(lambda sep: sep + "x1"),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10),
    st.sampled_from(["ru", "com", "рф"]),
)
WORDS = st.text(alphabet="абвгдежзийклмнопрстуфхцчшщыэюя АБВ.,!?:;", max_size=20)
FREE_TEXT_FIELDS = [
    ("pos", 0, "text"),
    ("pos", 0, "address"),
    ("pos", 1, "comment"),
    ("112", 0, "address_text"),
    ("housing", 0, "description"),
    ("housing", 0, "building_address"),
    ("housing", 2, "requirement"),
    ("housing", 3, "comment"),
]


@FAST
@given(
    where=st.sampled_from(FREE_TEXT_FIELDS),
    before=WORDS,
    after=WORDS,
    phone=phones(),
    email=EMAILS,
    close=st.sampled_from([" ", ", ", ": ", " (", "\n"]),
)
def test_phones_and_emails_in_free_text_never_come_out(
    where: tuple[str, int, str], before: str, after: str, phone: tuple[str, str], email: str, close: str
) -> None:
    feed, index, field = where
    written, digits = phone
    payload = {**BASES[feed][index], field: f"{before}{close}{written}{close}{email}{close}{after}"}
    result = run(feed, json.dumps(payload, ensure_ascii=False).encode())
    assert isinstance(result, list) and result
    for record in result:
        for name in ("text", "address", "detail"):
            value = getattr(record, name, "")
            assert digits not in re.sub(r"[\s\-()+]", "", value), value
            assert email.split("@")[0] + "@" not in value, value
