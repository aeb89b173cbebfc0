"""Access on the real services: who reaches ClickHouse and Superset, and with which rights.

The ClickHouse users come from infra/clickhouse/users.py (rendered by infra/services/clickhouse.sh
from the settings); Superset's admin password and the Public role from superset/access.py; the
ClickHouse connection of Superset from superset/import_assets.py.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from cur.clickhouse import native_client
from cur.settings import Settings
from infra.clickhouse.users import BI_VIEWS
from tests.e2e.superset_helpers import login

pytestmark = pytest.mark.e2e

ACCESS_DENIED, READONLY, AUTHENTICATION_FAILED = 497, 164, 516
PROBE = "access_probe"
TIMEOUT = 60


def _client(settings: Settings, user: str, password: str) -> Client:
    return native_client(replace(settings, clickhouse_user=user, clickhouse_password=password))


def _refused(client: Client, query: str, codes: tuple[int, ...] = (ACCESS_DENIED,)) -> ServerException:
    with pytest.raises(ServerException) as raised:
        client.execute(query)
    assert raised.value.code in codes, f"{query}: {str(raised.value)[:300]}"
    return raised.value


@pytest.fixture(scope="module")
def probe(settings: Settings, clickhouse: Client) -> Iterator[str]:
    """A small mart, an invoker view over pseudonyms and a definer view meant for BI, in the analytics database."""
    db, cur, writer = settings.analytics_database, settings.clickhouse_database, settings.clickhouse_user
    statements = [
        f"CREATE TABLE {db}.{PROBE} ENGINE = MergeTree ORDER BY n AS SELECT number AS n FROM numbers(4)",
        # As dbt's staging views are: SQL SECURITY INVOKER, so the reader needs rights on cur.* too.
        f"CREATE VIEW {db}.{PROBE}_pseudonyms AS SELECT applicant_pseudonym FROM {cur}.appeals",
        # A view meant for BI: it runs with its definer's rights and shows only what it selects.
        f"CREATE VIEW {db}.{PROBE}_rejected_per_feed DEFINER = {writer} SQL SECURITY DEFINER"
        f" AS SELECT count() AS rejected FROM {cur}.rejected_events",
    ]
    names = [f"{db}.{PROBE}", f"{db}.{PROBE}_pseudonyms", f"{db}.{PROBE}_rejected_per_feed"]
    for name in names:
        clickhouse.execute(f"DROP TABLE IF EXISTS {name} SYNC")
    for statement in statements:
        clickhouse.execute(statement)
    yield f"{db}.{PROBE}"
    for name in names:
        clickhouse.execute(f"DROP TABLE IF EXISTS {name} SYNC")


@pytest.fixture(scope="module")
def bi(settings: Settings) -> Iterator[Client]:
    client = _client(settings, settings.clickhouse_bi_user, settings.clickhouse_bi_password)
    yield client
    client.disconnect()


@pytest.fixture(scope="module")
def anonymous(settings: Settings) -> Iterator[Client]:
    """`default` without a password: the embedded engine's own session needs this user to exist."""
    client = _client(settings, "default", "")
    yield client
    client.disconnect()


def test_bi_user_reads_the_analytics_marts_and_views_meant_for_bi(settings: Settings, bi: Client, probe: str) -> None:
    assert bi.execute(f"SELECT sum(n) FROM {probe}") == [(6,)]
    assert bi.execute(f"SELECT rejected >= 0 FROM {probe}_rejected_per_feed") == [(1,)]
    assert bi.execute("SELECT currentUser()") == [(settings.clickhouse_bi_user,)]
    # What Superset's schema browser lists: the analytics database, and of the canonical one only the
    # views meant for BI (the auditors' dashboard), by name.
    cur = settings.clickhouse_database
    assert {db for (db,) in bi.execute("SELECT name FROM system.databases")} == {settings.analytics_database, cur}
    assert {db for (db,) in bi.execute("SELECT DISTINCT database FROM system.tables")} == {
        settings.analytics_database,
        cur,
    }
    visible = {name for (name,) in bi.execute(f"SELECT name FROM system.tables WHERE database = '{cur}'")}
    assert visible == set(BI_VIEWS)


