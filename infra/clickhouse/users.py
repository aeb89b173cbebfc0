"""Render the platform's ClickHouse users file from the settings: who may connect, with what rights.

- **writer** (`CLICKHOUSE_USER`, default `cur_writer`): the stream workers, Spark jobs, dbt, GX and
  the migrations. Everything on the canonical database and the scratch databases named after it
  (`cur`, `cur_*`: the bulk loader's and the evaluations'), everything on the analytics database,
  reads the system tables and may kill a query (`infra/services/clickhouse.sh stop`). No `file()`,
  `url()` or other sources, no other database, no access management.
- **BI** (`CUR_CLICKHOUSE_BI_USER`, default `cur_bi`): Superset. The `readonly` profile (no INSERT,
  no DDL, no SET) and SELECT on the analytics database only: the marts, and views meant for BI
  (`SQL SECURITY DEFINER`; dbt's staging views are invoker views over `cur.*`, so they stay closed),
  plus the named definer views of the canonical database in BI_VIEWS (the auditors' dashboard).
  No raw payloads (`cur.rejected_events`), no pseudonyms, no `file()`/`url()`/`remote()`.
- **default**: the embedded engine's own session. clickhouse-local logs itself in as `default` from
  127.0.0.1 without a password and offers no way to pass credentials (tried: the engine does not
  start without this user, nor with a password on it), so the user stays, password-less, but with
  no data at all: it may only open the listeners (SYSTEM LISTEN) and read `system.numbers` (the
  idle query), and with `select_from_system_db_requires_grant` (serve.py's config) no other system
  table. `--server` renders the file for clickhouse-server's `users.d/` instead, which removes
  `default` altogether.

Passwords are stored as SHA-256 hashes, never in clear. Usage:
    python -m infra.clickhouse.users OUTPUT                               # the embedded engine's
    python -m infra.clickhouse.users --server --network 10.0.0.0/8 OUTPUT  # clickhouse-server's users.d
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import os
import re
from collections.abc import Sequence
from pathlib import Path

from cur import settings as settings_module

LOOPBACK = ("127.0.0.1", "::1")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The grants of the embedded engine's own session: open the listeners, run the idle query.
ENGINE_GRANTS = ("GRANT SYSTEM LISTEN ON *.*", "GRANT SELECT ON system.numbers")


def _name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{what} {value!r}: only letters, digits and _ (it becomes an XML element and a grant)")
    return value


def _sha256(password: str, variable: str) -> str:
    if not password:
        raise ValueError(f"{variable} is empty: every ClickHouse user of the platform needs a password")
    return hashlib.sha256(password.encode()).hexdigest()


def writer_grants(settings: settings_module.Settings) -> list[str]:
    db = _name(settings.clickhouse_database, "CLICKHOUSE_DATABASE")
    analytics = _name(settings.analytics_database, "CUR_ANALYTICS_DATABASE")
    return [
        f"GRANT ALL ON {db}*.*",
        f"GRANT ALL ON {analytics}.*",
        "GRANT SELECT ON system.*",
        "GRANT CREATE TEMPORARY TABLE ON *.*",
        "GRANT TABLE ENGINE ON *",
        "GRANT KILL QUERY ON *.*",
    ]


# Views of the canonical database meant for BI (definer views without raw payloads or pseudonyms:
# migrations 0009 and 0013): the auditors' dashboard reads them. Only views, never a table.
BI_VIEWS = ("bi_dq_latest", "bi_rejected_summary", "bi_reconciliation_latest", "bi_layer_freshness")


def bi_grants(settings: settings_module.Settings) -> list[str]:
    db = _name(settings.clickhouse_database, "CLICKHOUSE_DATABASE")
    return [f"GRANT SELECT ON {_name(settings.analytics_database, 'CUR_ANALYTICS_DATABASE')}.*"] + [
        f"GRANT SELECT ON {db}.{view}" for view in BI_VIEWS
    ]


def _user(name: str, auth: str, networks: Sequence[str], profile: str, grants: Sequence[str]) -> str:
    hosts = "".join(f"<ip>{network}</ip>" for network in networks)
    queries = "".join(f"\n        <query>{grant}</query>" for grant in grants)
    return (
        f"    <{name}>\n      {auth}\n      <networks>{hosts}</networks>\n"
        f"      <profile>{profile}</profile>\n      <quota>default</quota>\n"
        f"      <grants>{queries}\n      </grants>\n    </{name}>\n"
    )


def render(settings: settings_module.Settings, *, server: bool = False, networks: Sequence[str] = LOOPBACK) -> str:
    """The users file: hashed passwords, the profiles `default` and `cur_bi` (readonly), the grants."""
    networks = [str(ipaddress.ip_network(network, strict=False)) for network in networks]
    writer = _name(settings.clickhouse_user, "CLICKHOUSE_USER")
    bi = _name(settings.clickhouse_bi_user, "CUR_CLICKHOUSE_BI_USER")
    for name, variable in ((writer, "CLICKHOUSE_USER"), (bi, "CUR_CLICKHOUSE_BI_USER")):
        if name == "default":
            raise ValueError(f"{variable}=default: `default` is the engine's own user, with no rights; name another")
    if writer == bi:
        raise ValueError(f"CLICKHOUSE_USER and CUR_CLICKHOUSE_BI_USER are both {writer!r}: they need their own rights")
    writer_hash = _sha256(settings.clickhouse_password, "CLICKHOUSE_PASSWORD")
    bi_hash = _sha256(settings.clickhouse_bi_password, "CUR_CLICKHOUSE_BI_PASSWORD")
    if server:
        default = '    <default remove="remove"/>\n'
    else:
        # 127.0.0.1 only: the engine's session comes from there; the engine listens nowhere else.
        default = _user("default", "<no_password/>", ["127.0.0.1"], "default", ENGINE_GRANTS)
    return (
        "<!-- Rendered by infra/clickhouse/users.py from the settings; do not edit, do not commit. -->\n"
        "<clickhouse>\n"
        "  <profiles>\n"
        "    <default><implicit_select>0</implicit_select></default>\n"
        "    <cur_bi><readonly>1</readonly></cur_bi>\n"
        "  </profiles>\n"
        "  <users>\n"
        f"{default}"
        + _user(
            writer,
            f"<password_sha256_hex>{writer_hash}</password_sha256_hex>",
            networks,
            "default",
            writer_grants(settings),
        )
        + _user(bi, f"<password_sha256_hex>{bi_hash}</password_sha256_hex>", networks, "cur_bi", bi_grants(settings))
        + "  </users>\n"
        "  <quotas><default/></quotas>\n"
        "</clickhouse>\n"
    )


def write(path: Path, text: str) -> None:
    """Owner-only: the hashes are not the passwords, but a short one could be guessed from them."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the users file to write (mode 0600)")
    parser.add_argument("--server", action="store_true", help="for clickhouse-server's users.d/: removes `default`")
    parser.add_argument(
        "--network",
        action="append",
        help="address or subnet the writer and BI users may connect from (repeatable; default: loopback)",
    )
    args = parser.parse_args(argv)
    try:
        text = render(settings_module.load(), server=args.server, networks=args.network or LOOPBACK)
    except ValueError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    write(args.output, text)


if __name__ == "__main__":
    main()
