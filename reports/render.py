"""One recipient's weekly report as a PDF (Jinja2 HTML laid out by WeasyPrint) and an XLSX (xlsxwriter).

Both are built from the same `ReportData` (reports/marts.py) and the same lists of indicators below,
so the PDF and the spreadsheet always carry the same figures. Neither contains personal data: the
marts' appeals are listed by channel and channel number only, without applicants or texts.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import xlsxwriter
from weasyprint import HTML

from reports import charts
from reports import formatting as fmt
from reports.marts import OLDEST_ITEMS, Backlog, ReportData, Totals
from reports.quality import Gate

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The SLA classes of cur/taxonomy/subcategories.csv as a reader calls them (a test checks that both agree).
SLA_CLASS_LABELS = {
    "emergency": "Чрезвычайные ситуации",
    "high": "Высокая важность",
    "normal": "Обычные",
    "fast_snow": "Снег и наледь на дорогах",
    "fast_garbage": "Вывоз мусора",
    "fast_pothole": "Ямочный ремонт во дворах",
}
SOURCE_LABELS = {"pos": "ПОС", "112": "112", "safe_city": "Безопасный город", "housing": "ГЖИ"}
BREACH_LABELS = {"first_answer": "первый ответ", "resolution": "решение"}
RECIPIENT_KIND_LABELS = {"ministry": "Орган власти", "municipality": "Муниципальное образование"}


@dataclass(frozen=True)
class Indicator:
    key: str  # a stable name for the XLSX and the tests
    label: str
    kind: str  # count | share | number (formatting.value)
    get: Callable[[Totals, Backlog], float | None]


HEADLINE = (
    Indicator("appeals_received", "Поступило обращений", "count", lambda t, b: t["appeals_received"]),
    Indicator("signals_received", "Сигналов «Безопасного города»", "count", lambda t, b: t["signals_received"]),
    Indicator("problems_new", "Новых проблем", "count", lambda t, b: t["problems_new"]),
    Indicator("first_answer_share", "Первый ответ дан в срок", "share", lambda t, b: t.first_answer_share),
    Indicator("resolution_share", "Решено в срок", "share", lambda t, b: t.resolution_share),
    Indicator(
        "first_answer_median", "Время первого ответа, медиана, мин", "number", lambda t, b: t.first_answer_median
    ),
    Indicator(
        "first_answer_p90", "Время первого ответа, 90-й перцентиль, мин", "number", lambda t, b: t.first_answer_p90
    ),
    Indicator("open_backlog", "В работе на конец недели", "count", lambda t, b: b.open_backlog),
    Indicator("overdue_backlog", "Просрочено на конец недели", "count", lambda t, b: b.overdue_backlog),
    Indicator("average_rating", "Средняя оценка ответа (1–5)", "number", lambda t, b: t.average_rating),
)
REWORK = (
    Indicator("repeat_share", "Доля повторных обращений", "share", lambda t, b: t.repeat_share),
    Indicator("returned_share", "Доля возвращённых на доработку", "share", lambda t, b: t.returned_share),
    Indicator("reopened_share", "Доля переоткрытых", "share", lambda t, b: t.reopened_share),
    Indicator("repeat_appeals", "Повторных обращений", "count", lambda t, b: t["repeat_appeals"]),
    Indicator("returned_appeals", "Возвращено на доработку", "count", lambda t, b: t["returned_appeals"]),
    Indicator("reopened_appeals", "Переоткрыто", "count", lambda t, b: t["reopened_appeals"]),
)
TRENDS = (
    ("appeals_received", "Поступило обращений", False, True),
    ("first_answer_share", "Первый ответ в срок", True, False),
    ("overdue_backlog", "Просрочено на конец недели", False, True),
    ("repeat_share", "Доля повторных обращений", True, False),
)
INDICATORS = {i.key: i for i in (*HEADLINE, *REWORK)}


def _img(svg: str | None) -> str | None:
    return None if svg is None else "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _comparison(indicators: tuple[Indicator, ...], data: ReportData) -> list[tuple[str, str, str, str]]:
    """(label, this week, the week before, change) as the reader sees them."""
    rows = []
    for i in indicators:
        now, before = i.get(data.week, data.backlog), i.get(data.previous, data.previous_backlog)
        rows.append((i.label, fmt.value(i.kind, now), fmt.value(i.kind, before), fmt.change(i.kind, now, before)))
    return rows


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters.update(count=fmt.count, share=fmt.share, number=fmt.number, day=fmt.day, long_day=fmt.long_day)
    return env


def html(data: ReportData, gate: Gate, tz: ZoneInfo, generated_at: str) -> str:
    weeks = [w for w, _, _ in data.trend]
    trend_values = {key: [INDICATORS[key].get(t, b) for _, t, b in data.trend] for key, *_ in TRENDS}
    classes = [(SLA_CLASS_LABELS.get(c, c), t) for c, t in data.by_sla_class]
    context = {
        "d": data,
        "gate": gate,
        "kind_label": RECIPIENT_KIND_LABELS[data.recipient.kind],
        "updated": fmt.moment(data.data_updated_at, tz),
        "latest_appeal": fmt.moment(data.latest_appeal_at, tz),
        "generated_at": generated_at,
        "headline": _comparison(HEADLINE, data),
        "rework": _comparison(REWORK, data),
        "classes": classes,
        "sla_chart": _img(
            charts.sla_bars(
                [c for c, _ in classes],
                [t.first_answer_share for _, t in classes],
                [t.resolution_share for _, t in classes],
            )
        )
        if classes
        else None,
        "oldest": [
            {
                **item,
                "source": SOURCE_LABELS.get(item["source"], item["source"]),
                "breach_kind": BREACH_LABELS.get(item["breach_kind"], item["breach_kind"]),
                "created": fmt.moment(item["created_at"].replace(tzinfo=ZoneInfo("UTC")), tz),
                "due": fmt.moment(item["due_at"].replace(tzinfo=ZoneInfo("UTC")), tz),
            }
            for item in data.overdue_items[:OLDEST_ITEMS]
        ],
        "overdue_total": len(data.overdue_items),
        "sectors": data.backlog_by_sector[:8],
        "map": _img(charts.h3_map(data.heatmap)),
        "trends": [
            _img(charts.trend(weeks, trend_values[key], title, percent=percent, bars=bars))
            for key, title, percent, bars in TRENDS
        ],
        "fmt": fmt,
    }
    return _environment().get_template("weekly_report.html.j2").render(**context)


def pdf(data: ReportData, gate: Gate, tz: ZoneInfo, generated_at: str) -> bytes:
    return HTML(string=html(data, gate, tz, generated_at), base_url=str(TEMPLATES)).write_pdf()


def xlsx(data: ReportData, gate: Gate, tz: ZoneInfo, generated_at: str) -> bytes:
    """The same figures as raw numbers (shares as fractions formatted as percent), one sheet per section."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "default_date_format": "dd.mm.yyyy", "remove_timezone": True}
    )
    book.set_properties({"title": f"Еженедельный отчёт: {data.recipient_name}", "author": "ЦУР", "created": None})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": "#dde6f0", "text_wrap": True, "valign": "top"})
    percent = book.add_format({"num_format": "0.0%"})
    decimal = book.add_format({"num_format": "0.0"})
    moment = book.add_format({"num_format": "dd.mm.yyyy hh:mm"})
    formats = {"share": percent, "number": decimal, "count": None}

    def table(sheet_name: str, header: list[str], rows: list[list], widths: list[int], cell_formats: list) -> None:
        """`cell_formats`: one format per column, or (a list of lists) one list per row."""
        sheet = book.add_worksheet(sheet_name)
        sheet.write_row(0, 0, header, head)
        for r, row in enumerate(rows, start=1):
            row_formats = cell_formats[r - 1] if cell_formats and isinstance(cell_formats[0], list) else cell_formats
            for c, cell in enumerate(row):
                f = row_formats[c]
                if cell is None:
                    sheet.write_blank(r, c, None, f)
                else:
                    sheet.write(r, c, cell, f)
        for c, width in enumerate(widths):
            sheet.set_column(c, c, width)
        sheet.freeze_panes(1, 0)

    about = book.add_worksheet("Отчёт")
    rows = [
        ("Получатель", data.recipient_name),
        ("Вид получателя", RECIPIENT_KIND_LABELS[data.recipient.kind]),
        ("Код получателя", data.recipient.code),
        ("Начало недели", data.week_start),
        ("Конец недели", data.week_end),
        ("Данные обновлены", fmt.moment(data.data_updated_at, tz)),
        ("Последнее обращение в данных", fmt.moment(data.latest_appeal_at, tz)),
        ("Проверка качества данных", gate.label),
        ("Отчёт сформирован", generated_at),
    ]
    about.write(0, 0, "Еженедельный отчёт ЦУР о работе с обращениями граждан", bold)
    for r, (label, value) in enumerate(rows, start=2):
        about.write(r, 0, label, bold)
        about.write(r, 1, value)
    about.set_column(0, 0, 32)
    about.set_column(1, 1, 70)

    both = (*HEADLINE, *REWORK)
    table(
        "Показатели",
        ["Код", "Показатель", "Неделя", "Предыдущая неделя"],
        [[i.key, i.label, i.get(data.week, data.backlog), i.get(data.previous, data.previous_backlog)] for i in both],
        [22, 46, 14, 18],
        [[None, None, formats[i.kind], formats[i.kind]] for i in both],
    )
    table(
        "SLA по классам",
        [
            "Класс SLA (код)",
            "Класс SLA",
            "Первый ответ: срок наступил",
            "в срок",
            "просрочен",
            "доля в срок",
            "Решение: срок наступил",
            "в срок",
            "просрочено",
            "доля в срок",
            "Первый ответ: медиана, мин",
            "90-й перцентиль, мин",
        ],
        [
            [
                c,
                SLA_CLASS_LABELS.get(c, c),
                t["first_answer_due"],
                t["first_answer_met"],
                t["first_answer_missed"],
                t.first_answer_share,
                t["resolution_due"],
                t["resolution_met"],
                t["resolution_missed"],
                t.resolution_share,
                t.first_answer_median,
                t.first_answer_p90,
            ]
            for c, t in data.by_sla_class
        ],
        [16, 26, 14, 10, 10, 12, 14, 10, 10, 12, 14, 14],
        [None, None, None, None, None, percent, None, None, None, percent, decimal, decimal],
    )
    table(
        "Просрочка по секторам",
        ["Сектор", "В работе на конец недели", "Просрочено", "Наибольшая просрочка, ч"],
        [
            [
                s["sector_name_ru"],
                s["open_backlog"],
                s["overdue_backlog"],
                s["overdue_age_hours_max"] if s["overdue_backlog"] else None,
            ]
            for s in data.backlog_by_sector
        ],
        [34, 16, 14, 18],
        [None, None, None, decimal],
    )
    table(
        "Просроченные обращения",
        [
            "Канал",
            "Номер в канале",
            "Что просрочено",
            "Сектор",
            "Муниципальное образование",
            "Ответственный орган",
            "Исполнитель",
            "Поступило (UTC)",
            "Срок (UTC)",
            "Возраст, ч",
            "Просрочка, ч",
        ],
        [
            [
                SOURCE_LABELS.get(i["source"], i["source"]),
                i["source_id"],
                BREACH_LABELS.get(i["breach_kind"], i["breach_kind"]),
                i["sector_name_ru"],
                i["municipality_name_ru"],
                i["ministry_name_ru"],
                i["executor"],
                i["created_at"],
                i["due_at"],
                i["age_hours"],
                i["overdue_hours"],
            ]
            for i in data.overdue_items
        ],
        [16, 18, 14, 24, 24, 40, 24, 17, 17, 12, 12],
        [None] * 7 + [moment, moment, decimal, decimal],
    )
    table(
        "Точки напряжённости",
        [
            "Место",
            "Муниципальное образование",
            "Сектор",
            "Обращений",
            "Обычный уровень",
            "Рост",
            "Индекс напряжённости",
            "Индекс неделей ранее",
            "Изменение индекса",
        ],
        [
            [
                t["tension_rank"],
                t["municipality_name_ru"],
                t["sector_name_ru"],
                t["appeals"],
                t["baseline_appeals"],
                t["growth"],
                t["tension_index"],
                t["tension_index_prev_week"],
                t["tension_change"],
            ]
            for t in data.tension
        ],
        [8, 26, 24, 12, 14, 10, 14, 14, 14],
        [None, None, None, None, decimal, percent, None, None, None],
    )
    table(
        "Динамика 12 недель",
        ["Начало недели", *(title for _, title, _, _ in TRENDS)],
        [[w, *(INDICATORS[key].get(t, b) for key, *_ in TRENDS)] for w, t, b in data.trend],
        [14, 18, 18, 18, 18],
        [None, None, percent, None, percent],
    )
    book.close()
    return buffer.getvalue()


def render(data: ReportData, gate: Gate, tz: ZoneInfo, generated_at: str) -> tuple[bytes, bytes]:
    return pdf(data, gate, tz, generated_at), xlsx(data, gate, tz, generated_at)


def file_stem(week_start: date, recipient_key: str) -> str:
    return f"{week_start.isoformat()}/{recipient_key}"
