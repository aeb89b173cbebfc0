"""Pseudonyms: one per person across formats, unrelated across keys and kinds, never the clear value."""

from __future__ import annotations

import hashlib
import hmac
import pickle
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cur import settings as cur_settings
from cur.pseudonymize import PSEUDONYM_RE, REASONS, InvalidPersonalData, Pseudonymizer

KEY = "test-key-0123456789abcdef"
P = Pseudonymizer(KEY)
VALID = re.compile(r"^(phone|email|name):[0-9a-f]{32}$")
INVALID = re.compile(r"^(phone|email|name)-invalid:[0-9a-f]{32}$")


def hex_of(pseudonym: str | None) -> str:
    assert pseudonym is not None
    return pseudonym.split(":", 1)[1]


# --- phones ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "+7 (999) 123-45-67",
        "+79991234567",
        "89991234567",
        "8 999 123 45 67",
        "8-999-123-45-67",
        "79991234567",
        "9991234567",
        " (999) 123 4567 ",
        79991234567,
        89991234567,
        "8 10 7 999 123 45 67",
    ],
)
def test_one_mobile_number_in_every_format(value: str | int) -> None:
    assert P.phone(value) == P.phone("+7 999 123-45-67")


def test_landline_with_area_code() -> None:
    assert P.phone("8 (4842) 12-34-56") == P.phone("+7 4842 123456") == P.phone("4842123456")


def test_international_numbers() -> None:
    belarus = P.phone("+375 29 123-45-67")
    assert belarus == P.phone("00375291234567") == P.phone("810 375 29 123 45 67")
    assert belarus != P.phone("+7 529 123 45 67")


def test_known_answer_pins_the_derivation() -> None:
    """A changed derivation would silently break linkage with every pseudonym already stored."""
    expected = hmac.new(KEY.encode(), b"phone\x1f+79991234567", hashlib.sha256).hexdigest()[:32]
    assert P.phone("8 999 123 45 67") == f"phone:{expected}"
    expected = hmac.new(KEY.encode(), b"name\x1f\xd0\xbf\xd0\xb5\xd1\x82\xd1\x80", hashlib.sha256).hexdigest()[:32]
    assert P.name("Пётр") == f"name:{expected}"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("12345", "neither a Russian number"),
        ("123456789012", "neither a Russian number"),
        ("0991234567", "neither a Russian number"),
        ("не указан", "no digits"),
        ("+7 999 123 45 6", "+7 must have 11 digits"),
        ("+7 (999) 123-45-67 доб. 12", "+7 must have 11 digits"),
        ("+1 234", "8 to 15 digits"),
        ("+0123456789", "8 to 15 digits"),
    ],
)
def test_invalid_phones_raise_a_reason_without_the_value(value: str, reason: str) -> None:
    with pytest.raises(InvalidPersonalData, match=re.escape(reason)) as caught:
        P.phone(value)
    exc = caught.value
    assert isinstance(exc, ValueError)
    assert exc.kind == "phone" and exc.reason in REASONS
    assert value not in str(exc) and value.strip("+ ") not in str(exc)
    assert INVALID.match(exc.pseudonym)
    with pytest.raises(InvalidPersonalData) as again:
        P.phone(f"  {value} ")
    assert again.value.pseudonym == exc.pseudonym  # repeats of the same bad value still link


# --- e-mails and names ----------------------------------------------------------------------------------


def test_email_is_stripped_and_lowercased() -> None:
    assert P.email("  Ivan.Petrov@Mail.RU ") == P.email("ivan.petrov@mail.ru")
    assert P.email("ivan.petrov@mail.ru") != P.email("ivanpetrov@mail.ru")  # dots are not dropped
    assert P.email("Иван@Почта.РФ") == P.email("иван@почта.рф")


@pytest.mark.parametrize("value", ["ivan", "ivan@", "@mail.ru", "a@b@c.ru", "ivan petrov@mail.ru", "ivan@localhost"])
def test_malformed_emails_raise(value: str) -> None:
    with pytest.raises(InvalidPersonalData, match="not a single address") as caught:
        P.email(value)
    assert value not in str(caught.value)
    assert caught.value.pseudonym.startswith("email-invalid:")


@pytest.mark.parametrize(
    "value",
    ["петр иванов", "Пётр Иванов", " ПЁТР\tИВАНОВ ", "Пе\u0308тр   Иванов", "Пётр\u2003\u00a0Иванов"],
)
def test_one_name_in_every_spelling(value: str) -> None:
    assert P.name(value) == P.name("Петр Иванов")


def test_word_order_matters_for_names() -> None:
    assert P.name("Пётр Иванов") != P.name("Иванов Пётр")


@pytest.mark.parametrize("value", ["123", "—", "..."])
def test_names_without_letters_raise(value: str) -> None:
    with pytest.raises(InvalidPersonalData, match="no letters"):
        P.name(value)


# --- general --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["phone", "email", "name"])
@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_empty_input_gives_none(method: str, value: str | None) -> None:
    assert getattr(P, method)(value) is None


def test_kinds_are_separated() -> None:
    value = "ivan@mail.ru"
    assert hex_of(P.email(value)) != hex_of(P.name(value))
    assert P.email(value).startswith("email:")  # type: ignore[union-attr]
    assert P.name(value).startswith("name:")  # type: ignore[union-attr]


