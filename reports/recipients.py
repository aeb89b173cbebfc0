"""Who receives the weekly report: the TOML of the settings (reports/recipients.toml by default).

A recipient is a ministry or agency (its appeals are those the marts route to it, `ministry_code`)
or a municipality (`municipality_code`). Codes are checked against cur/taxonomy, so a typo in the
configuration stops the run with its reason instead of leaving a ministry without its report.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cur import taxonomy
from cur.settings import Settings

# The recipient kinds and the TOML table that lists each, defined once.
KIND_TABLES: dict[str, str] = {"ministry": "ministries", "municipality": "municipalities"}
_ADDRESS = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+$")


@dataclass(frozen=True)
class Recipient:
    kind: str  # a key of KIND_TABLES
    code: str  # authority_code or municipality_code
    addresses: tuple[str, ...]

    @property
    def key(self) -> str:
        """The file name stem of its reports: `ministry-minzdrav`, `municipality-29701000`."""
        return f"{self.kind}-{self.code}"


class RecipientsError(ValueError):
    """The recipients file is not usable; the message says where and why."""


def load_recipients(path: Path) -> list[Recipient]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RecipientsError(f"{path}: {error}") from error
    unknown_tables = set(data) - set(KIND_TABLES.values())
    if unknown_tables:
        raise RecipientsError(f"{path}: unknown tables {sorted(unknown_tables)}; expected {list(KIND_TABLES.values())}")
    known = {"ministry": taxonomy.authorities(), "municipality": taxonomy.municipalities()}
    result: list[Recipient] = []
    for kind, table in KIND_TABLES.items():
        for code, addresses in data.get(table, {}).items():
            if code not in known[kind]:
                raise RecipientsError(f"{path}: [{table}] {code!r} is not a {kind} code of cur/taxonomy")
            if isinstance(addresses, str):
                addresses = [addresses]
            if not addresses or not all(isinstance(a, str) and _ADDRESS.match(a) for a in addresses):
                raise RecipientsError(
                    f"{path}: [{table}] {code}: expected a list of e-mail addresses, got {addresses!r}"
                )
            result.append(Recipient(kind, code, tuple(addresses)))
    return result


def recipients(settings: Settings) -> list[Recipient]:
    return load_recipients(settings.reports_recipients_file)


def find(settings: Settings, key: str) -> Recipient:
    """A recipient by its key (`ministry-minzdrav`) or bare code (`minzdrav`, `29701000`)."""
    for recipient in recipients(settings):
        if key in (recipient.key, recipient.code):
            return recipient
    raise RecipientsError(f"no recipient {key!r} in {settings.reports_recipients_file}")
