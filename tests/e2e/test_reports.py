"""Weekly reports on the real services: ClickHouse marts → PDF + XLSX → the local SMTP sink, and the DAG.

The marts are the stand-ins of tests/e2e/report_marts.py (the contract's tables, seeded random
figures) in a database of this module's own; the deliveries and the gate results live in another
one, migrated like `cur`. Every expectation below is read back from those tables with SQL of this
test's own, then formatted with reports/formatting.py, so nothing the report shows is restated here.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy
import pytest
from clickhouse_driver import Client
from PIL import Image
from pypdf import PdfReader

from cur import mail
from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.settings import REPO_ROOT, Settings
from reports.deliver import Outcome, deliver_week
from reports.recipients import recipients
from tests.e2e import report_figures, report_marts
from tests.e2e.conftest import _reachable
from tests.e2e.report_figures import PAGES

pytestmark = pytest.mark.e2e

WEEK = date(2026, 11, 23)
GATED_WEEK = WEEK - timedelta(weeks=1)
MARTS_DB = "cur_reports_marts"
OWN_DB = "cur_reports_e2e"
RECIPIENTS = """
[ministries]
minzdrav = ["minzdrav@cur.localhost", "minzdrav-archive@cur.localhost"]
minstroy = ["minstroy@cur.localhost"]
[municipalities]
"29701000" = ["kaluga@cur.localhost"]
"29639000" = ["tarusa@cur.localhost"]
"""


@pytest.fixture(scope="module")
def own(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Client]]:
    if not _reachable(settings.smtp_host, settings.smtp_port):
        message = f"SMTP sink not reachable on {settings.smtp_host}:{settings.smtp_port} (infra/services/smtp.sh)"
        if os.environ.get("CUR_E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    path = tmp_path_factory.mktemp("reports") / "recipients.toml"
    path.write_text(RECIPIENTS, encoding="utf-8")
    own_settings = replace(
        settings, clickhouse_database=OWN_DB, analytics_database=MARTS_DB, reports_recipients_file=path
    )
    for week in (WEEK, GATED_WEEK):  # what an earlier run of this module rendered
        shutil.rmtree(own_settings.reports_dir / week.isoformat(), ignore_errors=True)
    client = native_client(own_settings)
    client.execute(f"DROP DATABASE IF EXISTS {OWN_DB} SYNC")
    migrate(own_settings)
    report_marts.build(client, own_settings, MARTS_DB, WEEK)
    try:
        yield own_settings, client
    finally:
        for db in (OWN_DB, MARTS_DB):
            client.execute(f"DROP DATABASE IF EXISTS {db} SYNC")
        client.disconnect()


@pytest.fixture(scope="module")
def first_run(own: tuple[Settings, Client]) -> dict[str, Outcome]:
    settings, _ = own
    return {o.recipient: o for o in deliver_week(settings, WEEK, run_id="e2e-first")}


def test_every_recipient_is_rendered_and_sent(own: tuple[Settings, Client], first_run: dict[str, Outcome]) -> None:
    settings, _ = own
    assert {k: o.event for k, o in first_run.items()} == {r.key: "sent" for r in recipients(settings)}
    for outcome in first_run.values():
        assert Path(outcome.pdf_path) == settings.reports_dir / WEEK.isoformat() / f"{outcome.recipient}.pdf"
        assert Path(outcome.pdf_path).stat().st_size > 10_000 and Path(outcome.xlsx_path).stat().st_size > 5_000


def test_pdf_pages_and_the_marts_figures(own: tuple[Settings, Client], first_run: dict[str, Outcome]) -> None:
    _, client = own
    for key, outcome in first_run.items():
        pages = report_figures.check_pdf(client, MARTS_DB, key, outcome.pdf_path, WEEK)
        assert "23.11.2026 — 29.11.2026" in pages[0]
        assert "нет данных о проверке" in pages[0]  # no gate result for this week


def _ink(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """Pixels within `tolerance` of `colour` (per channel)."""
    pixels = numpy.asarray(image.convert("RGB"), dtype=numpy.int16)
    return int((numpy.abs(pixels - numpy.array(colour)) <= tolerance).all(axis=2).sum())


def test_pdf_pages_as_png_show_the_charts(first_run: dict[str, Outcome], tmp_path: Path) -> None:
    """pdftoppm's pages carry the charts' ink: the accent blue of the bars and lines, the map's reds."""
    outcome = first_run["municipality-29701000"]
    subprocess.run(["pdftoppm", "-r", "40", "-png", outcome.pdf_path, str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == len(PAGES)
    blue, red = (0x1F, 0x4E, 0x79), (0xD7, 0x30, 0x1F)
    ink = {n: (_ink(Image.open(p), blue), _ink(Image.open(p), red, 60)) for n, p in enumerate(pngs, start=1)}
    assert ink[2][0] > 800, f"SLA chart missing on page 2: {ink[2]}"
    assert ink[4][1] > 100, f"H3 map missing on page 4: {ink[4]}"
    assert ink[5][0] > 600, f"trend charts missing on page 5: {ink[5]}"
    assert ink[6][0] < ink[5][0] / 4, "the methodology page has no chart, so little ink of the charts' colour"


def test_xlsx_cells_equal_the_marts(own: tuple[Settings, Client], first_run: dict[str, Outcome]) -> None:
    settings, client = own
    for key, outcome in first_run.items():
        report_figures.check_xlsx(client, MARTS_DB, key, outcome.xlsx_path, WEEK, settings.tz)


def test_each_recipients_mail_arrives_with_both_attachments(
    own: tuple[Settings, Client], first_run: dict[str, Outcome]
) -> None:
    settings, _ = own
    received = {str(m.message["Message-ID"]): m for m in mail.read_sink(settings)}
    by_key = {r.key: r for r in recipients(settings)}
    for key, outcome in first_run.items():
        message = received[outcome.message_id]
        assert message.envelope_to == list(by_key[key].addresses)
        assert "29.11.2026" in message.subject
        files = message.attachments()
        assert sorted(Path(n).suffix for n in files) == [".pdf", ".xlsx"]
        pdf = next(v for n, v in files.items() if n.endswith(".pdf"))
        xlsx = next(v for n, v in files.items() if n.endswith(".xlsx"))
        assert pdf == Path(outcome.pdf_path).read_bytes()
        assert xlsx == Path(outcome.xlsx_path).read_bytes()
        assert len(PdfReader(io.BytesIO(pdf)).pages) == len(PAGES)


def test_the_same_week_again_sends_nothing(own: tuple[Settings, Client], first_run: dict[str, Outcome]) -> None:
    settings, client = own
    before = len(mail.read_sink(settings))
    again = deliver_week(settings, WEEK, run_id="e2e-again")
    assert {o.event for o in again} == {"already_sent"}
    assert len(mail.read_sink(settings)) == before
    assert all(Path(o.pdf_path).exists() for o in again)  # the files were rendered again, in place
    events = client.execute(
        f"SELECT run_id, event, count() FROM {OWN_DB}.report_deliveries WHERE week_start = %(w)s"
        " GROUP BY run_id, event ORDER BY run_id",
        {"w": WEEK},
    )
    assert events == [("e2e-again", "already_sent", len(again)), ("e2e-first", "sent", len(again))]
    resent = deliver_week(settings, WEEK, only=["29639000"], resend=True, run_id="e2e-resend")
    assert [(o.recipient, o.event) for o in resent] == [("municipality-29639000", "sent")]
    assert len(mail.read_sink(settings)) == before + 1


def _gate_rows(client: Client, week: date, run: str, run_at: datetime, failing_day: int | None) -> None:
    tz_hours = 3  # the interval of a regional day starts at 21:00 UTC the day before (Europe/Moscow)
    rows = []
    for offset in range(7):
        start = datetime.combine(week + timedelta(days=offset), datetime.min.time()) - timedelta(hours=tz_hours)
        for expectation, severity in (
            ("expect_column_values_to_not_be_null", "critical"),
            ("expect_table_row_count_to_be_between", "warning"),
        ):
            success = not (offset == failing_day and severity == "critical")
            rows.append(
                (
                    f"{run}-{offset}",
                    run_at,
                    "canonical",
                    "canonical_appeals",
                    f"{expectation}-{offset}",
                    expectation,
                    start,
                    start + timedelta(days=1),
                    severity,
                    success,
                )
            )
    client.execute(
        f"INSERT INTO {OWN_DB}.dq_results (run_id, run_at, checkpoint, suite, expectation_id, expectation_type,"
        " interval_start, interval_end, severity, success) VALUES",
        rows,
    )


def test_a_week_that_failed_the_gate_is_not_sent_and_operators_are_told(own: tuple[Settings, Client]) -> None:
    settings, client = own
    _gate_rows(client, GATED_WEEK, "gx-first", datetime(2026, 11, 30, 1, tzinfo=UTC), failing_day=2)
    before = len(mail.read_sink(settings))
    held = deliver_week(settings, GATED_WEEK, run_id="e2e-gated")
    assert sorted(o.event for o in held) == ["held_by_gate"] * len(recipients(settings)) + ["operators_told"]
    new = mail.read_sink(settings)[before:]
    assert [m.envelope_to for m in new] == [[settings.operators_email]]
    assert "не пройдена" in new[0].subject and "18.11.2026" in new[0].body
    assert "canonical_appeals: expect_column_values_to_not_be_null" in new[0].body
    assert not (settings.reports_dir / GATED_WEEK.isoformat()).exists()
    # Held again: no second notice to the operators.
    assert {o.event for o in deliver_week(settings, GATED_WEEK, run_id="e2e-gated-again")} == {"held_by_gate"}
    assert len(mail.read_sink(settings)) == before + 1
    # The day is fixed and checked again: its latest run passes, so the week goes out, saying so.
    _gate_rows(client, GATED_WEEK, "gx-fixed", datetime(2026, 11, 30, 5, tzinfo=UTC), failing_day=None)
    sent = deliver_week(settings, GATED_WEEK, run_id="e2e-fixed")
    assert {o.event for o in sent} == {"sent"}
    title = report_figures.text(PdfReader(sent[0].pdf_path).pages[0].extract_text())
    assert "проверка качества данных пройдена за все дни недели" in title


def test_the_dag_delivers_one_recipient_on_demand(own: tuple[Settings, Client]) -> None:
    """`airflow dags test` of weekly_reports with params, against the stack's Airflow database. The task
    runs in the command's own process: with `--use-executor`, the command once never returned after its
    task had succeeded (a fresh-clone run, 600 s), though the mail was sent and the run recorded."""
    settings, client = own
    env = {
        **os.environ,
        "CLICKHOUSE_DATABASE": OWN_DB,
        "CUR_ANALYTICS_DATABASE": MARTS_DB,
        "CUR_REPORTS_RECIPIENTS": str(settings.reports_recipients_file),
    }
    conf = json.dumps({"week": WEEK.isoformat(), "recipients": "ministry-minstroy", "resend": True})
    sent = (
        f"SELECT run_id FROM {OWN_DB}.report_deliveries WHERE recipient_code = 'minstroy' AND event = 'sent'"
        " ORDER BY recorded_at"
    )
    runs_before = client.execute(sent)
    mails_before = len(mail.read_sink(settings))
    result = subprocess.run(
        [
            "bash",
            "infra/services/airflow.sh",
            "cli",
            "dags",
            "test",
            "weekly_reports",
            "--conf",
            conf,
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
    new = mail.read_sink(settings)[mails_before:]
    assert [m.envelope_to for m in new] == [["minstroy@cur.localhost"]]
    runs = client.execute(sent)
    assert runs[: len(runs_before)] == runs_before and len(runs) == len(runs_before) + 1
    assert runs[-1][0].startswith("manual__"), runs[-1]  # recorded under the DAG run's id