def test_bi_user_cannot_read_raw_payloads_or_pseudonyms(settings: Settings, bi: Client, probe: str) -> None:
    cur = settings.clickhouse_database
    for table in ("rejected_events", "rejected_open", "appeals", "appeal_status_events", "appeals_dedup"):
        _refused(bi, f"SELECT count() FROM {cur}.{table}")
    # A view in the analytics database does not open what its invoker may not read.
    _refused(bi, f"SELECT count() FROM {probe}_pseudonyms")


def test_bi_user_cannot_write_or_change_settings(settings: Settings, bi: Client, probe: str) -> None:
    _refused(bi, f"INSERT INTO {probe} VALUES (100)", (READONLY, ACCESS_DENIED))
    _refused(
        bi,
        f"CREATE TABLE {settings.analytics_database}.bi_was_here (n UInt8) ENGINE = Memory",
        (READONLY, ACCESS_DENIED),
    )
    _refused(bi, f"DROP TABLE {probe}", (READONLY, ACCESS_DENIED))
    _refused(bi, "SET max_memory_usage = 7", (READONLY,))  # setting a value it already has passes


def test_bi_user_cannot_call_table_functions_that_reach_outside(settings: Settings, bi: Client) -> None:
    _refused(bi, "SELECT * FROM file('/etc/passwd', 'LineAsString')")
    _refused(bi, f"SELECT * FROM url('http://127.0.0.1:{settings.clickhouse_http_port}/ping', 'LineAsString')")
    # The writer's rights through the back door of remote(): refused too.
    table = f"{settings.clickhouse_database}.rejected_events"
    writer = f"'{settings.clickhouse_user}', '{settings.clickhouse_password}'"
    _refused(bi, f"SELECT count() FROM remote('127.0.0.1:{settings.clickhouse_port}', {table}, {writer})")


def test_default_user_is_no_open_door(settings: Settings, anonymous: Client, probe: str) -> None:
    grants = {grant for (grant,) in anonymous.execute("SHOW GRANTS")}
    assert grants == {"GRANT SYSTEM LISTEN ON *.* TO default", "GRANT SELECT ON system.numbers TO default"}
    _refused(anonymous, f"SELECT count() FROM {settings.clickhouse_database}.rejected_events")
    _refused(anonymous, f"SELECT count() FROM {probe}")
    _refused(anonymous, "SELECT * FROM file('/etc/passwd', 'LineAsString')")
    _refused(anonymous, "SELECT query FROM system.processes")  # the other users' queries
    _refused(anonymous, f"INSERT INTO {probe} VALUES (100)")
    _refused(anonymous, f"CREATE DATABASE {settings.clickhouse_database}_default_was_here")


def test_writer_needs_its_password_and_reads_no_local_files(settings: Settings, clickhouse: Client) -> None:
    wrong = _client(settings, settings.clickhouse_user, settings.clickhouse_password + "x")
    _refused(wrong, "SELECT 1", (AUTHENTICATION_FAILED,))
    _refused(clickhouse, "SELECT * FROM file('/etc/passwd', 'LineAsString')")
    _refused(clickhouse, "CREATE USER intruder IDENTIFIED BY 'x'")  # no access management


def test_passwords_are_owner_only_and_stored_hashed(settings: Settings) -> None:
    files = [
        settings.clickhouse_password_file,
        settings.clickhouse_bi_password_file,
        settings.superset_admin_password_file,
    ]
    users_xml = settings.state_dir / "data" / "clickhouse" / "users.xml"
    for path in [*files, users_xml]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    text = users_xml.read_text(encoding="utf-8")
    for password in (settings.clickhouse_password, settings.clickhouse_bi_password):
        assert len(password) >= 20
        assert password not in text
        assert hashlib.sha256(password.encode()).hexdigest() in text


# ---- Superset -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def superset_url(settings: Settings) -> str:
    url = f"http://127.0.0.1:{settings.superset_port}"
    try:
        requests.get(f"{url}/health", timeout=10).raise_for_status()
    except requests.RequestException as error:
        pytest.fail(f"Superset is not answering at {url}: {error}")
    return url


def _login_status(url: str, username: str, password: str) -> int:
    body = {"username": username, "password": password, "provider": "db", "refresh": False}
    return requests.post(f"{url}/api/v1/security/login", json=body, timeout=TIMEOUT).status_code


