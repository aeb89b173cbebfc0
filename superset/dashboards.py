"""The dashboards as code: datasets, charts and dashboards, written out as Superset's export YAML.

Superset imports its own export format (superset/import_assets.py), and that format repeats
itself a lot: every chart carries its form data twice (params and the query context the chart
data API runs), every dashboard its layout tree. Writing ~30 charts by hand would define each
metric, label and filter many times over, so this module defines them once and renders the YAML
into superset/assets/; the rendered files are committed (they are what is imported and reviewed),
and a unit test checks that they are what this module renders:
    python superset/dashboards.py          # rewrite superset/assets/{datasets,charts,dashboards}
    python superset/dashboards.py --check  # exit 1 when a file differs

UUIDs are derived from each object's key (uuid5), so a re-render keeps every id, and a re-import
updates the same objects in place. Ratios are metrics over summed numerators and denominators,
never averages of shares; percentiles merge the marts' quantile states.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
DATABASE_UUID = "62f82660-9dbe-4872-983c-e1ecb52d852b"
NAMESPACE = uuid.UUID("1b0c8e0e-6f1e-4a4c-9a55-2f3c0a6b1d10")
# The period filter's default, and the range of the charts that look back further than it.
DEFAULT_PERIOD = "Last 4 weeks"
# Whole weeks only: the current week is still filling up, so "this week vs last" compares the last
# complete week with the one before it.
TWELVE_WEEKS = 'DATEADD(DATETRUNC(DATETIME("today"), week), -12, week) : DATETRUNC(DATETIME("today"), week)'
INT = ",d"
PCT = ",.1f"
DEC = ",.1f"
# The latest day of a snapshot table: the backlog is a state, not a flow.
LATEST_BACKLOG = "snapshot_date = (SELECT max(snapshot_date) FROM backlog_daily)"
# A calculated column of tension_weekly (ad hoc filters may not hold subqueries, dataset columns may).
LATEST_WEEK = "week_start = (SELECT max(week_start) FROM tension_weekly)"


def uid(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    expression: str
    description: str
    d3format: str = INT


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str = "String"
    description: str = ""
    expression: str | None = None

    @property
    def is_dttm(self) -> bool:
        return self.type in ("Date", "DateTime", "DateTime64(3, 'UTC')")


@dataclass(frozen=True)
class Dataset:
    table: str
    dttm: str
    description: str
    columns: tuple[Column, ...]
    metrics: tuple[Metric, ...] = ()
    # Which column a ministry's row-level security filter reads (superset/roles.py).
    ministry_column: str | None = "ministry_code"
    # `analytics` (dbt's marts) or `cur` (definer views meant for BI); import_assets.py maps both
    # to the databases of the settings.
    schema: str = "analytics"

    @property
    def uuid(self) -> str:
        return uid("dataset", self.table)


def _pct(numerator: str, denominator: str) -> str:
    return f"round(100 * sum({numerator}) / nullIf(sum({denominator}), 0), 1)"


# --- columns ------------------------------------------------------------------------------------
SECTOR = Column("sector", "Код сферы", "LowCardinality(String)")
SECTOR_RU = Column("sector_name_ru", "Сфера")
SUBCATEGORY_RU = Column("subcategory_name_ru", "Подкатегория")
SLA_CLASS = Column("sla_class", "Класс срока", "LowCardinality(String)")
MUNICIPALITY = Column("municipality_code", "Код ОКТМО", "LowCardinality(String)")
MUNICIPALITY_RU = Column("municipality_name_ru", "Муниципалитет")
MINISTRY = Column("ministry_code", "Код ведомства", "LowCardinality(String)")
MINISTRY_RU = Column("ministry_name_ru", "Министерство / ведомство")
# The names without the region ("… Калужской области"), for axes and tables where space is short.
MINISTRY_SHORT = Column(
    "ministry_short_ru", "Ведомство", expression=r"replaceRegexpOne(ministry_name_ru, '\\s+\\S+ой области$', '')"
)
EXECUTOR = Column("executor", "Исполнитель", description="Пусто — исполнитель не назначен.")
SOURCE = Column("source", "Канал", "LowCardinality(String)", "pos, 112, safe_city, housing")
DIMENSIONS = (SECTOR, SECTOR_RU, SUBCATEGORY_RU, SLA_CLASS, MUNICIPALITY, MUNICIPALITY_RU, MINISTRY, MINISTRY_RU)
DIMENSIONS += (MINISTRY_SHORT,)
DIMENSIONS += (EXECUTOR, SOURCE)

# --- metrics of the KPI marts (kpi_daily, kpi_weekly: the same additive measures) ---------------
KPI_METRICS = (
    Metric("appeals", "Обращений", "sum(appeals_received)", "Обращений, созданных за период."),
    Metric("signals", "Сигналов «Безопасного города»", "sum(signals_received)", "Сигналы видеоаналитики."),
    Metric("problems", "Новых проблем", "sum(problems_new)", "Проблемы (связанные обращения), начавшиеся в период."),
    Metric(
        "first_answer_pct",
        "Первый ответ в срок, %",
        _pct("first_answer_met", "first_answer_due"),
        "Первый ответ в срок ÷ обращений со сроком первого ответа × 100 (суммы за весь срез).",
        PCT,
    ),
    Metric(
        "resolution_pct",
        "Решено в срок, %",
        _pct("resolution_met", "resolution_due"),
        "Решено в срок ÷ обращений со сроком решения × 100 (суммы за весь срез).",
        PCT,
    ),
    Metric("first_answer_missed", "Первый ответ просрочен", "sum(first_answer_missed)", "Срок первого ответа нарушен."),
    Metric("resolution_missed", "Решение просрочено", "sum(resolution_missed)", "Срок решения нарушен."),
    Metric("repeats", "Повторных", "sum(repeat_appeals)", "Повторные обращения по уже решённой проблеме."),
    Metric(
        "repeat_pct",
        "Повторных, %",
        _pct("repeat_appeals", "appeals_received"),
        "Повторные ÷ все обращения × 100.",
        PCT,
    ),
    Metric("returned", "Возвращено на доработку", "sum(returned_appeals)", "Ответ признан неполным, возвращено."),
    Metric(
        "returned_pct",
        "На доработку, %",
        _pct("returned_appeals", "appeals_received"),
        "Возвращённые на доработку ÷ все обращения × 100.",
        PCT,
    ),
    Metric("reopened", "Открыто повторно", "sum(reopened_appeals)", "Закрытые обращения, открытые снова."),
    Metric(
        "avg_rating",
        "Средняя оценка",
        "round(sum(rating_sum) / nullIf(sum(rated_appeals), 0), 2)",
        "Сумма оценок ÷ число оценённых обращений.",
        ",.2f",
    ),
    Metric(
        "first_answer_median_min",
        "Медиана первого ответа, мин",
        "round(quantilesExactMerge(0.5, 0.9)(first_answer_minutes_q)[1], 1)",
        "Медиана времени до первого ответа (из состояний квантилей витрины).",
        DEC,
    ),
    Metric(
        "first_answer_p90_min",
        "90-й перцентиль первого ответа, мин",
        "round(quantilesExactMerge(0.5, 0.9)(first_answer_minutes_q)[2], 1)",
        "90 % обращений получили первый ответ быстрее.",
        DEC,
    ),
    Metric(
        "resolution_median_h",
        "Медиана решения, ч",
        "round(quantilesExactMerge(0.5, 0.9)(resolution_hours_q)[1], 1)",
        "Медиана времени до решения.",
        DEC,
    ),
)
_KPI_NOTE = "Аддитивные меры и состояния квантилей; доли — только из сумм числителей и знаменателей."
KPI_DAILY = Dataset(
    "kpi_daily",
    "report_date",
    f"Витрина KPI по дням создания обращения (местное время региона). {_KPI_NOTE}",
    (Column("report_date", "День", "Date"), *DIMENSIONS),
    KPI_METRICS,
)
KPI_WEEKLY = Dataset(
    "kpi_weekly",
    "period_start",
    f"Витрина KPI по неделям (понедельник). {_KPI_NOTE}",
    (Column("period_start", "Неделя", "Date"), *DIMENSIONS),
    KPI_METRICS,
)
BACKLOG = Dataset(
    "backlog_daily",
    "snapshot_date",
    "Обращения в работе и просроченные на конец каждого дня; неделя — снимок воскресенья.",
    (Column("snapshot_date", "Дата снимка", "Date"), *DIMENSIONS),
    (
        Metric("open_backlog", "В работе", f"sumIf(open_backlog, {LATEST_BACKLOG})", "В работе на последний день."),
        Metric(
            "overdue_backlog",
            "Просрочено в работе",
            f"sumIf(overdue_backlog, {LATEST_BACKLOG})",
            "Незакрытые с истёкшим сроком на последний день.",
        ),
        Metric(
            "overdue_age_avg_h",
            "Средний возраст просрочки, ч",
            f"round(sumIf(overdue_age_hours_sum, {LATEST_BACKLOG})"
            f" / nullIf(sumIf(overdue_backlog, {LATEST_BACKLOG}), 0), 1)",
            "Сумма часов просрочки ÷ число просроченных, на последний день.",
            DEC,
        ),
        Metric(
            "overdue_age_max_h",
            "Наибольшая просрочка, ч",
            f"round(maxIf(overdue_age_hours_max, {LATEST_BACKLOG}), 1)",
            "Самое давнее просроченное обращение, на последний день.",
            DEC,
        ),
        Metric(
            "overdue_backlog_sunday",
            "Просрочено в работе (на воскресенье)",
            "sumIf(overdue_backlog, toDayOfWeek(snapshot_date) = 7)",
            "Снимок конца недели: для недельной динамики.",
        ),
    ),
)
TENSION = Dataset(
    "tension_weekly",
    "week_start",
    "Индекс напряжённости по муниципалитетам и сферам за неделю, с динамикой к прошлой неделе.",
    (
        Column("week_start", "Неделя", "Date"),
        SECTOR,
        SECTOR_RU,
        MUNICIPALITY,
        MUNICIPALITY_RU,
        MINISTRY,
        Column("appeals", "Обращений", "UInt64"),
        Column("baseline_appeals", "Базовый уровень", "Float64"),
        Column("growth", "Рост к базе", "Float64"),
        Column("tension_index", "Индекс напряжённости", "Float64"),
        Column("tension_index_prev_week", "Индекс неделей ранее", "Float64"),
        Column("tension_change", "Изменение индекса", "Float64"),
        Column("tension_rank", "Место", "UInt32"),
        Column("is_ranked", "В рейтинге", "Bool"),
        Column("is_latest_week", "Последняя неделя", "Bool", "Неделя — последняя в витрине.", LATEST_WEEK),
    ),
    (
        Metric("tension_appeals", "Обращений", "sum(appeals)", "Обращений за неделю."),
        Metric(
            "tension_max",
            "Наибольший индекс напряжённости",
            "round(max(tension_index), 2)",
            "Наибольший индекс среди сфер и территорий среза.",
            ",.2f",
        ),
        Metric(
            "tension_change_max",
            "Изменение к прошлой неделе",
            "round(max(tension_index) - max(tension_index_prev_week), 2)",
            "Наибольший индекс среза минус наибольший индекс неделей ранее.",
            "+,.2f",
        ),
    ),
)
HEATMAP = Dataset(
    "heatmap_weekly",
    "week_start",
    "Обращения и напряжённость по ячейкам H3 (разрешение 8) за неделю: для карты без подложки.",
    (
        Column("week_start", "Неделя", "Date"),
        Column("h3_cell", "Ячейка H3"),
        SECTOR,
        SECTOR_RU,
        MUNICIPALITY,
        MUNICIPALITY_RU,
        Column("cell_lat", "Широта центра", "Float64"),
        Column("cell_lon", "Долгота центра", "Float64"),
        Column("cell_boundary", "Граница ячейки (GeoJSON)"),
        Column("appeals", "Обращений", "UInt64"),
        Column("problems", "Проблем", "UInt64"),
        Column("overdue", "Просрочено", "UInt64"),
        Column("tension_index", "Индекс напряжённости", "Float64"),
    ),
    (
        Metric("cell_appeals", "Обращений", "sum(appeals)", "Обращений в ячейке."),
        Metric("cell_overdue", "Просрочено", "sum(overdue)", "Просроченных в ячейке."),
        Metric(
            "cell_tension",
            "Индекс напряжённости",
            "round(max(tension_index), 2)",
            "Индекс муниципалитета × сферы, к которым относится ячейка (наибольший по выбранным сферам).",
            ",.2f",
        ),
    ),
    ministry_column=None,
)
MUNICIPALITY_MAP = Dataset(
    "municipality_map_weekly",
    "week_start",
    "Индекс напряжённости и обращения по муниципалитетам и сферам за неделю, с границей муниципалитета"
    " (GeoJSON): для картограммы без подложки.",
    (
        Column("week_start", "Неделя", "Date"),
        MUNICIPALITY,
        MUNICIPALITY_RU,
        SECTOR,
        SECTOR_RU,
        MINISTRY,
        Column("appeals", "Обращений", "UInt64"),
        Column("tension_index", "Индекс напряжённости", "Float64"),
        Column("tension_index_prev_week", "Индекс неделей ранее", "Float64"),
        Column("municipality_boundary", "Граница муниципалитета (GeoJSON)"),
    ),
    (
        Metric("municipality_appeals", "Обращений", "sum(appeals)", "Обращений в муниципалитете за период."),
        Metric(
            "municipality_tension",
            "Индекс напряжённости",
            "round(max(tension_index), 2)",
            "Наибольший индекс среди сфер и недель среза в муниципалитете.",
            ",.2f",
        ),
    ),
)
BREACHES = Dataset(
    "sla_breaches",
    "created_at",
    "Обращения с нарушенным сроком первого ответа или решения.",
    (
        Column("appeal_id", "Обращение", "UUID"),
        SOURCE,
        Column("source_id", "Номер в источнике"),
        MINISTRY,
        MINISTRY_RU,
        MUNICIPALITY,
        MUNICIPALITY_RU,
        SECTOR,
        SECTOR_RU,
        EXECUTOR,
        Column("created_at", "Создано", "DateTime64(3, 'UTC')"),
        Column("due_at", "Срок", "DateTime64(3, 'UTC')"),
        Column("breach_kind", "Нарушение", description="first_answer — первый ответ, resolution — решение"),
        Column(
            "breach_kind_ru",
            "Нарушен срок",
            expression="if(breach_kind = 'first_answer', 'первого ответа', 'решения')",
        ),
        Column("age_hours", "Возраст, ч", "Float64"),
        Column("is_open", "Не закрыто", "Bool"),
    ),
    (
        Metric("breaches", "Нарушений", "count()", "Нарушенных сроков (обращение может нарушить оба)."),
        Metric("breach_age_h", "Возраст, ч", "round(max(age_hours), 1)", "Часов с создания обращения.", DEC),
    ),
)
# Auditors' data: views of the canonical database meant for BI (migration 0013), no raw payloads.
REJECTED = Dataset(
    "bi_rejected_summary",
    "rejected_date",
    "Отклонённые записи потоков по дням, потоку и причине (без исходных данных).",
    (
        Column("rejected_date", "День", "Date"),
        Column("feed", "Поток", "LowCardinality(String)"),
        Column("reason", "Причина"),
        Column("rejected", "Отклонено", "UInt64"),
        Column("open", "Не переиграно", "UInt64"),
    ),
    (
        Metric("rejected_total", "Отклонено", "sum(rejected)", "Отклонённых записей."),
        Metric("rejected_open", "Не переиграно", "sum(open)", "Ещё не отправлены повторно."),
    ),
    ministry_column=None,
    schema="cur",
)
FRESHNESS = Dataset(
    "bi_layer_freshness",
    "updated_at",
    "Когда обновлялся каждый слой данных (последняя запись или последняя сборка).",
    (
        Column("layer", "Слой"),
        Column("layer_order", "Порядок", "UInt8"),
        Column("updated_at", "Обновлено", "DateTime64(3, 'UTC')"),
        Column("rows", "Строк", "UInt64"),
    ),
    ministry_column=None,
    schema="cur",
)
CHECKS = Dataset(
    "bi_dq_latest",
    "run_at",
    "Последний результат каждой проверки Great Expectations (чекпойнт по слоям данных).",
    (
        Column("run_at", "Проверено", "DateTime64(3, 'UTC')"),
        Column("checkpoint", "Чекпойнт", "LowCardinality(String)"),
        Column("suite", "Набор проверок", "LowCardinality(String)"),
        Column("layer", "Слой", "LowCardinality(String)"),
        Column("expectation_type", "Проверка", "LowCardinality(String)"),
        Column("column_name", "Поле"),
        Column("severity", "Важность", "LowCardinality(String)", "critical — блокирует публикацию, warning — нет"),
        Column("success", "Пройдена", "Bool"),
        Column("unexpected_count", "Нарушений", "UInt64"),
        Column("unexpected_percent", "Нарушений, %", "Float64"),
        Column("exception_message", "Ошибка проверки"),
    ),
    (
        Metric("checks", "Проверок", "count()", "Проверок в последнем прогоне."),
        Metric("checks_failed", "Не пройдено", "countIf(NOT success)", "Проверок с нарушениями."),
        Metric(
            "checks_failed_critical",
            "Не пройдено критических",
            "countIf(NOT success AND severity = 'critical')",
            "Критические проверки блокируют публикацию дня.",
        ),
        Metric(
            "checks_passed_pct",
            "Пройдено, %",
            "round(100 * countIf(success) / nullIf(count(), 0), 1)",
            "Пройденные ÷ все проверки × 100.",
            PCT,
        ),
    ),
    ministry_column=None,
    schema="cur",
)
RECONCILIATION = Dataset(
    "bi_reconciliation_latest",
    "export_day",
    "Последняя сверка каждого потока за день выгрузки: отправлено = принято + отклонено + отфильтровано.",
    (
        Column("export_day", "День выгрузки", "Date"),
        Column("feed", "Поток", "LowCardinality(String)"),
        Column("checked_at", "Сверено", "DateTime64(3, 'UTC')"),
        Column("has_control_total", "Есть контрольная сумма", "Bool"),
        Column("sent", "Отправлено", "UInt32"),
        Column("received", "Получено", "UInt32"),
        Column("landed", "Принято", "UInt32"),
        Column("rejected", "Отклонено", "UInt32"),
        Column("filtered", "Отфильтровано", "UInt32"),
        Column("difference", "Расхождение", "Int64"),
        Column("ok", "Сходится", "Bool"),
    ),
    (
        Metric("reconciliations", "Сверок", "count()", "Сверок потока за день."),
        Metric("reconciliations_failed", "С расхождением", "countIf(NOT ok)", "Сверок, где суммы не сошлись."),
        Metric("sent_total", "Отправлено", "sum(sent)", "Записей по контрольным суммам источников."),
        Metric("landed_total", "Принято", "sum(landed)", "Записей, ставших обращениями или событиями."),
    ),
    ministry_column=None,
    schema="cur",
)
DATASETS = (KPI_DAILY, KPI_WEEKLY, BACKLOG, TENSION, HEATMAP, MUNICIPALITY_MAP, BREACHES)
DATASETS += (REJECTED, FRESHNESS, CHECKS, RECONCILIATION)
# What a ministry's role may read: its own rows of these (row-level security, superset/roles.py).
MINISTRY_DATASETS = (KPI_DAILY, KPI_WEEKLY, BACKLOG, TENSION, HEATMAP, MUNICIPALITY_MAP, BREACHES)
QUALITY_DATASETS = (REJECTED, FRESHNESS, CHECKS, RECONCILIATION)


# --- charts -------------------------------------------------------------------------------------
@dataclass
class Chart:
    key: str
    title: str
    dataset: Dataset
    viz: str
    params: dict[str, Any]
    description: str = ""
    # The query of the chart data API (None for deck.gl, which the front end asks through the
    # legacy explore_json endpoint from the params alone).
    query: dict[str, Any] | None = None
    time_range: str = "No filter"
    # Charts that keep their own time range rather than the dashboard's period filter.
    own_period: bool = False
    width: int = 4
    height: int = 50

    @property
    def uuid(self) -> str:
        return uid("chart", self.key)


def _metric_format(dataset: Dataset, name: str) -> str:
    return next(m.d3format for m in dataset.metrics if m.name == name)


def _filters(
    chart_dataset: Dataset, time_range: str, where: str = "", equals: dict[str, Any] | None = None
) -> tuple[list[dict], dict]:
    """The chart's ad hoc filters (params) and the same in its query: the period, SQL, column = value.

    `equals` may name calculated columns (their expression is the dataset's); `where` may not.
    """
    adhoc = [
        {
            "clause": "WHERE",
            "comparator": time_range,
            "expressionType": "SIMPLE",
            "operator": "TEMPORAL_RANGE",
            "subject": chart_dataset.dttm,
        }
    ]
    filters = [{"col": chart_dataset.dttm, "op": "TEMPORAL_RANGE", "val": time_range}]
    for column, value in (equals or {}).items():
        adhoc.append(
            {"clause": "WHERE", "comparator": value, "expressionType": "SIMPLE", "operator": "==", "subject": column}
        )
        filters.append({"col": column, "op": "==", "val": value})
    if where:
        adhoc.append({"clause": "WHERE", "expressionType": "SQL", "sqlExpression": where})
    query = {"filters": filters, "extras": {"having": "", "where": f"({where})" if where else ""}}
    return adhoc, query


def _query(base: dict, **fields: Any) -> dict:
    query = {**base, "applied_time_extras": {}, "annotation_layers": [], "series_limit": 0, "order_desc": True}
    query.update({"url_params": {}, "custom_params": {}, "custom_form_data": {}})
    query.update(fields)
    return query


def big_number(
    key: str, title: str, dataset: Dataset, metric: str, subtitle: str, *, where: str = "", **layout: Any
) -> Chart:
    """One figure for the period."""
    adhoc, base = _filters(dataset, "No filter", where)
    params = {
        "viz_type": "big_number_total",
        "metric": metric,
        "adhoc_filters": adhoc,
        "subtitle": subtitle,
        "header_font_size": 0.4,
        "subtitle_font_size": 0.15,
        "y_axis_format": _metric_format(dataset, metric),
        "time_format": "smart_date",
    }
    query = _query(base, columns=[], metrics=[metric])
    return Chart(key, title, dataset, "big_number_total", params, subtitle, query, **layout)


def week_on_week(key: str, title: str, metric: str, **layout: Any) -> Chart:
    """The last complete week's figure, its change against the week before, and a 12-week trend line."""
    adhoc, base = _filters(KPI_WEEKLY, TWELVE_WEEKS)
    params = {
        "viz_type": "big_number",
        "x_axis": "period_start",
        "time_grain_sqla": "P1W",
        "metric": metric,
        "adhoc_filters": adhoc,
        "compare_lag": 1,
        "compare_suffix": "к прошлой неделе",
        "show_timestamp": True,
        "show_trend_line": True,
        "start_y_axis_at_zero": True,
        "header_font_size": 0.4,
        "subheader_font_size": 0.15,
        "y_axis_format": _metric_format(KPI_WEEKLY, metric),
        "time_format": "%d.%m.%Y",
        "rolling_type": "None",
    }
    column = _axis("period_start", "P1W")
    query = _query(base, columns=[column], metrics=[metric], orderby=[], row_limit=100)
    query["post_processing"] = [
        {
            "operation": "pivot",
            "options": {
                "index": ["period_start"],
                "columns": [],
                "aggregates": {metric: {"operator": "mean"}},
                "drop_missing_columns": True,
            },
        },
        {"operation": "flatten"},
    ]
    description = "Последняя полная неделя и изменение к предыдущей; линия — 12 недель."
    return Chart(key, title, KPI_WEEKLY, "big_number", params, description, query, TWELVE_WEEKS, True, **layout)


def _axis(column: str, grain: str | None = None) -> dict:
    axis = {"columnType": "BASE_AXIS", "sqlExpression": column, "label": column, "expressionType": "SQL"}
    if grain:
        axis["timeGrain"] = grain
    else:
        axis["isColumnReference"] = True
    return axis


def bars(
    key: str,
    title: str,
    dataset: Dataset,
    category: str,
    metrics: list[str],
    *,
    sort_by: str | None = None,
    ascending: bool = False,
    where: str = "",
    limit: int = 50,
    axis_title: str = "",
    **layout: Any,
) -> Chart:
    """Horizontal bars of a few measures per category (sector, ministry, municipality)."""
    adhoc, base = _filters(dataset, "No filter", where)
    sort_by = sort_by or metrics[0]
    params = {
        "viz_type": "echarts_timeseries_bar",
        "x_axis": category,
        "x_axis_sort": sort_by,
        # Horizontal bars start at the bottom: sorting the other way puts the first at the top.
        "x_axis_sort_asc": not ascending,
        "metrics": metrics,
        "groupby": [],
        "adhoc_filters": adhoc,
        "order_desc": not ascending,
        "row_limit": limit,
        "orientation": "horizontal",
        "show_value": True,
        "show_legend": len(metrics) > 1,
        "legendType": "scroll",
        "legendOrientation": "top",
        "x_axis_title": axis_title,
        "y_axis_format": _metric_format(dataset, metrics[0]),
        "truncateXAxis": True,
        "rich_tooltip": True,
        "color_scheme": "supersetColors",
    }
    query = _query(base, columns=[_axis(category)], metrics=metrics, orderby=[[sort_by, ascending]], row_limit=limit)
    return Chart(key, title, dataset, "echarts_timeseries_bar", params, "", query, **layout)


def trend(
    key: str, title: str, dataset: Dataset, metrics: list[str], *, groupby: list[str] | None = None, **layout: Any
) -> Chart:
    """Weekly line over the last 12 complete weeks (its own range: the period filter does not narrow it)."""
    adhoc, base = _filters(dataset, TWELVE_WEEKS)
    groupby = groupby or []
    params = {
        "viz_type": "echarts_timeseries_line",
        "x_axis": dataset.dttm,
        "time_grain_sqla": "P1W",
        "metrics": metrics,
        "groupby": groupby,
        "adhoc_filters": adhoc,
        "row_limit": 10000,
        "series_limit": 10 if groupby else 0,
        "order_desc": True,
        "show_legend": True,
        "legendType": "scroll",
        "legendOrientation": "top",
        "rich_tooltip": True,
        "markerEnabled": True,
        "y_axis_format": _metric_format(dataset, metrics[0]),
        "x_axis_time_format": "%d.%m",
        "color_scheme": "supersetColors",
    }
    query = _query(
        base,
        columns=[_axis(dataset.dttm, "P1W"), *groupby],
        metrics=metrics,
        orderby=[[metrics[0], False]],
        row_limit=10000,
        series_columns=groupby,
    )
    description = "12 последних полных недель."
    viz = "echarts_timeseries_line"
    return Chart(key, title, dataset, viz, params, description, query, TWELVE_WEEKS, True, **layout)


def table(
    key: str,
    title: str,
    dataset: Dataset,
    groupby: list[str],
    metrics: list[str],
    *,
    sort_by: str | None = None,
    where: str = "",
    limit: int = 100,
    **layout: Any,
) -> Chart:
    """Measures per group, sorted by the first (or `sort_by`)."""
    adhoc, base = _filters(dataset, "No filter", where)
    sort_by = sort_by or metrics[0]
    params = {
        "viz_type": "table",
        "query_mode": "aggregate",
        "groupby": groupby,
        "metrics": metrics,
        "all_columns": [],
        "percent_metrics": [],
        "adhoc_filters": adhoc,
        "timeseries_limit_metric": sort_by,
        "order_desc": True,
        "row_limit": limit,
        "server_page_length": 10,
        "table_timestamp_format": "%d.%m.%Y",
        "show_cell_bars": True,
        "color_pn": True,
        "allow_rearrange_columns": False,
    }
    query = _query(base, columns=groupby, metrics=metrics, orderby=[[sort_by, False]], row_limit=limit)
    return Chart(key, title, dataset, "table", params, "", query, **layout)


def _column_formats(dataset: Dataset, names: list[str]) -> dict[str, dict[str, str]]:
    """Number formats of a raw table's float columns (a raw table has no metric to carry them)."""
    types = {c.name: c for c in dataset.columns}
    formats = {}
    for name in names:
        if types[name].type == "Float64":
            formats[name] = {"d3NumberFormat": "+,.2f" if "change" in name else ",.2f"}
    return formats


def records(
    key: str,
    title: str,
    dataset: Dataset,
    columns: list[str],
    order_by: list[tuple[str, bool]],
    *,
    where: str = "",
    equals: dict[str, Any] | None = None,
    limit: int = 500,
    time_range: str = "No filter",
    own_period: bool = False,
    timestamp_format: str = "%d.%m.%Y",
    **layout: Any,
) -> Chart:
    """Rows as they are (lists: SLA breaches, top tension points, the latest updates)."""
    adhoc, base = _filters(dataset, time_range, where, equals)
    shown = [_raw_column(dataset, name) for name in columns]
    params = {
        "viz_type": "table",
        "query_mode": "raw",
        "groupby": [],
        "metrics": [],
        "all_columns": shown,
        "order_by_cols": [json.dumps([column, ascending]) for column, ascending in order_by],
        "adhoc_filters": adhoc,
        "row_limit": limit,
        "server_page_length": 20,
        "table_timestamp_format": timestamp_format,
        "column_config": _column_formats(dataset, columns),
        "allow_rearrange_columns": False,
    }
    # No metrics at all (not an empty list): a raw query, without GROUP BY.
    query = _query(base, columns=shown, orderby=[list(o) for o in order_by], row_limit=limit)
    return Chart(key, title, dataset, "table", params, "", query, time_range, own_period, **layout)


def _raw_column(dataset: Dataset, name: str) -> str | dict[str, str]:
    """A column of a raw list: its name, or for a calculated column its expression as an ad hoc column
    labelled with the name (a raw query names a calculated column as such, which ClickHouse does not know)."""
    column = next(c for c in dataset.columns if c.name == name)
    if column.expression is None:
        return name
    return {"expressionType": "SQL", "sqlExpression": column.expression, "label": name}


def polygon_map(
    key: str,
    title: str,
    dataset: Dataset,
    outline: str,
    metric: str,
    scheme: str,
    tooltip: list[str],
    description: str,
    **layout: Any,
) -> Chart:
    """Polygons (GeoJSON in the column `outline`) coloured by `metric`, with no base map (the machine is offline)."""
    adhoc, _ = _filters(dataset, "No filter")
    params = {
        "viz_type": "deck_polygon",
        "adhoc_filters": adhoc,
        "line_column": outline,
        "line_type": "json",
        "metric": metric,
        "point_radius_fixed": {"type": "fix", "value": 0},
        "row_limit": 20000,
        "reverse_long_lat": False,
        "filled": True,
        "stroked": True,
        "extruded": False,
        "multiplier": 1,
        "line_width": 1,
        "line_width_unit": "pixels",
        "opacity": 80,
        "linear_color_scheme": scheme,
        "num_buckets": 7,
        "break_points": [],
        "legend_position": "tr",
        "legend_format": ",.2~f",
        "fill_color_picker": {"r": 3, "g": 65, "b": 73, "a": 1},
        "stroke_color_picker": {"r": 255, "g": 255, "b": 255, "a": 0.6},
        "autozoom": True,
        "viewport": {"latitude": 54.5, "longitude": 36.0, "zoom": 7.5, "bearing": 0, "pitch": 0},
        "mapbox_style": BLANK_MAP,
        "js_columns": [],
        "tooltip_contents": tooltip,
        "table_filter": False,
    }
    return Chart(key, title, dataset, "deck_polygon", params, description, None, **layout)


def cell_map(key: str, title: str, metric: str, scheme: str, **layout: Any) -> Chart:
    """H3 cells coloured by `metric`."""
    tooltip = ["municipality_name_ru", "h3_cell"]
    description = "Ячейки H3 разрешения 8; подложки нет."
    return polygon_map(key, title, HEATMAP, "cell_boundary", metric, scheme, tooltip, description, **layout)


def municipality_map(key: str, title: str, metric: str, scheme: str, **layout: Any) -> Chart:
    """A choropleth: each municipality's outline (cur/reference/municipalities.geojson) coloured by `metric`."""
    description = "Границы муниципалитетов — схема по центрам муниципалитетов, не юридические границы; подложки нет."
    return polygon_map(
        key,
        title,
        MUNICIPALITY_MAP,
        "municipality_boundary",
        metric,
        scheme,
        ["municipality_name_ru"],
        description,
        **layout,
    )


# deck.gl draws on a base map from a tile server; there is none offline, so the map style names
# the blank tile that Superset itself serves (superset_config.py: BLANK_TILE_PATH).
BLANK_MAP = "tile://http:/cur/blank-tile/{z}/{x}/{y}.png"


# --- dashboards ---------------------------------------------------------------------------------
@dataclass
class Filter:
    key: str
    name: str
    column: str | None = None  # None: the period
    dataset: Dataset | None = None
    multi: bool = True
    first_item: bool = False
    description: str = ""


@dataclass
class Dashboard:
    slug: str
    title: str
    rows: list[list[Chart]]
    filters: list[Filter]
    note: str = ""
    charts: list[Chart] = field(init=False)

    def __post_init__(self) -> None:
        self.charts = [chart for row in self.rows for chart in row]

    @property
    def uuid(self) -> str:
        return uid("dashboard", self.slug)


PERIOD = Filter("period", "Период", description="По умолчанию — 4 последние недели")


def _select(key: str, name: str, column: str, dataset: Dataset = KPI_DAILY, **options: Any) -> Filter:
    return Filter(key, name, column, dataset, **options)


def governor() -> Dashboard:
    d = KPI_DAILY
    return Dashboard(
        "governor",
        "Губернатор",
        [
            [
                week_on_week("gov_week_appeals", "Обращения за неделю", "appeals", width=3),
                week_on_week("gov_week_problems", "Новые проблемы за неделю", "problems", width=3),
                week_on_week("gov_week_first_answer", "Первый ответ в срок за неделю, %", "first_answer_pct", width=3),
                week_on_week("gov_week_resolution", "Решено в срок за неделю, %", "resolution_pct", width=3),
            ],
            [
                bars(
                    "gov_sla_sector",
                    "Соблюдение сроков по сферам",
                    d,
                    "sector_name_ru",
                    ["first_answer_pct", "resolution_pct"],
                    ascending=True,
                    width=6,
                    height=70,
                ),
                bars(
                    "gov_sla_ministry",
                    "Соблюдение сроков по министерствам",
                    d,
                    "ministry_short_ru",
                    ["first_answer_pct", "resolution_pct"],
                    ascending=True,
                    width=6,
                    height=70,
                ),
            ],
            [
                records(
                    "gov_tension_top",
                    "Точки напряжённости: топ-10 последней недели",
                    TENSION,
                    [
                        "tension_rank",
                        "municipality_name_ru",
                        "sector_name_ru",
                        "tension_index",
                        "tension_change",
                        "appeals",
                        "growth",
                    ],
                    [("tension_rank", True)],
                    equals={"is_ranked": True, "is_latest_week": True},
                    limit=10,
                    own_period=True,
                    width=6,
                    height=70,
                ),
                bars(
                    "gov_overdue_ministry",
                    "Просроченные в работе по министерствам",
                    BACKLOG,
                    "ministry_short_ru",
                    ["overdue_backlog"],
                    width=6,
                    height=70,
                    own_period=True,
                ),
            ],
            [
                trend(
                    "gov_trend",
                    "Обращения и проблемы: 12 недель",
                    KPI_WEEKLY,
                    ["appeals", "problems"],
                    width=6,
                    height=60,
                ),
                trend(
                    "gov_trend_sla",
                    "Соблюдение сроков: 12 недель",
                    KPI_WEEKLY,
                    ["first_answer_pct", "resolution_pct"],
                    width=6,
                    height=60,
                ),
            ],
        ],
        [
            PERIOD,
            _select("sector", "Сфера", "sector_name_ru"),
            _select("ministry", "Министерство", "ministry_name_ru"),
            _select("municipality", "Муниципалитет", "municipality_name_ru"),
        ],
    )


def heat_map() -> Dashboard:
    return Dashboard(
        "heatmap",
        "Тепловая карта",
        [
            [
                cell_map("map_tension", "Напряжённость по ячейкам H3", "cell_tension", "oranges", width=6, height=100),
                cell_map("map_volume", "Обращения по ячейкам H3", "cell_appeals", "blues", width=6, height=100),
            ],
            [
                municipality_map(
                    "map_municipality_tension",
                    "Напряжённость по муниципалитетам",
                    "municipality_tension",
                    "oranges",
                    width=6,
                    height=90,
                ),
                municipality_map(
                    "map_municipality_volume",
                    "Обращения по муниципалитетам",
                    "municipality_appeals",
                    "blues",
                    width=6,
                    height=90,
                ),
            ],
            [
                table(
                    "map_municipality",
                    "Напряжённость и объём по муниципалитетам",
                    TENSION,
                    ["municipality_name_ru"],
                    ["tension_appeals", "tension_max", "tension_change_max"],
                    sort_by="tension_max",
                    width=6,
                    height=70,
                ),
                trend(
                    "map_dynamics",
                    "Динамика напряжённости по неделям",
                    TENSION,
                    ["tension_max"],
                    groupby=["municipality_name_ru"],
                    width=6,
                    height=70,
                ),
            ],
            [
                records(
                    "map_changes",
                    "Изменение к прошлой неделе: территории и сферы",
                    TENSION,
                    [
                        "week_start",
                        "municipality_name_ru",
                        "sector_name_ru",
                        "tension_index",
                        "tension_index_prev_week",
                        "tension_change",
                        "appeals",
                    ],
                    [("tension_change", False)],
                    equals={"is_latest_week": True},
                    limit=50,
                    width=12,
                    height=70,
                ),
            ],
        ],
        [
            PERIOD,
            _select("sector", "Сфера", "sector_name_ru", HEATMAP),
            _select("municipality", "Муниципалитет", "municipality_name_ru", HEATMAP),
        ],
    )


def _cut(prefix: str, by: str, by_title: str) -> list[list[Chart]]:
    """The same KPIs for one ministry or one territory, by `by`."""
    d = KPI_DAILY
    return [
        [
            big_number(f"{prefix}_appeals", "Обращений", d, "appeals", "за период", width=2),
            big_number(f"{prefix}_first_answer", "Первый ответ в срок", d, "first_answer_pct", "% за период", width=2),
            big_number(f"{prefix}_resolution", "Решено в срок", d, "resolution_pct", "% за период", width=2),
            big_number(f"{prefix}_repeats", "Повторных", d, "repeat_pct", "% обращений", width=2),
            big_number(f"{prefix}_returned", "На доработку", d, "returned_pct", "% обращений", width=2),
            big_number(
                f"{prefix}_overdue",
                "Просрочено в работе",
                BACKLOG,
                "overdue_backlog",
                "сейчас",
                width=2,
                own_period=True,
            ),
        ],
        [
            table(
                f"{prefix}_by_{by}",
                f"KPI по {by_title}",
                d,
                [f"{by}"],
                [
                    "appeals",
                    "first_answer_pct",
                    "resolution_pct",
                    "first_answer_median_min",
                    "repeat_pct",
                    "returned_pct",
                    "avg_rating",
                ],
                width=6,
                height=80,
            ),
            table(
                f"{prefix}_by_executor",
                "KPI по исполнителям",
                d,
                ["executor"],
                [
                    "appeals",
                    "first_answer_pct",
                    "resolution_pct",
                    "first_answer_missed",
                    "resolution_missed",
                    "returned",
                    "reopened",
                ],
                width=6,
                height=80,
            ),
        ],
        [
            # A raw list (one row per appeal and breach kind), the oldest first: ClickHouse reads the
            # shown columns of the top 500 only; grouped by every shown column it hashed every breach
            # (2.6 s at p95 on 10 M appeals, bench/RESULTS.md).
            records(
                f"{prefix}_breaches",
                "Нарушения сроков",
                BREACHES,
                [
                    "appeal_id",
                    "source_id",
                    "breach_kind_ru",
                    "executor",
                    "municipality_name_ru",
                    "sector_name_ru",
                    "created_at",
                    "due_at",
                    "age_hours",
                ],
                [("age_hours", False)],
                limit=500,
                width=8,
                height=90,
            ),
            trend(
                f"{prefix}_rework",
                "Повторные и доработка: 12 недель",
                KPI_WEEKLY,
                ["repeats", "returned", "reopened"],
                width=4,
                height=90,
            ),
        ],
    ]


def ministry() -> Dashboard:
    return Dashboard(
        "ministry",
        "Министерство",
        _cut("min", "municipality_name_ru", "муниципалитетам"),
        [
            PERIOD,
            _select(
                "ministry",
                "Министерство",
                "ministry_name_ru",
                multi=False,
                description="Роль министерства видит только свои строки",
            ),
            _select("municipality", "Муниципалитет", "municipality_name_ru"),
            _select("executor", "Исполнитель", "executor"),
        ],
    )


def municipality() -> Dashboard:
    return Dashboard(
        "municipality",
        "Муниципалитет",
        _cut("mun", "ministry_short_ru", "министерствам"),
        [
            PERIOD,
            _select("municipality", "Муниципалитет", "municipality_name_ru", multi=False),
            _select("sector", "Сфера", "sector_name_ru"),
            _select("executor", "Исполнитель", "executor"),
        ],
    )


def quality() -> Dashboard:
    return Dashboard(
        "data-quality",
        "Качество данных",
        [
            [
                big_number(
                    "dq_checks_passed", "Проверки пройдены", CHECKS, "checks_passed_pct", "% последних", width=3
                ),
                big_number(
                    "dq_checks_critical", "Критических нарушений", CHECKS, "checks_failed_critical", "проверок", width=3
                ),
                big_number(
                    "dq_reconciliation_failed",
                    "Сверки с расхождением",
                    RECONCILIATION,
                    "reconciliations_failed",
                    "поток × день",
                    width=3,
                ),
                big_number(
                    "dq_rejected_open", "Отклонено и не переиграно", REJECTED, "rejected_open", "записей", width=3
                ),
            ],
            [
                table(
                    "dq_checks_by_layer",
                    "Последние результаты проверок по слоям",
                    CHECKS,
                    ["layer", "suite"],
                    ["checks", "checks_failed", "checks_failed_critical", "checks_passed_pct"],
                    sort_by="checks_failed",
                    width=6,
                    height=70,
                ),
                records(
                    "dq_freshness",
                    "Когда обновлялся каждый слой",
                    FRESHNESS,
                    ["layer", "updated_at", "rows"],
                    [("layer_order", True)],
                    own_period=True,
                    timestamp_format="%d.%m.%Y %H:%M",
                    width=6,
                    height=70,
                ),
            ],
            [
                records(
                    "dq_checks_failed",
                    "Не пройденные проверки",
                    CHECKS,
                    [
                        "severity",
                        "layer",
                        "suite",
                        "expectation_type",
                        "column_name",
                        "unexpected_count",
                        "unexpected_percent",
                        "exception_message",
                        "run_at",
                    ],
                    [("severity", True), ("unexpected_count", False)],
                    equals={"success": False},
                    timestamp_format="%d.%m.%Y %H:%M",
                    width=12,
                    height=70,
                ),
            ],
            [
                records(
                    "dq_reconciliation",
                    "Сверка потоков по дням выгрузки",
                    RECONCILIATION,
                    ["export_day", "feed", "sent", "received", "landed", "rejected", "filtered", "difference", "ok"],
                    [("export_day", False), ("feed", True)],
                    width=6,
                    height=80,
                ),
                table(
                    "dq_rejected_reason",
                    "Отклонённые записи по потокам и причинам",
                    REJECTED,
                    ["feed", "reason"],
                    ["rejected_total", "rejected_open"],
                    width=6,
                    height=80,
                ),
            ],
        ],
        [PERIOD, _select("feed", "Поток", "feed", REJECTED)],
    )


DASHBOARDS: tuple[Dashboard, ...] = (governor(), heat_map(), ministry(), municipality(), quality())


# --- rendering ----------------------------------------------------------------------------------
def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def dataset_yaml(dataset: Dataset) -> dict[str, Any]:
    return {
        "table_name": dataset.table,
        "main_dttm_col": dataset.dttm,
        "description": dataset.description,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "catalog": None,
        "schema": dataset.schema,
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": dataset.uuid,
        "metrics": [
            {
                "metric_name": m.name,
                "verbose_name": m.label,
                "metric_type": None,
                "expression": m.expression,
                "description": m.description,
                "d3format": m.d3format,
                "currency": None,
                "extra": {},
                "warning_text": None,
            }
            for m in dataset.metrics
        ],
        "columns": [
            {
                "column_name": c.name,
                "verbose_name": c.label,
                "is_dttm": c.is_dttm,
                "is_active": True,
                "type": c.type,
                "advanced_data_type": None,
                "groupby": True,
                "filterable": True,
                "expression": c.expression,
                "description": c.description or None,
                "python_date_format": None,
                "extra": {},
            }
            for c in dataset.columns
        ],
        "version": "1.0.0",
        "database_uuid": DATABASE_UUID,
    }


def chart_yaml(chart: Chart) -> dict[str, Any]:
    params = {"datasource": "1__table", **chart.params, "extra_form_data": {}, "dashboards": []}
    query_context = None
    if chart.query is not None:
        query_context = json.dumps(
            {
                "datasource": {"id": 1, "type": "table"},
                "force": False,
                "queries": [chart.query],
                "form_data": params,
                "result_format": "json",
                "result_type": "full",
            },
            ensure_ascii=False,
        )
    return {
        "slice_name": chart.title,
        "description": chart.description or None,
        "certified_by": None,
        "certification_details": None,
        "viz_type": chart.viz,
        "params": params,
        "query_context": query_context,
        "cache_timeout": None,
        "uuid": chart.uuid,
        "version": "1.0.0",
        "dataset_uuid": chart.dataset.uuid,
    }


def _native_filter(dashboard: Dashboard, f: Filter) -> dict[str, Any]:
    scope_excluded: list[int] = []
    native = {
        "id": f"NATIVE_FILTER-{f.key}",
        "name": f.name,
        "type": "NATIVE_FILTER",
        "cascadeParentIds": [],
        "description": f.description,
    }
    if f.column is None:
        native.update(
            {
                "filterType": "filter_time",
                "targets": [{}],
                "controlValues": {"enableEmptyFilter": False},
                "defaultDataMask": {
                    "extraFormData": {"time_range": DEFAULT_PERIOD},
                    "filterState": {"value": DEFAULT_PERIOD},
                    "ownState": {},
                },
            }
        )
        # Excluded by their layout id's number; the importer keeps these (chart ids are remapped
        # through chartsInScope, which Superset computes from the scope at load time).
        excluded = [c.key for c in dashboard.charts if c.own_period]
        native["scope"] = {"rootPath": ["ROOT_ID"], "excluded": scope_excluded}
        native["_excluded_keys"] = excluded
    else:
        assert f.dataset is not None
        native.update(
            {
                "filterType": "filter_select",
                "targets": [{"column": {"name": f.column}, "datasetUuid": f.dataset.uuid}],
                "controlValues": {
                    "enableEmptyFilter": False,
                    "defaultToFirstItem": f.first_item,
                    "multiSelect": f.multi,
                    "searchAllOptions": False,
                    "inverseSelection": False,
                },
                "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
                "scope": {"rootPath": ["ROOT_ID"], "excluded": scope_excluded},
            }
        )
    return native


def dashboard_yaml(dashboard: Dashboard) -> dict[str, Any]:
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"children": ["GRID_ID"], "id": "ROOT_ID", "type": "ROOT"},
        "GRID_ID": {"children": [], "id": "GRID_ID", "parents": ["ROOT_ID"], "type": "GRID"},
        "HEADER_ID": {"id": "HEADER_ID", "meta": {"text": dashboard.title}, "type": "HEADER"},
    }
    chart_ids: dict[str, int] = {}
    for number, row in enumerate(dashboard.rows, start=1):
        row_id = f"ROW-{number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "children": [],
            "id": row_id,
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
            "parents": ["ROOT_ID", "GRID_ID"],
            "type": "ROW",
        }
        for chart in row:
            chart_ids[chart.key] = len(chart_ids) + 1
            chart_id = f"CHART-{chart.key}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "children": [],
                "id": chart_id,
                "meta": {
                    "chartId": chart_ids[chart.key],
                    "height": chart.height,
                    "sliceName": chart.title,
                    "uuid": chart.uuid,
                    "width": chart.width,
                },
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "type": "CHART",
            }
    filters = []
    for f in dashboard.filters:
        native = _native_filter(dashboard, f)
        excluded_keys = native.pop("_excluded_keys", [])
        native["scope"]["excluded"] = [chart_ids[key] for key in excluded_keys]
        filters.append(native)
    return {
        "dashboard_title": dashboard.title,
        "description": None,
        "css": "",
        "slug": dashboard.slug,
        "certified_by": "",
        "certification_details": "",
        "published": True,
        "uuid": dashboard.uuid,
        "position": position,
        "metadata": {
            "native_filter_configuration": filters,
            "chart_configuration": {},
            "global_chart_configuration": {"scope": {"rootPath": ["ROOT_ID"], "excluded": []}},
            "color_scheme": "supersetColors",
            "cross_filters_enabled": False,
            "expanded_slices": {},
            "label_colors": {},
            "shared_label_colors": [],
            "map_label_colors": {},
            "refresh_frequency": 0,
            "timed_refresh_immune_slices": [],
            "default_filters": "{}",
        },
        "version": "1.0.0",
    }