def test_different_keys_give_different_pseudonyms() -> None:
    other = Pseudonymizer("another-key-0123456789")
    assert other.phone("89991234567") != P.phone("89991234567")
    assert other.email("ivan@mail.ru") != P.email("ivan@mail.ru")
    assert other.name("Пётр") != P.name("Пётр")


def test_bytes_and_str_keys_agree() -> None:
    assert Pseudonymizer(KEY.encode()).phone("89991234567") == P.phone("89991234567")


@pytest.mark.parametrize("key", ["", "short", b"0123456789abcde"])
def test_short_keys_are_refused(key: str | bytes) -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymizer(key)


def test_from_settings_reads_the_environment_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUR_PSEUDONYMIZATION_KEY", KEY)
    assert Pseudonymizer.from_settings(cur_settings.load()).phone("89991234567") == P.phone("89991234567")
    monkeypatch.setenv("CUR_PSEUDONYMIZATION_KEY", "a-different-production-key")
    assert Pseudonymizer.from_settings(cur_settings.load()).phone("89991234567") != P.phone("89991234567")


def test_the_key_does_not_leak() -> None:
    assert KEY not in repr(P) and KEY not in str(P)
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(P)


def test_bool_is_not_a_phone() -> None:
    with pytest.raises(TypeError):
        P.phone(True)  # type: ignore[arg-type]


def test_the_exported_pattern_accepts_exactly_our_pseudonyms() -> None:
    assert PSEUDONYM_RE.match(P.phone("89991234567") or "")
    assert PSEUDONYM_RE.match("phone-invalid:" + "0" * 32)
    assert not PSEUDONYM_RE.match("phone:" + "0" * 31)
    assert not PSEUDONYM_RE.match("+79991234567")


# --- properties -----------------------------------------------------------------------------------------

national = st.integers(min_value=1_000_000_000, max_value=9_999_999_999).map(str)
separators = st.sampled_from(["", " ", "-", " - ", "\u00a0"])


@st.composite
def phone_spellings(draw: st.DrawFn, number: str) -> str:
    prefix = draw(st.sampled_from(["+7", "8", "7", "", "+7 ", "8 ", "8 10 7"]))
    sep = draw(separators)
    code, rest = number[:3], number[3:]
    code = draw(st.sampled_from([code, f"({code})"]))
    groups = [rest[:3], rest[3:5], rest[5:]]
    return f"{prefix}{sep}{code}{sep}{sep.join(groups)}"


@settings(max_examples=300, deadline=None)
@given(data=st.data(), number=national)
def test_every_spelling_of_a_number_links(data: st.DataObject, number: str) -> None:
    spelled = data.draw(phone_spellings(number))
    pseudonym = P.phone(spelled)
    assert pseudonym == P.phone("+7" + number)
    assert VALID.match(pseudonym or "")
    assert number not in (pseudonym or "")


cyrillic_word = st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюя", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(words=st.lists(cyrillic_word, min_size=1, max_size=3), data=st.data())
def test_every_spelling_of_a_name_links(words: list[str], data: st.DataObject) -> None:
    canonical = " ".join(words).replace("ё", "е")
    variant = ""
    for word in words:
        word = "".join(
            data.draw(st.sampled_from([ch, ch.upper()])) if ch not in "её" else data.draw(st.sampled_from("еёЕЁ"))
            for ch in word
        )
        variant += data.draw(st.sampled_from([" ", "  ", "\t", " \n "])) + word
    pseudonym = P.name(variant + data.draw(st.sampled_from(["", " ", "\n"])))
    assert pseudonym == P.name(canonical)
    assert VALID.match(pseudonym or "")
    assert not any(word in (pseudonym or "") for word in words)


@settings(max_examples=300, deadline=None)
@given(address=st.emails(), data=st.data())
def test_every_casing_of_an_email_links(address: str, data: st.DataObject) -> None:
    variant = "".join(data.draw(st.sampled_from([ch.lower(), ch.upper()])) for ch in address)
    pseudonym = P.email(f" {variant}\t")
    assert pseudonym == P.email(address.lower())
    assert VALID.match(pseudonym or "")
    assert address not in (pseudonym or "") and address.lower() not in (pseudonym or "")


@settings(max_examples=500, deadline=None)
@given(value=st.text(max_size=40), method=st.sampled_from(["phone", "email", "name"]))
def test_any_input_gives_a_pseudonym_none_or_a_fixed_reason(value: str, method: str) -> None:
    try:
        result = getattr(P, method)(value)
    except InvalidPersonalData as exc:
        assert exc.reason in REASONS and str(exc) == f"invalid {method}: {exc.reason}"
        assert INVALID.match(exc.pseudonym) and exc.pseudonym.startswith(f"{method}-invalid:")
    else:
        if value.strip():
            assert VALID.match(result) and result.startswith(f"{method}:")
        else:
            assert result is None


@settings(max_examples=100, deadline=None)
@given(key_a=st.binary(min_size=16, max_size=64), key_b=st.binary(min_size=16, max_size=64), number=national)
def test_distinct_keys_never_collide(key_a: bytes, key_b: bytes, number: str) -> None:
    assume(key_a != key_b)
    assert Pseudonymizer(key_a).phone(number) != Pseudonymizer(key_b).phone(number)
