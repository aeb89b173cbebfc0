"""What the four normalizers share: record types, municipalities, SLA at ingest, personal data, status events.

Personal data policy (every feed):

- The applicant is identified only by `applicant_pseudonym`, a keyed hash from `cur.pseudonymize`. Which datum
  is hashed, in order of precedence: **phone, then e-mail, then name** (then the ESIA id, see below). Phone
  first because it is the one datum every channel has (112 knows only the caller's phone), so the same person
  links across feeds; e-mail next (stable, but only POS and ГЖИ have it); the name last, because namesakes
  make it the weakest link.
- The ESIA id (POS) would come last, but `cur.pseudonymize` has no kind for it yet, so it is not used: an
  applicant known only by an ESIA id gets "" like an anonymous one, and the id never leaves the normalizer.
- Invalid personal data (a phone with too few digits, an e-mail without a domain) does **not** reject the
  record: the problem the citizen reported is real whatever their contact details look like, and a lost
  112 card or appeal costs more than an unlinkable one. The first *valid* datum in the precedence order
  wins; when none is valid, the record keeps the first invalid one's marked pseudonym (`phone-invalid:...`),
  which links only to the very same unusable string, so analysts can tell "anonymous" from "gave unusable
  contact data" and never mistake it for a person.
  A datum of the wrong JSON type (an object where a phone should be) is a broken export and is rejected,
  with a reason that does not quote it.
- Free text (`text`, `address`, `detail`) is redacted before it leaves the normalizer: citizens and
  dispatchers write phone numbers and e-mails into it ("перезвоните по номеру ..."), and applicants sign
  with their name. Any run of 10 or more digits (with the usual separators) and anything around an "@" are
  replaced by a marker everywhere; in the appeal's text also the applicant's own name (its words of 4+
  letters, by stem, with up to three letters of case ending). Not in addresses: "ул. Кирова" must survive an
  applicant named Кирова. Over-redaction is accepted: a lost digit run costs less than a leaked phone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from cur import sla, taxonomy
from cur.pseudonymize import InvalidPersonalData, Pseudonymizer
from cur.schema import StatusEvent, appeal_id_for
from streams.parsing import BadValue, UnknownReference, code, show
from streams.records import Context

PHONE_MARK = "[номер скрыт]"
EMAIL_MARK = "[e-mail скрыт]"
NAME_MARK = "[ФИО скрыто]"
MIN_NAME_WORD = 4  # shorter words of a name ("Лев", "Ян") are too common to cut out of text on their own

# A digit run with phone separators; redacted when it holds 10+ digits (a Russian number has 10 after +7/8).
_DIGIT_RUN = re.compile(r"\+?\d(?:[\d\s()\-]*\d)?")  # no "." : dates (20.11.2026) must survive
_DIGIT = re.compile(r"\d")
# Anything around an "@", without the brackets, quotes and sentence punctuation around it.
_EMAIL = re.compile(r"""[^\s@(\[«"'<]+@[^\s@]*[^\s@.,;:!?)\]»"'>]""")


def record_type(raw: dict[str, Any], feed: str, known: tuple[str, ...], default: str) -> str:
    """The record's `type` ("status", "heartbeat", ...); records of the original shape have none."""
    value = code(raw, "type", required=False)
    if value is None:
        return default
    kind = value.lower()
    if kind not in known:
        raise UnknownReference(f"unknown {feed} record type {show(value)} (known: {', '.join(known)})")
    return kind


def municipality_by_oktmo(raw: dict[str, Any], field: str) -> str:
    oktmo = code(raw, field) or ""
    if oktmo not in taxonomy.municipalities():
        raise UnknownReference(f"OKTMO {oktmo!r} is not a municipality of the region")
    return oktmo


def municipality_by_name(name: str) -> str:
    found = taxonomy.municipality_by_name().get(" ".join(name.split()).casefold())
    if found is None:
        raise UnknownReference(f"municipality {name!r} is not in the region")
    return found


def deadlines(
    created_at: datetime, priority: sla.Priority, subcategory: taxonomy.Subcategory, *, official: bool, ctx: Context
) -> sla.Deadlines:
    """Both SLA deadlines; `sla.OutsideCalendar` propagates, so such a record is rejected with that reason."""
    return sla.deadlines_for(created_at, priority, subcategory.sla_class, official=official, region_tz=ctx.region_tz)


def _datum(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadValue(f"applicant {what} must be text, got {type(value).__name__}")  # never quote personal data
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadValue(f"applicant {what} is not valid Unicode text") from None
    return text


def applicant_pseudonym(pseudonymizer: Pseudonymizer, *, phone: Any = None, email: Any = None, name: Any = None) -> str:
    """The applicant's pseudonym by the precedence and invalid-data rules of the module doc; "" if anonymous."""
    attempts: list[tuple[Callable[[str | None], str | None], str | None]] = [
        (pseudonymizer.phone, _datum(phone, "phone")),
        (pseudonymizer.email, _datum(email, "e-mail")),
        (pseudonymizer.name, _datum(name, "name")),
    ]
    first_invalid = ""
    for make, value in attempts:
        try:
            pseudonym = make(value)
        except InvalidPersonalData as exc:
            first_invalid = first_invalid or exc.pseudonym
            continue
        if pseudonym:
            return pseudonym
    return first_invalid


_WORD = re.compile(r"\w+")
NAME_ENDING_MAX = 3  # letters of a case ending after the stem: "Иванова" -> "Ивановой"


def _name_stems(names: Iterable[str]) -> tuple[str, ...]:
    """Each word of the names by its stem (trailing vowels dropped), casefolded, ё as е."""
    stems: set[str] = set()
    for name in names:
        for word in _WORD.findall(name.casefold().replace("ё", "е")):
            if len(word) >= MIN_NAME_WORD:
                stem = word.rstrip("аеиоуыэюяй")
                stems.add(stem if len(stem) >= MIN_NAME_WORD else word)
    return tuple(stems)


def _redact_names(value: str, stems: tuple[str, ...]) -> str:
    """Every word that is a stem plus up to three letters of case ending: "Иванова Алёна" also hides
    "Ивановой Алёне". One precompiled word pattern for every record: a regex per applicant would be
    compiled anew for each appeal (measured: most of the normalization time of a POS appeal)."""

    def mark(match: re.Match[str]) -> str:
        word = match.group(0).casefold().replace("ё", "е")
        for stem in stems:
            if word.startswith(stem) and len(word) - len(stem) <= NAME_ENDING_MAX:
                return NAME_MARK
        return match.group(0)

    return _WORD.sub(mark, value)


def _digits_mark(match: re.Match[str]) -> str:
    found = match.group(0)
    return PHONE_MARK if sum(ch.isdigit() for ch in found) >= 10 else found


def redact(value: str, names: Iterable[str | None] = ()) -> str:
    """`value` without phone-like digit runs, e-mail addresses and the given names (see the module doc).

    Each pattern runs only where it can match (an "@", ten digits, a name's stem somewhere in the
    text): most texts have none of them, and the substitutions were a fifth of a record's time."""
    if not value:
        return value
    result = _EMAIL.sub(EMAIL_MARK, value) if "@" in value else value
    if len(_DIGIT.findall(result)) >= 10:
        result = _DIGIT_RUN.sub(_digits_mark, result)
    stems = _name_stems(n for n in names if n)
    if stems:
        folded = result.casefold().replace("ё", "е")
        if any(stem in folded for stem in stems):
            result = _redact_names(result, stems)
    return result


def executor_name(name: str) -> str:
    """An organisation's name as one group of the KPIs per executor: inner runs of blanks made one, so
    "УК  «Дом»" and "УК «Дом»" are one executor."""
    return " ".join(name.split())


def status_event(
    feed: str,
    source_id: str,
    status: str,
    at: datetime,
    ctx: Context,
    *,
    is_response: bool = False,
    rating: int | None = None,
    detail: str = "",
    executor: str = "",
) -> StatusEvent:
    """A status event carried by a record of its own (not by the appeal's record). The executor is an
    organisation's name, redacted like free text all the same (a sole trader's phone in it)."""
    return StatusEvent(
        appeal_id=appeal_id_for(feed, source_id),
        source=feed,
        source_id=source_id,
        status=status,
        event_at=at,
        is_response=is_response,
        rating=rating,
        detail=redact(detail),
        ingested_at=ctx.ingested_at,
        kafka_topic=ctx.meta.topic,
        kafka_partition=ctx.meta.partition,
        kafka_offset=ctx.meta.offset,
        executor=redact(executor),
    )
