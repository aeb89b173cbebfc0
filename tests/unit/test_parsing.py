"""The fast paths of record parsing and redaction give exactly what the slow, standard paths give."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.feeds import common
from streams.parsing import _fast_strptime
from streams.records import decode_json

FEED_FORMATS = ("%d.%m.%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d.%m.%Y")

# Text near the formats: digits, their separators, spaces, and a few characters strptime treats
# specially (Unicode digits, a non-breaking space, letters).
near_timestamps = st.text(alphabet="0123456789.-: \u00a0\u0663T+Z", max_size=22)


def _strptime(value: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(value, fmt)
    except ValueError:
        return None


@pytest.mark.parametrize("fmt", FEED_FORMATS)
@settings(max_examples=400)
@given(value=near_timestamps)
def test_fast_strptime_parses_only_what_strptime_parses_and_to_the_same_time(fmt: str, value: str) -> None:
    fast = _fast_strptime(value, fmt)
    if fast is not None:
        assert fast == _strptime(value, fmt)


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("03.11.2026 10:00:05", "%d.%m.%Y %H:%M:%S"),
        ("3.1.2026 1:2:3", "%d.%m.%Y %H:%M:%S"),
        ("2026-11-03 23:59:59", "%Y-%m-%d %H:%M:%S"),
        ("2026-11-03", "%Y-%m-%d"),
    ],
)
def test_fast_strptime_takes_the_feeds_timestamps(value: str, fmt: str) -> None:
    assert _fast_strptime(value, fmt) == datetime.strptime(value, fmt)


@pytest.mark.parametrize("fmt", ["%d %b %Y", "%H:%M", "%d.%m.%Y %H:%S", "%Y-%m-%d %I:%M %p"])
def test_other_formats_are_left_to_strptime(fmt: str) -> None:
    assert _fast_strptime("03.11.2026 10:00", fmt) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300)
@given(document=st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_decode_json_reads_what_json_reads(document: dict) -> None:
    # json.dumps writes NaN, huge integers and lone surrogates, which orjson refuses: json's reading wins.
    payload = json.dumps(document).encode()
    assert json.dumps(decode_json(payload), sort_keys=True) == json.dumps(json.loads(payload), sort_keys=True)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"id": 18446744073709551616}',  # 2**64
        b'{"id": -9223372036854775809}',  # below -2**63
        b'{"lat": NaN, "lon": Infinity}',
        b'{"text": "\\ud800"}',  # a lone surrogate
        b'{"id": 1.5e400}',
    ],
)
def test_decode_json_reads_what_orjson_refuses_or_reads_otherwise_as_json_does(payload: bytes) -> None:
    assert json.dumps(decode_json(payload)) == json.dumps(json.loads(payload))


@pytest.mark.parametrize("payload", [b"18446744073709551616", b"-9223372036854775809", b"[1e400]"])
def test_decode_json_refuses_a_non_object_with_the_type_json_reads(payload: bytes) -> None:
    with pytest.raises(ValueError, match=f"got {type(json.loads(payload)).__name__}"):
        decode_json(payload)


def _redact_without_shortcuts(value: str, names: list[str]) -> str:
    """`redact` as it was before its fast paths: every pattern on every text."""
    if not value:
        return value
    result = common._EMAIL.sub(common.EMAIL_MARK, value)
    result = common._DIGIT_RUN.sub(common._digits_mark, result)
    stems = common._name_stems(n for n in names if n)
    return common._redact_names(result, stems) if stems else result


@settings(max_examples=500)
@given(
    value=st.text(alphabet="0123456789 +()-@.abcАнаИвановаЁёΣς\u0663", max_size=60),
    names=st.lists(st.text(alphabet="АнаИвановаЁё Σς", max_size=20), max_size=2),
)
def test_redact_fast_paths_change_nothing(value: str, names: list[str]) -> None:
    assert common.redact(value, names) == _redact_without_shortcuts(value, names)
