"""Generate the local default passwords that are still missing: owner-only files under the state dir.

A development or CI stack needs passwords for the ClickHouse writer and BI users, for Superset's
admin and for the Redis broker, but none may live in the repository. Each is generated once, on the first use of a state
directory (infra/lib.sh runs this before reading the settings), and kept across restarts; the
settings read it from its file whenever its variable (CLICKHOUSE_PASSWORD,
CUR_CLICKHOUSE_BI_PASSWORD, CUR_SUPERSET_ADMIN_PASSWORD, CUR_REDIS_PASSWORD) is unset, so production sets the
variables and never uses these files.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cur import settings as settings_module


def secret_files(settings: settings_module.Settings) -> list[Path]:
    return [
        settings.clickhouse_password_file,
        settings.clickhouse_bi_password_file,
        settings.superset_admin_password_file,
        settings.redis_password_file,
    ]


def ensure(path: Path) -> bool:
    """Writes a new random password into `path` (mode 0600, its folder 0700) unless it has one; True if it did."""
    if path.exists():
        if path.read_text(encoding="utf-8").strip():
            return False
        path.unlink()  # an empty file (a full disk, an interrupted write) is no password
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    # URL-safe: the password also goes into connection URLs and curl's -u without quoting trouble.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(secrets.token_urlsafe(24) + "\n")
    try:
        # A hard link never replaces: when two scripts start at once, the first password stays.
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True


def main() -> None:
    for path in secret_files(settings_module.load()):
        ensure(path)


if __name__ == "__main__":
    main()
