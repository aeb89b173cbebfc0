"""Render, store and send one week's reports; the Airflow DAG `weekly_reports` runs this.

    python -m reports.deliver [--week YYYY-MM-DD] [--recipient KEY ...] [--resend] [--run-id ID]

For each recipient of the configuration (reports/recipients.py) the week's PDF and XLSX are written
to `<state>/reports/<week start>/<recipient key>.pdf|xlsx`, replacing what an earlier run wrote, and
mailed through cur/mail.py unless `cur.report_deliveries` says they were sent already (`--resend`
sends again). A week that failed the data-quality gate (reports/quality.py) is not rendered nor
sent: each recipient gets a `held_by_gate` event and the operators (CUR_OPERATORS_EMAIL) one e-mail
saying why. The last line printed is a JSON summary (the DAG's XCom).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from clickhouse_driver import Client

from cur import mail
from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.settings import Settings
from reports import formatting as fmt
from reports import render
from reports.marts import Marts, week_start_of
from reports.quality import Gate, week_gate
from reports.recipients import Recipient, recipients

log = logging.getLogger("reports.deliver")
OPERATORS = Recipient("operators", "", ())


@dataclass(frozen=True)
class Outcome:
    recipient: str
    event: str  # a value of report_deliveries.event
    pdf_path: str = ""
    xlsx_path: str = ""
    message_id: str = ""


def last_complete_week(settings: Settings, now: datetime | None = None) -> date:
    """Monday of the latest Monday-to-Sunday week that has ended in the region."""
    today = (now or datetime.now(UTC)).astimezone(settings.tz).date()
    return week_start_of(today) - timedelta(weeks=1)


def _write(path: Path, content: bytes) -> str:
    """Replace `path` atomically (a reader never sees half a report); returns the content's SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return hashlib.sha256(content).hexdigest()


