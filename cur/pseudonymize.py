"""Keyed pseudonyms for the personal data of applicants, applied before anything reaches ClickHouse.

Why a keyed hash: there are only ~10^10 Russian phone numbers, so a plain SHA-256 of a phone is reversed
by enumeration in minutes. HMAC-SHA256 with a secret key (`CUR_PSEUDONYMIZATION_KEY`, read by
`cur.settings`) cannot be reversed or recomputed without the key, yet stays deterministic, so analysts can
still count repeat applicants and join them across feeds. The key is therefore a secret: whoever holds it
can test guesses. Changing it changes every pseudonym and breaks linkage with rows written before.

A pseudonym is `"<kind>:" + 32 hex chars`: the first 128 bits of HMAC-SHA256(key, kind + 0x1F + canonical
value). The kind is part of the MAC input, so one string as a name and as an e-mail gives unrelated
pseudonyms; 128 bits make an accidental collision need ~2^64 people.

Canonical forms, so one person gets one pseudonym whatever the feed's formatting:
- phone: digits only. Russian numbers `+7 XXX`, `8 XXX`, `7 XXX` (11 digits) and the 10-digit national form
  become `+7XXXXXXXXXX`; other international numbers written with `+`, `00` or `810` become `+` and their
  8-15 digits (E.164). A `+` number starting with 7 must have 11 digits.
- e-mail: stripped and lowercased; must be one `local@domain.tld` without spaces.
- name: NFKC, casefolded, ё → е, whitespace collapsed; must contain a letter. Word order is kept:
  "Иванов Пётр" and "Пётр Иванов" differ, because feeds do not say which word is the surname.

Empty input (None or blank) gives None. Invalid input raises `InvalidPersonalData`, a `ValueError` whose
message is a fixed reason that never contains the value, so a normalizer can reject the record with
`str(exc)` as the reason. It also carries `.pseudonym`, `"<kind>-invalid:" + hex` of the stripped input,
for a normalizer that prefers to keep the record with the value marked as unusable.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cur.settings import Settings

DIGEST_HEX_CHARS = 32
KINDS: tuple[str, ...] = ("phone", "email", "name")
PSEUDONYM_RE = re.compile(rf"^(?:{'|'.join(KINDS)})(?:-invalid)?:[0-9a-f]{{{DIGEST_HEX_CHARS}}}$")
MIN_KEY_BYTES = 16

# The only texts an InvalidPersonalData message can hold, so no value can leak into logs or dead letters.
PHONE_NO_DIGITS = "phone has no digits"
PHONE_BAD_RUSSIAN = "phone starting with +7 must have 11 digits"
PHONE_BAD_INTERNATIONAL = "international phone must have 8 to 15 digits after the country prefix"
PHONE_UNRECOGNIZED = "phone is neither a Russian number (10 digits, or 11 starting with 7 or 8) nor +international"
EMAIL_MALFORMED = "e-mail is not a single address of the form local@domain.tld"
NAME_NO_LETTERS = "name contains no letters"
REASONS: frozenset[str] = frozenset(
    {PHONE_NO_DIGITS, PHONE_BAD_RUSSIAN, PHONE_BAD_INTERNATIONAL, PHONE_UNRECOGNIZED, EMAIL_MALFORMED, NAME_NO_LETTERS}
)

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")


class InvalidPersonalData(ValueError):
    """The value cannot be canonicalized; the message is a fixed reason, never the value itself."""

    def __init__(self, kind: str, reason: str, pseudonym: str) -> None:
        super().__init__(f"invalid {kind}: {reason}")
        self.kind = kind
        self.reason = reason
        self.pseudonym = pseudonym


class _Unusable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _international(digits: str) -> str:
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise _Unusable(PHONE_BAD_INTERNATIONAL)
    if digits.startswith("7") and len(digits) != 11:
        raise _Unusable(PHONE_BAD_RUSSIAN)
    return "+" + digits


_NOT_DIGITS = re.compile(r"[^0-9]+")


def _canonical_phone(text: str) -> str:
    digits = _NOT_DIGITS.sub("", text)
    if not digits:
        raise _Unusable(PHONE_NO_DIGITS)
    if text.startswith("+"):
        return _international(digits)
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10 and digits[0] != "0":
        return "+7" + digits
    if len(digits) > 11 and digits.startswith("810"):  # Russian international dialling prefix
        return _international(digits[3:])
    if len(digits) > 11 and digits.startswith("00"):
        return _international(digits[2:])
    raise _Unusable(PHONE_UNRECOGNIZED)


def _canonical_email(text: str) -> str:
    lowered = text.lower()
    if not _EMAIL_RE.match(lowered):
        raise _Unusable(EMAIL_MALFORMED)
    return lowered


def _canonical_name(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    if not any(ch.isalpha() for ch in folded):
        raise _Unusable(NAME_NO_LETTERS)
    return " ".join(folded.split())


class Pseudonymizer:
    """Turns personal data into stable keyed pseudonyms; holds the key, so never log or pickle it."""

    __slots__ = ("_key",)

    def __init__(self, key: str | bytes) -> None:
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(raw) < MIN_KEY_BYTES:
            raise ValueError(f"pseudonymization key must have at least {MIN_KEY_BYTES} bytes")
        self._key = raw

    @classmethod
    def from_settings(cls, settings: Settings) -> Pseudonymizer:
        return cls(settings.pseudonymization_key)

    def __repr__(self) -> str:
        return "Pseudonymizer(key=<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Pseudonymizer holds a secret key and is not picklable")

    def _digest(self, kind: str, canonical: str) -> str:
        message = kind.encode("ascii") + b"\x1f" + canonical.encode("utf-8")
        return hmac.digest(self._key, message, "sha256").hex()[:DIGEST_HEX_CHARS]  # C fast path of HMAC

    def _pseudonym(self, kind: str, value: str | None, canonical: Callable[[str], str]) -> str | None:
        if value is None:
            return None
        text = value.strip()
        if not text:
            return None
        try:
            return f"{kind}:{self._digest(kind, canonical(text))}"
        except _Unusable as exc:
            marked = f"{kind}-invalid"
            pseudonym = f"{marked}:{self._digest(marked, ' '.join(text.casefold().split()))}"
            raise InvalidPersonalData(kind, exc.reason, pseudonym) from None

    def phone(self, value: str | int | None) -> str | None:
        """`phone:<hex>` of the canonical `+<digits>` form; an int is read as its decimal digits."""
        if isinstance(value, bool):
            raise TypeError("phone must be a string or an integer, got bool")
        return self._pseudonym("phone", str(value) if isinstance(value, int) else value, _canonical_phone)

    def email(self, value: str | None) -> str | None:
        """`email:<hex>` of the stripped, lowercased address."""
        return self._pseudonym("email", value, _canonical_email)

    def name(self, value: str | None) -> str | None:
        """`name:<hex>` of the casefolded name with ё as е and single spaces."""
        return self._pseudonym("name", value, _canonical_name)
