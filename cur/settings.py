"""The only place that reads the environment.

Every component receives a `Settings` object instead of reading variables itself, so pointing
the platform at a production ClickHouse or Kafka cluster is configuration, not code.
Defaults describe the single-machine stack that `infra/` starts on loopback.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _secret(name: str, file: Path) -> str:
    """The variable when set (even empty), else the local default cur/local_secrets.py generated into `file`."""
    value = os.environ.get(name)
    if value is not None:
        return value
    try:
        return file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    clickhouse_host: str
    clickhouse_port: int  # native TCP protocol (clickhouse-driver)
    clickhouse_http_port: int  # HTTP protocol (clickhouse-connect, dbt, Superset)
    clickhouse_user: str  # the writer: stream workers, Spark jobs, dbt, GX, migrations
    clickhouse_password: str
    clickhouse_database: str  # canonical and landing tables
    analytics_database: str  # dbt models (staging, intermediate, marts)
    kafka_bootstrap: str
    region_tz: str
    pseudonymization_key: str
    postgres_port: int  # metadata database of Airflow and Superset
    airflow_port: int
    superset_port: int
    streams_web_port: int  # Faust worker's web view
    streams_app_id: str  # Kafka consumer group of the raw topics; the Faust app id is derived from it
    dead_letter_topic: str = "deadletter.appeals"
    # The documentation site (infra/services/docs.sh): Great Expectations Data Docs and dbt docs.
    docs_port: int = 18090
    raw_topics: dict[str, str] = field(default_factory=dict)
    # Spark (spark_jobs/session.py): `local[*]`, or a cluster such as the standalone one that
    # infra/services/spark.sh starts (spark://127.0.0.1:<spark_master_port>).
    spark_master: str = "local[*]"
    spark_executor_cores: int = 2
    spark_executor_memory: str = "1g"
    spark_driver_memory: str = "2g"  # local mode: also the executor; 1g ran out on a 60 k-appeal linkage window
    spark_master_port: int = 17077  # standalone master (infra/services/spark.sh)
    spark_master_ui_port: int = 18081
    spark_worker_port: int = 17078
    spark_worker_ui_port: int = 18082
    spark_jars_dir: Path = REPO_ROOT / ".state" / "install" / "spark" / "jars"  # ClickHouse JDBC driver
    spark_jdbc_batch_size: int = 10_000  # rows per INSERT of a Spark task (spark_jobs/clickhouse_io.py)
    # Superset's read-only ClickHouse user: the analytics database only (infra/clickhouse/users.py).
    clickhouse_bi_user: str = "cur_bi"
    clickhouse_bi_password: str = ""
    superset_admin_password: str = ""
    # Where each password is read from when its variable is unset (generated there on first use).
    clickhouse_password_file: Path = REPO_ROOT / ".state" / "secrets" / "clickhouse-writer.password"
    clickhouse_bi_password_file: Path = REPO_ROOT / ".state" / "secrets" / "clickhouse-bi.password"
    superset_admin_password_file: Path = REPO_ROOT / ".state" / "secrets" / "superset-admin.password"
    # The broker of Superset's Celery worker and beat (Alerts & Reports): infra/services/redis.sh.
    redis_host: str = "127.0.0.1"
    redis_port: int = 16379
    redis_password: str = ""
    redis_password_file: Path = REPO_ROOT / ".state" / "secrets" / "redis.password"
    # Outgoing mail (cur/mail.py): reports and data-quality alerts. The defaults are the local sink
    # of infra/services/smtp.sh; production sets a relay, its login and STARTTLS.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 12525
    smtp_user: str = ""  # no login when empty
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "reports@cur.localhost"
    operators_email: str = "operators@cur.localhost"  # who is told when a report is held back
    # Weekly reports (reports/): who receives them, a TOML of the shape of reports/recipients.toml.
    reports_recipients_file: Path = REPO_ROOT / "reports" / "recipients.toml"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.region_tz)

    @property
    def mail_sink_dir(self) -> Path:
        """Where the local SMTP sink stores what it receives, one .eml file per message."""
        return self.state_dir / "mail"

    @property
    def reports_dir(self) -> Path:
        """Rendered weekly reports: <reports_dir>/<week start>/<recipient>.pdf|xlsx."""
        return self.state_dir / "reports"


FEEDS: tuple[str, ...] = ("pos", "112", "safe_city", "housing")
# The pseudonymization key of development and CI stacks. Pseudonyms made with it are not secret:
# production sets CUR_PSEUDONYMIZATION_KEY to a long random value (the stream worker warns otherwise).
DEV_PSEUDONYMIZATION_KEY = "dev-only-not-a-secret"


def _flag(name: str, default: bool) -> bool:
    value = _env(name, "1" if default else "0").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={value!r}: expected one of 1/0, true/false, yes/no, on/off")


def load() -> Settings:
    state_dir = Path(_env("CUR_STATE_DIR", str(REPO_ROOT / ".state"))).resolve()
    secrets_dir = state_dir / "secrets"
    password_file = Path(_env("CUR_CLICKHOUSE_PASSWORD_FILE", str(secrets_dir / "clickhouse-writer.password")))
    bi_password_file = Path(_env("CUR_CLICKHOUSE_BI_PASSWORD_FILE", str(secrets_dir / "clickhouse-bi.password")))
    admin_password_file = Path(_env("CUR_SUPERSET_ADMIN_PASSWORD_FILE", str(secrets_dir / "superset-admin.password")))
    redis_password_file = Path(_env("CUR_REDIS_PASSWORD_FILE", str(secrets_dir / "redis.password")))
    return Settings(
        state_dir=state_dir,
        clickhouse_host=_env("CLICKHOUSE_HOST", "127.0.0.1"),
        clickhouse_port=int(_env("CLICKHOUSE_PORT", "19000")),
        clickhouse_http_port=int(_env("CLICKHOUSE_HTTP_PORT", "18123")),
        clickhouse_user=_env("CLICKHOUSE_USER", "cur_writer"),
        clickhouse_password=_secret("CLICKHOUSE_PASSWORD", password_file),
        clickhouse_bi_user=_env("CUR_CLICKHOUSE_BI_USER", "cur_bi"),
        clickhouse_bi_password=_secret("CUR_CLICKHOUSE_BI_PASSWORD", bi_password_file),
        superset_admin_password=_secret("CUR_SUPERSET_ADMIN_PASSWORD", admin_password_file),
        clickhouse_password_file=password_file,
        clickhouse_bi_password_file=bi_password_file,
        superset_admin_password_file=admin_password_file,
        redis_host=_env("CUR_REDIS_HOST", "127.0.0.1"),
        redis_port=int(_env("CUR_REDIS_PORT", "16379")),
        redis_password=_secret("CUR_REDIS_PASSWORD", redis_password_file),
        redis_password_file=redis_password_file,
        clickhouse_database=_env("CLICKHOUSE_DATABASE", "cur"),
        analytics_database=_env("CUR_ANALYTICS_DATABASE", "analytics"),
        kafka_bootstrap=_env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
        region_tz=_env("CUR_REGION_TZ", "Europe/Moscow"),
        pseudonymization_key=_env("CUR_PSEUDONYMIZATION_KEY", DEV_PSEUDONYMIZATION_KEY),
        postgres_port=int(_env("CUR_POSTGRES_PORT", "15432")),
        airflow_port=int(_env("CUR_AIRFLOW_PORT", "18080")),
        superset_port=int(_env("CUR_SUPERSET_PORT", "18088")),
        streams_web_port=int(_env("CUR_STREAMS_WEB_PORT", "16066")),
        docs_port=int(_env("CUR_DOCS_PORT", "18090")),
        streams_app_id=_env("CUR_STREAMS_APP_ID", "cur-streams"),
        dead_letter_topic=_env("CUR_DEAD_LETTER_TOPIC", "deadletter.appeals"),
        raw_topics={feed: f"raw.{feed}" for feed in FEEDS},
        spark_master=_env("CUR_SPARK_MASTER", "local[*]"),
        spark_executor_cores=int(_env("CUR_SPARK_EXECUTOR_CORES", "2")),
        spark_executor_memory=_env("CUR_SPARK_EXECUTOR_MEMORY", "1g"),
        spark_driver_memory=_env("CUR_SPARK_DRIVER_MEMORY", "2g"),
        spark_master_port=int(_env("CUR_SPARK_MASTER_PORT", "17077")),
        spark_master_ui_port=int(_env("CUR_SPARK_MASTER_UI_PORT", "18081")),
        spark_worker_port=int(_env("CUR_SPARK_WORKER_PORT", "17078")),
        spark_worker_ui_port=int(_env("CUR_SPARK_WORKER_UI_PORT", "18082")),
        spark_jdbc_batch_size=int(_env("CUR_SPARK_JDBC_BATCH_SIZE", "10000")),
        smtp_host=_env("CUR_SMTP_HOST", "127.0.0.1"),
        smtp_port=int(_env("CUR_SMTP_PORT", "12525")),
        smtp_user=_env("CUR_SMTP_USER", ""),
        smtp_password=os.environ.get("CUR_SMTP_PASSWORD", ""),
        smtp_starttls=_flag("CUR_SMTP_STARTTLS", False),
        mail_from=_env("CUR_MAIL_FROM", "reports@cur.localhost"),
        operators_email=_env("CUR_OPERATORS_EMAIL", "operators@cur.localhost"),
        reports_recipients_file=Path(_env("CUR_REPORTS_RECIPIENTS", str(REPO_ROOT / "reports" / "recipients.toml"))),
        # Resolved by infra/install.sh (infra/spark/pom.xml) under the shared install directory.
        spark_jars_dir=Path(
            _env(
                "CUR_SPARK_JARS_DIR",
                str(Path(_env("CUR_INSTALL_DIR", str(REPO_ROOT / ".state" / "install"))) / "spark" / "jars"),
            )
        ).resolve(),
    )


def shell_exports(settings: Settings) -> str:
    """`export NAME=value` lines, so the shell scripts in infra/ share these defaults."""
    values = {
        "CUR_STATE_DIR": settings.state_dir,
        "CLICKHOUSE_HOST": settings.clickhouse_host,
        "CLICKHOUSE_PORT": settings.clickhouse_port,
        "CLICKHOUSE_HTTP_PORT": settings.clickhouse_http_port,
        "CLICKHOUSE_USER": settings.clickhouse_user,
        "CLICKHOUSE_PASSWORD": settings.clickhouse_password,  # dbt's profile reads it
        "CUR_CLICKHOUSE_BI_USER": settings.clickhouse_bi_user,
        "CUR_CLICKHOUSE_PASSWORD_FILE": settings.clickhouse_password_file,
        "CUR_CLICKHOUSE_BI_PASSWORD_FILE": settings.clickhouse_bi_password_file,
        "CUR_SUPERSET_ADMIN_PASSWORD_FILE": settings.superset_admin_password_file,
        "CUR_REDIS_HOST": settings.redis_host,
        "CUR_REDIS_PORT": settings.redis_port,
        "CUR_REDIS_PASSWORD_FILE": settings.redis_password_file,
        "CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "CUR_ANALYTICS_DATABASE": settings.analytics_database,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
        "CUR_REGION_TZ": settings.region_tz,
        "CUR_POSTGRES_PORT": settings.postgres_port,
        "CUR_AIRFLOW_PORT": settings.airflow_port,
        "CUR_SUPERSET_PORT": settings.superset_port,
        "CUR_STREAMS_WEB_PORT": settings.streams_web_port,
        "CUR_DOCS_PORT": settings.docs_port,
        "CUR_SPARK_EXECUTOR_CORES": settings.spark_executor_cores,
        "CUR_SPARK_EXECUTOR_MEMORY": settings.spark_executor_memory,
        "CUR_SPARK_MASTER_PORT": settings.spark_master_port,
        "CUR_SPARK_MASTER_UI_PORT": settings.spark_master_ui_port,
        "CUR_SPARK_WORKER_PORT": settings.spark_worker_port,
        "CUR_SPARK_WORKER_UI_PORT": settings.spark_worker_ui_port,
        "CUR_SPARK_JARS_DIR": settings.spark_jars_dir,
        "CUR_SMTP_HOST": settings.smtp_host,
        "CUR_SMTP_PORT": settings.smtp_port,
        "CUR_MAIL_FROM": settings.mail_from,
        "CUR_OPERATORS_EMAIL": settings.operators_email,
        "CUR_REPORTS_RECIPIENTS": settings.reports_recipients_file,
    }
    return "\n".join(f"export {name}={shlex.quote(str(value))}" for name, value in values.items())


if __name__ == "__main__":
    print(shell_exports(load()))
