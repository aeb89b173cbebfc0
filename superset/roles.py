"""Superset roles of the ЦУР, row-level security per ministry, and the users of the tests; safe to re-run.

Roles (each user also holds Superset's built-in Gamma, the viewer's menus and no data):
- «Аппарат губернатора» and «Аналитик» see every dataset; analysts also have SQL Lab on the whole
  ClickHouse connection (Superset's `sql_lab` role), which reaches only what the BI user of
  ClickHouse may read: the analytics marts and the views meant for BI (infra/clickhouse/users.py).
  Analysts may also subscribe to a dashboard by mail (Alerts & Reports: REPORT_PERMISSIONS); a
  schedule renders as its owner, so it shows what its analyst sees.
- «Аудитор» sees the data-quality datasets and every KPI dataset, and has SQL Lab on exactly those
  tables (datasource access, no database access).
- One role per authority of cur/taxonomy/authorities.csv («Ведомство <code>»): the KPI datasets,
  filtered by row-level security to its own rows. The filters come from the taxonomy: on datasets
  with `ministry_code` (the marts take it from routing.csv, a subcategory row winning over its
  sector's) the authority's code; on the heat map's cells, which have sectors but no owner, the
  sectors routing.csv gives the authority as a whole (an authority that owns only subcategories sees
  no cell). No SQL Lab: Superset applies row-level security to SQL Lab only behind the feature flag
  RLS_IN_SQLLAB, which its own configuration marks "testing" and "may allow RLS bypass", so a
  ministry's SQL Lab would read every ministry's rows (tests/e2e/test_dashboards.py checks the
  refusal).

With --users, one user per role (cur_governor, cur_analyst, cur_auditor, cur_<authority code>),
each with a password generated on first use into an owner-only file under
$CUR_STATE_DIR/secrets/superset-users/ (cur/local_secrets.py), never a default.

Runs in the bi environment with SUPERSET_CONFIG_PATH set, after the assets are imported (the
datasets must exist); infra/services/superset.sh runs it:
    python superset/roles.py [--users]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# This folder, not the installed `superset` package: run as a script, it is first on sys.path.
import dashboards  # noqa: E402

from cur import local_secrets, taxonomy  # noqa: E402
from cur import settings as cur_settings  # noqa: E402

GOVERNOR = "Аппарат губернатора"
ANALYST = "Аналитик"
AUDITOR = "Аудитор"
MINISTRY_PREFIX = "Ведомство "
VIEWER = "Gamma"  # Superset's built-in: menus, dashboards and charts it may see, no data of its own
SQL_LAB = "sql_lab"  # Superset's built-in: the SQL Lab permissions
RLS_PREFIX = "ЦУР: "  # the filters this script owns (and replaces), by name
# Alerts & Reports for analysts (Superset gives them to Alpha and Admin only): the menu, the list
# and log pages, and the API /api/v1/report/ to create, change and delete their own schedules.
REPORT_PERMISSIONS = (
    ("can_read", "ReportSchedule"),
    ("can_write", "ReportSchedule"),
    ("menu_access", "Alerts & Report"),
)


@dataclass(frozen=True)
class Rule:
    """One row-level security filter: its name, the datasets (table names) and the SQL clause."""

    name: str
    role: str
    tables: tuple[str, ...]
    clause: str


def _quote(value: str) -> str:
    if not value.replace("_", "").isalnum():
        raise ValueError(f"{value!r}: only letters, digits and _ may go into a filter clause")
    return f"'{value}'"


def ministry_role(code: str) -> str:
    return f"{MINISTRY_PREFIX}{code}"


def whole_sectors(code: str) -> list[str]:
    """The sectors routing.csv gives `code` as a whole (not only some subcategories)."""
    return sorted({r.sector_code for r in taxonomy.routing() if r.authority_code == code and not r.subcategory_code})


def ministry_rules() -> list[Rule]:
    """The row-level security of every authority's role, from the taxonomy and the datasets."""
    datasets = dashboards.MINISTRY_DATASETS
    owned = tuple(d.table for d in datasets if d.ministry_column)
    by_sector = tuple(d.table for d in datasets if not d.ministry_column)
    rules = []
    for code in taxonomy.authorities():
        role = ministry_role(code)
        rules.append(Rule(f"{RLS_PREFIX}{code}: свои строки", role, owned, f"ministry_code = {_quote(code)}"))
        sectors = whole_sectors(code)
        clause = f"sector IN ({', '.join(_quote(s) for s in sectors)})" if sectors else "1 = 0"
        rules.append(Rule(f"{RLS_PREFIX}{code}: свои сферы", role, by_sector, clause))
    return rules


