"""What a weekly report must show, read back from the marts it was built from with SQL of the tests' own.

Shared by tests/e2e/test_reports.py (stand-in marts of seeded random figures) and
tests/e2e/test_kpi_golden.py (the marts of a real `dbt build` over the golden appeals), so both check
the same things. Every expected figure is a query on the marts, formatted with reports/formatting.py,
so nothing the report shows is restated here. A week may be thin: a share whose denominator is 0
reads «—» in the PDF and is an empty cell in the XLSX.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from clickhouse_driver import Client
from openpyxl import load_workbook
from pypdf import PdfReader

from reports import formatting as fmt

# The page each section starts on: the title page, then one page per section group.
PAGES = {
    1: "Еженедельный отчёт о работе с обращениями",
    2: "1. Основные показатели",
    3: "3. Просроченные обращения",
    4: "4. Точки напряжённости",
    5: "6. Динамика за 12 недель",
    6: "7. Качество данных и методика",
}
TREND_WEEKS = 12


def text(page_text: str) -> str:
    """pdftotext/pypdf text with every kind of space as one plain space (figures use non-breaking ones)."""
    return re.sub(r"[\s\u00a0\u202f]+", " ", page_text)


def scope(key: str) -> str:
    """The recipient's cut of a mart: `ministry-<code>` or `municipality-<code>`."""
    kind, code = key.split("-", 1)
    return f"{'ministry_code' if kind == 'ministry' else 'municipality_code'} = '{code}'"


def sums(client: Client, db: str, key: str, week: date, *columns: str) -> tuple:
    return client.execute(
        f"SELECT {', '.join(f'sum({c})' for c in columns)} FROM {db}.kpi_weekly"
        f" WHERE {scope(key)} AND period_start = %(week)s",
        {"week": week},
    )[0]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def recipient_name(client: Client, db: str, key: str) -> str:
    return client.execute(
        f"SELECT authority_name_ru FROM {db}.authorities WHERE authority_code = %(c)s"
        f" UNION ALL SELECT municipality_name_ru FROM {db}.municipalities WHERE municipality_code = %(c)s",
        {"c": key.split("-", 1)[1]},
    )[0][0]


def check_pdf(client: Client, db: str, key: str, pdf_path: str, week: date) -> list[str]:
    """The PDF's pages carry the marts' figures of `week` for `key`; returns the pages' text."""
    pages = [text(p.extract_text()) for p in PdfReader(pdf_path).pages]
    assert len(pages) == len(PAGES), key
    for number, heading in PAGES.items():
        assert heading in pages[number - 1], f"{key}: page {number} does not start {heading!r}"
    assert recipient_name(client, db, key) in pages[0], key
    received, met, due, repeats = sums(
        client, db, key, week, "appeals_received", "first_answer_met", "first_answer_due", "repeat_appeals"
    )
    before = sums(client, db, key, week - timedelta(weeks=1), "appeals_received")[0]
    row = f"Поступило обращений {fmt.count(received)} {fmt.count(before)} {fmt.change('count', received, before)}"
    assert text(row) in pages[1], key
    assert f"Первый ответ дан в срок {text(fmt.share(_ratio(met, due)))}" in pages[1], key
    median = client.execute(
        f"SELECT quantilesExactMerge(0.5, 0.9)(first_answer_minutes_q)[1] FROM {db}.kpi_weekly"
        f" WHERE {scope(key)} AND period_start = %(week)s",
        {"week": week},
    )[0][0]
    assert f"медиана, мин {text(fmt.number(median))}" in pages[1], key
    open_, overdue = client.execute(
        f"SELECT sum(open_backlog), sum(overdue_backlog) FROM {db}.backlog_daily"
        f" WHERE {scope(key)} AND snapshot_date = %(day)s",
        {"day": week + timedelta(days=6)},
    )[0]
    assert f"На конец недели в работе {fmt.count(open_)}, из них просрочено {fmt.count(overdue)}" in pages[2], key
    oldest = client.execute(
        f"SELECT source_id FROM {db}.sla_breaches WHERE {scope(key)} AND is_open ORDER BY age_hours DESC LIMIT 3"
    )
    assert oldest and all(sid in pages[2] for (sid,) in oldest), key
    top = client.execute(
        f"SELECT tension_rank, sector_name_ru FROM {db}.tension_weekly WHERE {scope(key)}"
        " AND week_start = %(week)s AND is_ranked ORDER BY tension_rank LIMIT 1",
        {"week": week},
    )
    if top:
        assert f"{top[0][0]} " in pages[3] and top[0][1] in pages[3], key
    else:
        assert "За неделю точек напряжённости в рейтинге нет." in pages[3], key
    assert f"Доля повторных обращений {text(fmt.share(_ratio(repeats, received)))}" in pages[4], key
    return pages


def check_xlsx(client: Client, db: str, key: str, xlsx_path: str, week: date, tz: ZoneInfo) -> None:
    """The XLSX's cells equal the marts' figures of `week` for `key` (week-on-week, SLA classes, the
    overdue list, the 12-week trend)."""
    book = load_workbook(xlsx_path)
    indicators = {row[0]: row[2:4] for row in book["Показатели"].iter_rows(min_row=2, values_only=True)}
    for measure in ("appeals_received", "signals_received", "problems_new", "repeat_appeals", "returned_appeals"):
        assert list(indicators[measure]) == [
            sums(client, db, key, week, measure)[0],
            sums(client, db, key, week - timedelta(weeks=1), measure)[0],
        ], (key, measure)
    met, due, rsum, rated = sums(
        client, db, key, week, "resolution_met", "resolution_due", "rating_sum", "rated_appeals"
    )
    assert indicators["resolution_share"][0] == pytest.approx(_ratio(met, due))
    assert indicators["average_rating"][0] == pytest.approx(_ratio(rsum, rated))
    by_class = client.execute(
        f"SELECT sla_class, sum(first_answer_due), sum(first_answer_met), sum(resolution_due), sum(resolution_met)"
        f" FROM {db}.kpi_weekly WHERE {scope(key)} AND period_start = %(week)s"
        " GROUP BY sla_class ORDER BY sla_class",
        {"week": week},
    )
    sheet = [row for row in book["SLA по классам"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[2], r[3], r[6], r[7]) for r in sheet] == by_class, key
    end = datetime.combine(week + timedelta(days=7), time(), tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
    breaches = client.execute(
        f"SELECT source_id, breach_kind, age_hours FROM {db}.sla_breaches WHERE {scope(key)} AND is_open"
        f" AND created_at < %(end)s ORDER BY age_hours DESC, source, source_id, breach_kind",
        {"end": end},
    )
    listed = [(r[1], r[9]) for r in book["Просроченные обращения"].iter_rows(min_row=2, values_only=True)]
    assert listed == [(sid, age) for sid, _, age in breaches], key
    first = week - timedelta(weeks=TREND_WEEKS)
    weeks = dict(
        client.execute(
            f"SELECT period_start, sum(appeals_received) FROM {db}.kpi_weekly WHERE {scope(key)}"
            " AND period_start > %(first)s AND period_start <= %(week)s GROUP BY period_start",
            {"first": first, "week": week},
        )
    )
    trend = {r[0].date(): r[1] for r in book["Динамика 12 недель"].iter_rows(min_row=2, values_only=True)}
    # Every one of the 12 weeks is a row, a week without appeals in the marts with 0.
    expected = {first + timedelta(weeks=n): weeks.get(first + timedelta(weeks=n), 0) for n in range(1, TREND_WEEKS + 1)}
    assert trend == expected, key