class Deliveries:
    """cur.report_deliveries: what was done for each week and recipient."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self.client = client
        self.table = f"{settings.clickhouse_database}.report_deliveries"

    def events(self, week_start: date, recipient: Recipient) -> list[str]:
        return [
            str(e)
            for (e,) in self.client.execute(
                f"SELECT event FROM {self.table} WHERE week_start = %(week)s AND recipient_kind = %(kind)s"
                " AND recipient_code = %(code)s ORDER BY recorded_at",
                {"week": week_start, "kind": recipient.kind, "code": recipient.code},
            )
        ]

    def record(
        self, week_start: date, recipient: Recipient, name: str, event: str, gate: Gate, run_id: str, **files: str
    ) -> None:
        row = {
            "week_start": week_start,
            "recipient_kind": recipient.kind,
            "recipient_code": recipient.code,
            "recipient_name": name,
            "event": event,
            "addresses": list(recipient.addresses),
            "pdf_path": files.get("pdf_path", ""),
            "xlsx_path": files.get("xlsx_path", ""),
            "pdf_sha256": files.get("pdf_sha256", ""),
            "xlsx_sha256": files.get("xlsx_sha256", ""),
            "message_id": files.get("message_id", ""),
            "gate_status": gate.status,
            "run_id": run_id,
        }
        self.client.execute(f"INSERT INTO {self.table} ({', '.join(row)}) VALUES", [row])


def _period(week_start: date) -> str:
    return f"{fmt.day(week_start)} — {fmt.day(week_start + timedelta(days=6))}"


def _tell_operators(settings: Settings, week_start: date, gate: Gate, held: list[str]) -> str:
    failures = "\n".join(f"  - {f}" for f in gate.failures) or "  (список проверок недоступен)"
    days = ", ".join(fmt.day(d) for d in gate.failed_days)
    body = (
        f"Еженедельные отчёты за неделю {_period(week_start)} не отправлены получателям:\n"
        f"данные недели не прошли проверку качества (критических нарушений: {gate.critical_failures}).\n\n"
        f"Дни с нарушениями: {days}\nНе пройденные проверки:\n{failures}\n\n"
        f"Задержаны отчёты ({len(held)}): {', '.join(held)}\n\n"
        "После исправления данных и повторной публикации запустите DAG weekly_reports для этой недели.\n"
        f"Подробности: таблица {settings.clickhouse_database}.dq_results."
    )
    subject = f"ЦУР: отчёты за неделю {_period(week_start)} задержаны — проверка качества данных не пройдена"
    return mail.send_mail(
        settings, [settings.operators_email], subject, body, headers={"X-CUR-Report-Week": week_start.isoformat()}
    )


def deliver_week(
    settings: Settings,
    week_start: date,
    only: list[str] | None = None,
    resend: bool = False,
    run_id: str = "manual",
) -> list[Outcome]:
    if week_start.weekday() != 0:
        raise ValueError(f"{week_start} is not a Monday: a report week runs Monday to Sunday")
    chosen = recipients(settings)
    if only:
        unknown = set(only) - {r.key for r in chosen} - {r.code for r in chosen}
        if unknown:
            raise ValueError(f"unknown recipients {sorted(unknown)} (see {settings.reports_recipients_file})")
        chosen = [r for r in chosen if r.key in only or r.code in only]
    client = native_client(settings)
    try:
        deliveries = Deliveries(client, settings)
        marts = Marts(client, settings)
        gate = week_gate(client, settings, week_start)
        log.info("week %s: quality gate %s", week_start, gate.status)
        outcomes: list[Outcome] = []
        if gate.blocks:
            for recipient in chosen:
                deliveries.record(week_start, recipient, marts.recipient_name(recipient), "held_by_gate", gate, run_id)
                outcomes.append(Outcome(recipient.key, "held_by_gate"))
            if resend or "operators_told" not in deliveries.events(week_start, OPERATORS):
                message_id = _tell_operators(settings, week_start, gate, [r.key for r in chosen])
                deliveries.record(
                    week_start, OPERATORS, "операторы", "operators_told", gate, run_id, message_id=message_id
                )
                outcomes.append(Outcome("operators", "operators_told", message_id=message_id))
            return outcomes
        generated_at = fmt.moment(datetime.now(UTC), settings.tz)
        for recipient in chosen:
            data = marts.report(recipient, week_start)
            pdf, xlsx = render.render(data, gate, settings.tz, generated_at)
            stem = settings.reports_dir / week_start.isoformat() / recipient.key
            files = {
                "pdf_path": str(stem.with_suffix(".pdf")),
                "xlsx_path": str(stem.with_suffix(".xlsx")),
                "pdf_sha256": _write(stem.with_suffix(".pdf"), pdf),
                "xlsx_sha256": _write(stem.with_suffix(".xlsx"), xlsx),
            }
            if not resend and "sent" in deliveries.events(week_start, recipient):
                deliveries.record(week_start, recipient, data.recipient_name, "already_sent", gate, run_id, **files)
                outcomes.append(Outcome(recipient.key, "already_sent", files["pdf_path"], files["xlsx_path"]))
                continue
            attachment = f"ЦУР_отчёт_{week_start.isoformat()}_{recipient.code}"
            message_id = mail.send_mail(
                settings,
                list(recipient.addresses),
                f"ЦУР: еженедельный отчёт за {_period(week_start)} — {data.recipient_name}",
                (
                    "Здравствуйте!\n\nВо вложении еженедельный отчёт Центра управления регионом о работе "
                    "с обращениями "
                    f"граждан за неделю {_period(week_start)}: «{data.recipient_name}».\n"
                    f"PDF — для чтения и архива, XLSX — те же показатели и полный список просроченных обращений.\n\n"
                    f"Проверка качества данных: {gate.label}.\n\n"
                    "Письмо сформировано автоматически, отвечать на него не нужно."
                ),
                [(f"{attachment}.pdf", pdf, "application/pdf"), (f"{attachment}.xlsx", xlsx, None)],
                headers={"X-CUR-Report-Week": week_start.isoformat(), "X-CUR-Report-Recipient": recipient.key},
            )
            deliveries.record(
                week_start, recipient, data.recipient_name, "sent", gate, run_id, message_id=message_id, **files
            )
            outcomes.append(Outcome(recipient.key, "sent", files["pdf_path"], files["xlsx_path"], message_id))
            log.info("sent %s to %s", recipient.key, ", ".join(recipient.addresses))
        return outcomes
    finally:
        client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--week", type=date.fromisoformat, help="Monday of the week (default: the last complete week)")
    parser.add_argument("--recipient", action="append", help="recipient key or code (repeatable; default: all)")
    parser.add_argument("--resend", action="store_true", help="send again what was sent already")
    parser.add_argument("--run-id", default="manual")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = settings_module.load()
    week = args.week or last_complete_week(settings)
    outcomes = deliver_week(settings, week, args.recipient, args.resend, args.run_id)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.event] = counts.get(outcome.event, 0) + 1
    print(
        json.dumps(
            {"week": week.isoformat(), "counts": counts, "outcomes": [asdict(o) for o in outcomes]}, ensure_ascii=False
        )
    )


if __name__ == "__main__":
    main()