def render() -> dict[str, str]:
    """{path under superset/assets/: YAML} of every dataset, chart and dashboard defined here."""
    files: dict[str, str] = {}
    header = "# Rendered by superset/dashboards.py: edit that module, then run it.\n"
    for dataset in DATASETS:
        files[f"datasets/clickhouse_cur/{dataset.table}.yaml"] = header + _dump(dataset_yaml(dataset))
    seen: dict[str, Chart] = {}
    for dashboard in DASHBOARDS:
        files[f"dashboards/{dashboard.slug}.yaml"] = header + _dump(dashboard_yaml(dashboard))
        for chart in dashboard.charts:
            if chart.key in seen:
                raise ValueError(f"chart key {chart.key} is used twice")
            seen[chart.key] = chart
            files[f"charts/{chart.key}.yaml"] = header + _dump(chart_yaml(chart))
    return files


RENDERED_DIRS = ("datasets/clickhouse_cur", "charts", "dashboards")


def differences(assets_dir: Path = ASSETS_DIR) -> list[str]:
    """Paths whose committed YAML is not what render() gives (missing, changed or left over)."""
    files = render()
    present = {
        path.relative_to(assets_dir).as_posix()
        for folder in RENDERED_DIRS
        for path in (assets_dir / folder).glob("*.yaml")
    }
    changed = [p for p, text in files.items() if not (assets_dir / p).is_file() or (assets_dir / p).read_text() != text]
    return sorted(changed + sorted(present - set(files)))


def write(assets_dir: Path = ASSETS_DIR) -> None:
    files = render()
    for folder in RENDERED_DIRS:
        for path in (assets_dir / folder).glob("*.yaml"):
            if path.relative_to(assets_dir).as_posix() not in files:
                path.unlink()
    for name, text in files.items():
        path = assets_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when superset/assets/ differs from the code")
    args = parser.parse_args(argv)
    if args.check:
        diff = differences()
        if diff:
            sys.exit("superset/assets/ is not what superset/dashboards.py renders: " + ", ".join(diff))
        return
    write()
    print(f"rendered {len(render())} asset files into {ASSETS_DIR}")


if __name__ == "__main__":
    main()
