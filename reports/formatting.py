"""How figures read in the Russian report: decimal comma, non-breaking thousands, «—» for no value.

The tests format the marts' figures with these same functions and look for them in the PDF's text,
so what a reader sees and what the test checks cannot drift apart.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal

LOCALE = "ru_RU"
NBSP = "\u00a0"
DASH = "—"


def count(value: float | None) -> str:
    return DASH if value is None else format_decimal(round(value), "#,##0", locale=LOCALE)


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return DASH
    return format_decimal(value, "#,##0" + ("." + "0" * digits if digits else ""), locale=LOCALE)


def share(value: float | None) -> str:
    return DASH if value is None else f"{number(value * 100)}{NBSP}%"


def signed(value: float | None, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return DASH
    text = number(abs(value), digits) if digits else count(abs(value))
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return f"{sign}{text}{NBSP + unit if unit else ''}"


def change(kind: str, current: float | None, previous: float | None) -> str:
    """Week-on-week change: points for shares, the difference and its percentage for counts."""
    if current is None or previous is None:
        return DASH
    delta = current - previous
    if kind == "share":
        return signed(delta * 100, 1, "п.п.")
    if kind == "count":
        relative = f" ({signed(delta / previous * 100, 1, '%')})" if previous else ""
        return signed(delta, 0) + relative
    return signed(delta, 1)


def value(kind: str, figure: float | None) -> str:
    return {"count": count, "share": share}.get(kind, number)(figure)


def day(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def long_day(d: date) -> str:
    return format_date(d, "d MMMM y 'г.'", locale=LOCALE)


def moment(at: datetime | None, tz: ZoneInfo) -> str:
    return DASH if at is None else at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