def test_superset_refuses_admin_admin_and_accepts_the_generated_password(settings: Settings, superset_url: str) -> None:
    assert _login_status(superset_url, "admin", "admin") == 401
    assert settings.superset_admin_password not in ("", "admin")
    assert _login_status(superset_url, "admin", settings.superset_admin_password) == 200


def test_anonymous_visitors_get_the_login_page_or_401(superset_url: str) -> None:
    for page in ("/superset/dashboard/governor/", "/sqllab/", "/chart/list/", "/superset/welcome/"):
        response = requests.get(f"{superset_url}{page}", timeout=TIMEOUT, allow_redirects=False)
        assert response.status_code == 302, page
        assert response.headers["Location"].split("?")[0].endswith("/login/"), page
    for api in ("/api/v1/dashboard/", "/api/v1/chart/", "/api/v1/database/", "/api/v1/dataset/", "/api/v1/me/"):
        assert requests.get(f"{superset_url}{api}", timeout=TIMEOUT).status_code == 401, api
    # SQL Lab, with the CSRF token an anonymous visitor gets from the login form: not authorized.
    session = requests.Session()
    form = session.get(f"{superset_url}/login/", timeout=TIMEOUT).text
    csrf = re.search(r'id="csrf_token"\s+value="([^"]+)"', form).group(1)
    sql = {"database_id": 1, "sql": "SELECT 1", "runAsync": False}
    headers = {"X-CSRFToken": csrf, "Referer": superset_url}
    response = session.post(f"{superset_url}/api/v1/sqllab/execute/", json=sql, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 401, response.text[:500]


def test_the_login_page_is_russian(superset_url: str) -> None:
    page = requests.get(f"{superset_url}/login/", timeout=TIMEOUT)
    assert page.status_code == 200
    bootstrap = json.loads(html.unescape(re.search(r'data-bootstrap="([^"]*)"', page.text).group(1)))
    assert bootstrap["common"]["locale"] == "ru"
    # The front end fetches its translations before it renders the form, as the anonymous visitor.
    pack = requests.get(f"{superset_url}/superset/language_pack/ru/", timeout=TIMEOUT, allow_redirects=False)
    assert pack.status_code == 200, (
        "anonymous visitors cannot load the translations: the login form falls back to English"
    )
    messages = pack.json()["locale_data"]["superset"]
    assert messages["Sign in"] == ["Вход"]
    assert messages["Username:"] == ["Имя пользователя:"]
    assert messages["Password:"] == ["Пароль:"]


def test_the_rendered_login_page_is_russian_in_a_browser(superset_url: str, tmp_path: Path) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("no chromium on this machine (Debian package `chromium`)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path}",
        "--virtual-time-budget=20000",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", f"{superset_url}/login/"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style).*?</\1>", "", dom, flags=re.S)))
    assert "Введите ваш логин и пароль ниже:" in text, text[:1000]
    assert "Имя пользователя:" in text and "Пароль:" in text
    assert "Sign in" not in text and "Username" not in text


def test_superset_reads_clickhouse_as_the_bi_user_only(settings: Settings, superset_url: str) -> None:
    session = login(superset_url, "admin", settings.superset_admin_password)
    databases = session.get(f"{superset_url}/api/v1/database/", timeout=TIMEOUT).json()["result"]
    (database,) = [d for d in databases if d["backend"] == "clickhousedb"]
    connection = session.get(f"{superset_url}/api/v1/database/{database['id']}/connection", timeout=TIMEOUT).json()
    assert connection["result"]["parameters"]["username"] == settings.clickhouse_bi_user

    def sql_lab(sql: str) -> requests.Response:
        body = {"database_id": database["id"], "sql": sql, "runAsync": False, "schema": settings.analytics_database}
        return session.post(f"{superset_url}/api/v1/sqllab/execute/", json=body, timeout=TIMEOUT)

    assert sql_lab("SELECT currentUser() AS u").json()["data"] == [{"u": settings.clickhouse_bi_user}]
    for sql in (
        f"SELECT count() FROM {settings.clickhouse_database}.rejected_events",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    ):
        response = sql_lab(sql)
        assert response.status_code >= 400, sql
        assert "ACCESS_DENIED" in response.text, response.text[:500]
