"""Import the dashboard assets in `superset/assets/` into Superset; safe to re-run.

The YAML files are Superset's own export format with fixed UUIDs, so every import updates the same
database, dataset, charts and dashboard in place. The ClickHouse connection is configuration, not
an asset: it is rendered into the bundle from the environment (cur/settings.py) at import time, as
the read-only BI user (CUR_CLICKHOUSE_BI_USER: SELECT on the analytics database only), never the
writer.

Runs in the bi environment with SUPERSET_CONFIG_PATH set (infra/services/superset.sh does this):
    python superset/import_assets.py [--username admin]

The import is Superset's ImportAssetsCommand (the one behind POST /api/v1/assets/import/), not the
dashboard importer: the latter never overwrites existing charts, datasets or databases, so changed
chart YAML would silently not be applied on re-import.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine.url import URL

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from cur import settings as cur_settings  # noqa: E402

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
URI_PLACEHOLDER = "__CLICKHOUSE_SQLALCHEMY_URI__"
log = logging.getLogger("superset.import_assets")


def clickhouse_uri(settings: cur_settings.Settings) -> str:
    """SQLAlchemy URI of clickhouse-connect's dialect (HTTP protocol) as the BI user, credentials quoted."""
    url = URL.create(
        "clickhousedb",
        username=settings.clickhouse_bi_user,
        password=settings.clickhouse_bi_password or None,
        host=settings.clickhouse_host,
        port=settings.clickhouse_http_port,
        database=settings.analytics_database,
    )
    return url.render_as_string(hide_password=False)


def render_bundle(settings: cur_settings.Settings, assets_dir: Path = ASSETS_DIR) -> dict[str, str]:
    """{path inside the bundle: YAML text}, as Superset reads an export ZIP, with the connection filled in."""
    contents: dict[str, str] = {}
    for path in sorted(assets_dir.rglob("*.yaml")):
        name = path.relative_to(assets_dir).as_posix()
        text = path.read_text(encoding="utf-8")
        if name.startswith(("databases/", "datasets/")):
            config: dict[str, Any] = yaml.safe_load(text)
            if name.startswith("databases/"):
                if config.get("sqlalchemy_uri") != URI_PLACEHOLDER:
                    raise ValueError(f"{name}: sqlalchemy_uri must be {URI_PLACEHOLDER}, never a real connection")
                config["sqlalchemy_uri"] = clickhouse_uri(settings)
            else:
                # The assets name the default databases; the settings may name others.
                schemas = {"analytics": settings.analytics_database, "cur": settings.clickhouse_database}
                if config.get("schema") not in schemas:
                    raise ValueError(f"{name}: schema must be one of {sorted(schemas)}, not {config.get('schema')!r}")
                config["schema"] = schemas[config["schema"]]
            text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        contents[name] = text
    if "metadata.yaml" not in contents:
        raise ValueError(f"{assets_dir}/metadata.yaml is missing")
    return contents


def import_bundle(contents: dict[str, str], username: str) -> None:
    """Imports with overwrite, as `username` (owner of what is created)."""
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset.commands.exceptions import CommandInvalidError
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.extensions import security_manager
        from superset.utils.core import override_user

        user = security_manager.find_user(username=username)
        if user is None:
            raise SystemExit(f"Superset user {username!r} does not exist: create it first")
        with override_user(user):
            try:
                ImportAssetsCommand(contents).run()
            except CommandInvalidError as error:
                raise SystemExit(f"invalid assets: {error.normalized_messages()}") from error


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--username", default="admin", help="Superset user the import runs as")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.setLevel(logging.INFO)
    contents = render_bundle(cur_settings.load())
    import_bundle(contents, args.username)
    log.info("imported %d asset files from %s", len(contents) - 1, ASSETS_DIR)


if __name__ == "__main__":
    main()
