"""Superset configuration of the ЦУР platform (loaded through SUPERSET_CONFIG_PATH).

Everything environment-specific comes from `cur/settings.py`, like every other component: the
metadata database is the `superset` database of the project's PostgreSQL (trust auth, loopback),
and state (secret key, cache) lives under `$CUR_STATE_DIR/superset`. The machine may have no
internet, so nothing may fetch at run time: no examples, no thumbnails, and a Content Security Policy
that only allows this server, which also keeps browsers from loading the telemetry pixel, map tiles
and web fonts the bundled front end would otherwise request. Alerts & Reports (a dashboard by mail)
run in the Celery worker and beat of infra/services/superset_worker.sh, brokered by the local Redis,
screenshotting with Debian's chromium through its chromedriver (no browser download).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from celery.schedules import crontab  # noqa: E402
from superset.tasks.types import ExecutorType  # noqa: E402

from cur import settings as cur_settings  # noqa: E402

_settings = cur_settings.load()
SUPERSET_STATE_DIR = _settings.state_dir / "superset"

# The key encrypts stored database passwords and signs sessions, so it must survive restarts:
# infra/services/superset.sh generates it once, readable by its owner only.
_SECRET_KEY_FILE = SUPERSET_STATE_DIR / "secret_key"
try:
    SECRET_KEY = _SECRET_KEY_FILE.read_text().strip()
except FileNotFoundError as error:
    raise RuntimeError(f"{_SECRET_KEY_FILE} is missing: start Superset with infra/services/superset.sh") from error

SQLALCHEMY_DATABASE_URI = f"postgresql+psycopg2://postgres@127.0.0.1:{_settings.postgres_port}/superset"
SQLALCHEMY_TRACK_MODIFICATIONS = False

# Nothing from the internet: no thumbnails and no screenshot endpoints (the example data sets are never
# loaded: `superset load-examples` is not part of start-up). Alerts & Reports are on (below).
FEATURE_FLAGS: dict[str, bool] = {
    "ALERT_REPORTS": True,
    "THUMBNAILS": False,
    "ENABLE_DASHBOARD_SCREENSHOT_ENDPOINTS": False,
    "ENABLE_DASHBOARD_DOWNLOAD_WEBDRIVER_SCREENSHOT": False,
}
MAPBOX_API_KEY = ""

# Web server behind gunicorn (see infra/services/superset.sh): long queries are allowed 2 minutes.
SUPERSET_WEBSERVER_TIMEOUT = 120
ROW_LIMIT = 50_000

# One shared file cache for the gunicorn workers: metadata for a day, query results for 5 minutes,
# so a dashboard shows new figures soon after the daily DAG rebuilds the mart.
_CACHE_DIR = str(SUPERSET_STATE_DIR / "cache")
CACHE_CONFIG: dict[str, Any] = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": _CACHE_DIR,
    "CACHE_KEY_PREFIX": "superset_meta_",
    "CACHE_DEFAULT_TIMEOUT": 24 * 3600,
    "CACHE_THRESHOLD": 5000,
}
DATA_CACHE_CONFIG: dict[str, Any] = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": _CACHE_DIR,
    "CACHE_KEY_PREFIX": "superset_data_",
    "CACHE_DEFAULT_TIMEOUT": 300,
    "CACHE_THRESHOLD": 5000,
}

# ---- Alerts & Reports: a dashboard by mail --------------------------------------------------------
# Celery (infra/services/superset_worker.sh): beat ticks `reports.scheduler` every minute, the worker
# runs the schedules due in that minute. Broker and results in the local Redis (infra/services/redis.sh;
# its password from the settings, generated on first use), not Superset's default SQLite files.
_REDIS_URL = f"redis://:{quote(_settings.redis_password, safe='')}@{_settings.redis_host}:{_settings.redis_port}"


class CeleryConfig:
    """Superset's default Celery configuration with the project's broker (no Slack here)."""

    broker_url = f"{_REDIS_URL}/0"
    result_backend = f"{_REDIS_URL}/1"
    imports = ("superset.sql_lab", "superset.tasks.scheduler", "superset.tasks.thumbnails", "superset.tasks.cache")
    worker_prefetch_multiplier = 1
    task_acks_late = False
    beat_schedule: ClassVar[dict[str, Any]] = {
        "reports.scheduler": {
            "task": "reports.scheduler",
            "schedule": crontab(minute="*", hour="*"),
            "options": {"expires": 7 * 24 * 3600},
        },
        "reports.prune_log": {"task": "reports.prune_log", "schedule": crontab(minute=0, hour=0)},
    }


CELERY_CONFIG = CeleryConfig
ALERT_REPORTS_NOTIFICATION_DRY_RUN = False
# A schedule renders as its owner (the analyst who subscribed, first the creator among the owners):
# the screenshot shows what that user may see, row-level security included, never more. No fixed
# service user: Superset 6.1 has no THUMBNAIL_SELENIUM_USER any more, and a fixed `admin` would mail
# every ministry's rows to whoever subscribes.
ALERT_REPORTS_EXECUTORS = [ExecutorType.CREATOR_OWNER, ExecutorType.OWNER]
EMAIL_REPORTS_SUBJECT_PREFIX = "[ЦУР]"  # Superset adds the space
EMAIL_REPORTS_CTA = "Открыть в Superset"

# Selenium with Debian's chromium-driver (/usr/bin/chromedriver starts Debian's /usr/bin/chromium, its
# own build, 156 here); headless, without the sandbox, which needs user namespaces a container may not
# grant. The browser is not named: Superset 6.1 passes WEBDRIVER_CONFIGURATION["binary_location"] on to
# the driver's constructor as well ("WebDriver.__init__() got an unexpected keyword argument").
WEBDRIVER_TYPE = "chrome"
WEBDRIVER_OPTION_ARGS = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=ru-RU"]
WEBDRIVER_CONFIGURATION: dict[str, Any] = {
    "options": {"capabilities": {}, "preferences": {}},
    "service": {"executable_path": "/usr/bin/chromedriver", "log_output": "/dev/null", "service_args": [], "port": 0},
}
WEBDRIVER_BASEURL = f"http://127.0.0.1:{_settings.superset_port}/"
# Upper bounds, not waits: on a busy machine the dashboard's bundle took more than Superset's 10 s to
# show its grid (the report failed with "Selenium timed out requesting url").
SCREENSHOT_LOCATE_WAIT = 60
SCREENSHOT_LOAD_WAIT = 120
WEBDRIVER_BASEURL_USER_FRIENDLY = WEBDRIVER_BASEURL

# Mail of the reports through the relay of the settings, as cur/mail.py sends (the local SMTP sink in
# the demo and the tests): no login when CUR_SMTP_USER is empty.
SMTP_HOST = _settings.smtp_host
SMTP_PORT = _settings.smtp_port
SMTP_STARTTLS = _settings.smtp_starttls
SMTP_SSL = False
SMTP_USER = _settings.smtp_user
SMTP_PASSWORD = _settings.smtp_password
SMTP_MAIL_FROM = _settings.mail_from

# Only this server may serve scripts, styles, fonts, images and API calls to the browser.
TALISMAN_ENABLED = True
TALISMAN_CONFIG: dict[str, Any] = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False
THEME_FONT_URL_ALLOWED_DOMAINS: list[str] = []

# deck.gl maps draw on tiles from a tile server, and there is none offline: the maps name this
# server's blank tile instead (superset/dashboards.py: BLANK_MAP), a white square served for every
# {z}/{x}/{y}, so the layers show on a plain background and nothing is fetched from outside. White, the
# chart's own background, not grey: with a tile base, deck.gl draws a white rectangle in the lower right
# of every map, above the data layer (not with a mapbox:// style; every tile it asked for was served,
# status 200; the cause is not found). On a grey base it showed everywhere; on white, only where it
# crosses a polygon.
BLANK_TILE_PATH = "/cur/blank-tile/<int:z>/<int:x>/<int:y>.png"


def _blank_tile_png(size: int = 256, grey: int = 0xFF) -> bytes:
    """A size×size opaque greyscale PNG of one shade, written with the standard library."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([grey]) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _blank_tile_blueprint() -> Any:
    from flask import Blueprint, Response

    blueprint = Blueprint("cur_blank_tile", __name__)
    tile = _blank_tile_png()

    @blueprint.route(BLANK_TILE_PATH)
    def blank_tile(z: int, x: int, y: int) -> Response:
        return Response(tile, mimetype="image/png", headers={"Cache-Control": "public, max-age=86400"})

    return blueprint


BLUEPRINTS = [_blank_tile_blueprint()]

# Russian interface by default; the translations ship with the package (nothing is downloaded).
# The front end fetches them from /superset/language_pack/ru/ before it renders anything, the login
# form included: anonymous visitors may load them through the Public role's only permission
# (superset/access.py), or the login page stays in English.
BABEL_DEFAULT_LOCALE = "ru"
LANGUAGES = {
    "ru": {"flag": "ru", "name": "Русский"},
    "en": {"flag": "us", "name": "English"},
}
D3_FORMAT = {
    "decimal": ",",
    "thousands": "\u00a0",
    "grouping": [3],
    "currency": ["", "\u00a0₽"],
}
D3_TIME_FORMAT = {
    "dateTime": "%A, %e %B %Y г. %X",
    "date": "%d.%m.%Y",
    "time": "%H:%M:%S",
    "periods": ["AM", "PM"],
    "days": ["воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"],
    "shortDays": ["вс", "пн", "вт", "ср", "чт", "пт", "сб"],
    "months": [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
    "shortMonths": ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"],
}