def role_datasets() -> dict[str, tuple[str, ...]]:
    """Role → the tables of the datasets it may read (analysts: the whole database instead)."""
    d = dashboards
    everything = tuple(x.table for x in d.DATASETS)
    roles = {GOVERNOR: everything, ANALYST: (), AUDITOR: everything}
    for code in taxonomy.authorities():
        roles[ministry_role(code)] = tuple(x.table for x in d.MINISTRY_DATASETS)
    return roles


def test_users() -> dict[str, list[str]]:
    """Username → its roles."""
    users = {
        "cur_governor": [VIEWER, GOVERNOR],
        "cur_analyst": [VIEWER, SQL_LAB, ANALYST],
        "cur_auditor": [VIEWER, SQL_LAB, AUDITOR],
    }
    for code in taxonomy.authorities():
        users[f"cur_{code}"] = [VIEWER, ministry_role(code)]
    return users


def password_file(settings: cur_settings.Settings, username: str) -> Path:
    return settings.state_dir / "secrets" / "superset-users" / f"{username}.password"


def ensure_roles(sm: Any, session: Any) -> None:
    from superset.connectors.sqla.models import SqlaTable
    from superset.models.core import Database

    database_name = "ClickHouse ЦУР"
    database = session.query(Database).filter_by(database_name=database_name).one_or_none()
    if database is None:
        raise SystemExit(f"no database {database_name!r} in Superset: import the assets first")
    tables = {t.table_name: t for t in session.query(SqlaTable).filter_by(database_id=database.id)}
    for role_name, names in role_datasets().items():
        role = sm.find_role(role_name) or sm.add_role(role_name)
        missing = [n for n in names if n not in tables]
        if missing:
            raise SystemExit(f"datasets missing in Superset: {missing}: import the assets first")
        permissions = [sm.add_permission_view_menu("datasource_access", tables[n].perm) for n in names]
        if role_name == ANALYST:
            permissions.append(sm.add_permission_view_menu("database_access", database.perm))
            permissions += [sm.add_permission_view_menu(p, v) for p, v in REPORT_PERMISSIONS]
        role.permissions = permissions
    session.commit()


def ensure_rls(sm: Any, session: Any) -> None:
    """Replaces the filters this script owns with those of ministry_rules()."""
    from superset.connectors.sqla.models import RowLevelSecurityFilter, SqlaTable
    from superset.utils.core import RowLevelSecurityFilterType

    tables = {t.table_name: t for t in session.query(SqlaTable)}
    wanted = {rule.name: rule for rule in ministry_rules()}
    existing = {
        f.name: f
        for f in session.query(RowLevelSecurityFilter).filter(RowLevelSecurityFilter.name.startswith(RLS_PREFIX))
    }
    for name, stale in existing.items():
        if name not in wanted:
            session.delete(stale)
    for name, rule in wanted.items():
        rls = existing.get(name) or RowLevelSecurityFilter(name=name)
        rls.filter_type = RowLevelSecurityFilterType.REGULAR
        rls.description = "Создано superset/roles.py из cur/taxonomy/authorities.csv и routing.csv"
        rls.clause = rule.clause
        rls.group_key = None
        rls.tables = [tables[t] for t in rule.tables]
        rls.roles = [sm.find_role(rule.role)]
        session.add(rls)
    session.commit()


def ensure_users(sm: Any, settings: cur_settings.Settings) -> list[str]:
    from werkzeug.security import check_password_hash

    done = []
    for username, role_names in test_users().items():
        path = password_file(settings, username)
        local_secrets.ensure(path)
        password = path.read_text(encoding="utf-8").strip()
        roles = [sm.find_role(name) for name in role_names]
        if None in roles:
            raise SystemExit(f"{username}: a role of {role_names} does not exist (run `superset init` first)")
        user = sm.find_user(username=username)
        if user is None:
            if not sm.add_user(username, username, "ЦУР", f"{username}@cur.local", roles, password):
                raise SystemExit(f"Superset could not create the user {username}: see the log above")
            done.append(f"{username} created")
            continue
        if set(user.roles) != set(roles):
            user.roles = roles
            sm.update_user(user)
        if not (user.password and check_password_hash(user.password, password)):
            sm.reset_password(user.id, password)
        done.append(f"{username} ok")
    return done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", action="store_true", help="also the users of the tests, one per role")
    args = parser.parse_args(argv)
    settings = cur_settings.load()
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset.extensions import db, security_manager

        ensure_roles(security_manager, db.session)
        ensure_rls(security_manager, db.session)
        print(f"Superset roles: {', '.join(role_datasets())}; row-level security filters: {len(ministry_rules())}")
        if args.users:
            print("Superset users:", ", ".join(ensure_users(security_manager, settings)))


if __name__ == "__main__":
    main()
