"""The local default passwords and the ClickHouse users file, without services."""

from __future__ import annotations

import hashlib
import stat
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from cur import local_secrets
from cur import settings as settings_module
from infra.clickhouse import users

WRITER_PASSWORD, BI_PASSWORD = "writer-secret-0123456789", "bi-secret-0123456789"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> settings_module.Settings:
    for name in (
        "CLICKHOUSE_PASSWORD",
        "CUR_CLICKHOUSE_BI_PASSWORD",
        "CUR_SUPERSET_ADMIN_PASSWORD",
        "CUR_REDIS_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "CUR_CLICKHOUSE_PASSWORD_FILE",
        "CUR_CLICKHOUSE_BI_PASSWORD_FILE",
        "CUR_SUPERSET_ADMIN_PASSWORD_FILE",
        "CUR_REDIS_PASSWORD_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("CLICKHOUSE_USER", "CUR_CLICKHOUSE_BI_USER", "CLICKHOUSE_DATABASE", "CUR_ANALYTICS_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CUR_STATE_DIR", str(tmp_path / "state"))
    return settings_module.load()


def test_secrets_are_generated_once_owner_only_and_read_by_the_settings(settings: settings_module.Settings) -> None:
    assert settings.clickhouse_password == settings.superset_admin_password == ""  # nothing generated yet
    files = local_secrets.secret_files(settings)
    assert all(local_secrets.ensure(path) for path in files)
    assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
    passwords = [path.read_text().strip() for path in files]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert not local_secrets.ensure(path)  # kept across runs
    assert [path.read_text().strip() for path in files] == passwords
    assert len(set(passwords)) == len(files) and all(len(p) >= 30 for p in passwords)
    loaded = settings_module.load()
    read = [loaded.clickhouse_password, loaded.clickhouse_bi_password, loaded.superset_admin_password]
    assert [*read, loaded.redis_password] == passwords


def test_the_environment_wins_over_the_files(
    settings: settings_module.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in local_secrets.secret_files(settings):
        local_secrets.ensure(path)
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", "from-env")
    monkeypatch.setenv("CUR_SUPERSET_ADMIN_PASSWORD", "")  # set, even empty: the environment decides
    loaded = settings_module.load()
    assert loaded.clickhouse_password == "from-env"
    assert loaded.superset_admin_password == ""


def test_an_empty_secret_file_is_replaced(settings: settings_module.Settings) -> None:
    path = settings.clickhouse_password_file
    path.parent.mkdir(parents=True)
    path.write_text("\n")
    assert local_secrets.ensure(path)
    assert path.read_text().strip()


def _users(text: str) -> dict[str, ET.Element]:
    return {user.tag: user for user in ET.fromstring(text).find("users")}


def _with_passwords(settings: settings_module.Settings) -> settings_module.Settings:
    return replace(settings, clickhouse_password=WRITER_PASSWORD, clickhouse_bi_password=BI_PASSWORD)


def test_users_file_holds_hashes_and_the_grants(settings: settings_module.Settings) -> None:
    text = users.render(_with_passwords(settings))
    assert WRITER_PASSWORD not in text and BI_PASSWORD not in text
    found = _users(text)
    assert set(found) == {"default", "cur_writer", "cur_bi"}
    writer, bi, default = found["cur_writer"], found["cur_bi"], found["default"]
    assert writer.findtext("password_sha256_hex") == hashlib.sha256(WRITER_PASSWORD.encode()).hexdigest()
    assert bi.findtext("password_sha256_hex") == hashlib.sha256(BI_PASSWORD.encode()).hexdigest()
    bi_grants = [q.text for q in bi.find("grants")]
    assert bi_grants == ["GRANT SELECT ON analytics.*"] + [f"GRANT SELECT ON cur.{view}" for view in users.BI_VIEWS]
    # Only the definer views meant for BI: never a table of the canonical database, never all of it.
    assert all(view.startswith("bi_") for view in users.BI_VIEWS)
    assert bi.findtext("profile") == "cur_bi"
    assert ET.fromstring(text).find("profiles/cur_bi").findtext("readonly") == "1"
    grants = [q.text for q in writer.find("grants")]
    assert "GRANT ALL ON cur*.*" in grants and "GRANT ALL ON analytics.*" in grants
    assert "GRANT ALL ON *.*" not in grants
    assert not [g for g in grants for source in ("FILE", "URL", "REMOTE", "SOURCES") if source in g]
    assert default.find("no_password") is not None
    assert [ip.text for ip in default.find("networks")] == ["127.0.0.1"]
    assert [q.text for q in default.find("grants")] == list(users.ENGINE_GRANTS)


def test_server_variant_removes_default_and_takes_networks(settings: settings_module.Settings) -> None:
    text = users.render(_with_passwords(settings), server=True, networks=["10.1.0.0/16"])
    found = _users(text)
    assert found["default"].get("remove") == "remove" and len(found["default"]) == 0
    assert [ip.text for ip in found["cur_bi"].find("networks")] == ["10.1.0.0/16"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"clickhouse_password": ""}, "CLICKHOUSE_PASSWORD is empty"),
        ({"clickhouse_bi_password": ""}, "CUR_CLICKHOUSE_BI_PASSWORD is empty"),
        ({"clickhouse_user": "default"}, "CLICKHOUSE_USER=default"),
        ({"clickhouse_bi_user": "cur_writer"}, "both 'cur_writer'"),
        ({"clickhouse_user": "bad-name"}, "only letters"),
        ({"analytics_database": "x.*; GRANT ALL"}, "only letters"),
    ],
)
def test_users_file_refuses_unsafe_settings(settings: settings_module.Settings, change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        users.render(replace(_with_passwords(settings), **change))


def test_users_file_is_written_owner_only(settings: settings_module.Settings, tmp_path: Path) -> None:
    path = tmp_path / "users.xml"
    users.write(path, users.render(_with_passwords(settings)))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
