"""cur/mail.py through the local SMTP sink that infra/test.sh starts (infra/services/smtp.sh)."""

from __future__ import annotations

import dataclasses
import os
import uuid

import pytest

from cur import mail
from cur import settings as settings_module
from cur.settings import Settings
from tests.e2e.conftest import _reachable

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sink() -> Settings:
    settings = settings_module.load()
    if not _reachable(settings.smtp_host, settings.smtp_port):
        message = f"SMTP sink not reachable on {settings.smtp_host}:{settings.smtp_port} (infra/services/smtp.sh start)"
        if os.environ.get("CUR_E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return settings


def test_message_with_attachments_arrives_at_the_sink(sink: Settings) -> None:
    subject = f"Проверка доставки {uuid.uuid4().hex[:8]}"
    pdf = b"%PDF-1.7\n" + os.urandom(2048)
    xlsx = b"PK\x03\x04" + os.urandom(1024)
    message_id = mail.send_mail(
        sink,
        ["minzdrav@cur.localhost", "bcc-only@cur.localhost"],
        subject,
        "Еженедельный отчёт во вложении.",
        [("отчёт.pdf", pdf, None), ("данные.xlsx", xlsx, None)],
    )
    received = [m for m in mail.read_sink(sink) if m.subject == subject]
    assert len(received) == 1
    got = received[0]
    assert got.message["Message-ID"] == message_id
    assert got.envelope_to == ["minzdrav@cur.localhost", "bcc-only@cur.localhost"]
    assert got.body.strip() == "Еженедельный отчёт во вложении."
    assert got.attachments() == {"отчёт.pdf": pdf, "данные.xlsx": xlsx}
    parts = {p.get_filename(): p.get_content_type() for p in got.message.iter_attachments()}
    assert parts == {
        "отчёт.pdf": "application/pdf",
        "данные.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }


def test_unreachable_relay_raises(sink: Settings) -> None:
    """A delivery that did not happen must fail loudly (the DAG retries), never pass as sent."""
    closed = dataclasses.replace(sink, smtp_port=1)
    with pytest.raises(OSError):
        mail.send_mail(closed, "ops@cur.localhost", "не дойдёт", "текст")
