"""ClickHouse connections built from settings, for every component that talks to ClickHouse."""

from __future__ import annotations

from clickhouse_driver import Client

from cur.settings import Settings


def native_client(
    settings: Settings,
    *,
    database: str | None = None,
    client_settings: dict[str, object] | None = None,
    **kwargs: object,
) -> Client:
    """A clickhouse-driver client over the native TCP protocol (`client_settings`: driver/query settings)."""
    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password,
        database=database or "default",
        settings={"use_numpy": False, **(client_settings or {})},
        **kwargs,
    )
