"""Superset's access set-up: the admin's password, and what an anonymous visitor may do; safe to re-run.

- The `admin` user exists with the password of the settings: CUR_SUPERSET_ADMIN_PASSWORD, or the
  one generated on first use into $CUR_SUPERSET_ADMIN_PASSWORD_FILE (cur/local_secrets.py), never
  a default. An admin with another password (`admin`, from before) gets this one.
- The Public role (anonymous visitors) holds one permission only, the login page's translations
  (`can_language_pack` on `Superset`): the front end fetches `/superset/language_pack/ru/` before
  it renders the login form, and without it the form falls back to English. Nothing else: no
  dashboard, chart, API or SQL Lab.

Runs in the bi environment with SUPERSET_CONFIG_PATH set, after `superset init` (which creates the
permissions); infra/services/superset.sh runs it when the metadata database says something differs:
    python superset/access.py
The password comes from the settings, not from the command line, where `ps` would show it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from cur import settings as cur_settings  # noqa: E402

ADMIN = "admin"
# (permission, view menu) pairs of the Public role: exactly these.
PUBLIC_PERMISSIONS = (("can_language_pack", "Superset"),)


def ensure_admin(security_manager: Any, password: str) -> str:
    """Creates the admin or sets its password; returns what it did."""
    if not password:
        raise SystemExit(
            "the Superset admin password is empty: set CUR_SUPERSET_ADMIN_PASSWORD or let infra/ generate it"
        )
    user = security_manager.find_user(username=ADMIN)
    if user is None:
        role = security_manager.find_role(security_manager.auth_role_admin)
        if not security_manager.add_user(ADMIN, "Администратор", "ЦУР", "admin@cur.local", role, password):
            raise SystemExit(f"Superset could not create the user {ADMIN}: see the log above")
        return "created"
    from werkzeug.security import check_password_hash

    if user.password and check_password_hash(user.password, password):
        return "unchanged"
    security_manager.reset_password(user.id, password)
    return "password set"


def ensure_public_role(security_manager: Any) -> None:
    """The Public role holds PUBLIC_PERMISSIONS and nothing else."""
    role = security_manager.find_role(security_manager.auth_role_public) or security_manager.add_role(
        security_manager.auth_role_public
    )
    wanted = []
    for permission, view_menu in PUBLIC_PERMISSIONS:
        pvm = security_manager.find_permission_view_menu(permission, view_menu)
        if pvm is None:
            raise SystemExit(f"Superset has no permission {permission} on {view_menu}: run `superset init` first")
        wanted.append(pvm)
    role.permissions = wanted
    security_manager.session.commit()


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    password = cur_settings.load().superset_admin_password
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset.extensions import security_manager

        print(f"Superset user {ADMIN}: {ensure_admin(security_manager, password)}")
        ensure_public_role(security_manager)
        print(f"Superset role Public: {', '.join(f'{p} on {v}' for p, v in PUBLIC_PERMISSIONS)}")


if __name__ == "__main__":
    main()
