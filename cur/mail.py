"""Outgoing mail of the platform (weekly reports, data-quality alerts) and the reader of the local sink.

Everything goes through `send_mail`, with the SMTP relay of the settings (CUR_SMTP_*), so the demo's
and the tests' local sink (infra/services/smtp.sh) and a production relay differ by configuration
only. `read_sink` parses what the sink stored, for the tests and for the demo's summary.
"""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formataddr, make_msgid
from pathlib import Path

from cur.settings import Settings

# One attachment: (file name as the recipient sees it, content, MIME type or None to guess it from the name).
Attachment = tuple[str, bytes, str | None]

SENDER_NAME = "ЦУР: аналитика обращений"


def build_message(
    settings: Settings,
    to: Sequence[str],
    subject: str,
    body: str,
    attachments: Iterable[Attachment] = (),
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """The MIME message `send_mail` sends (UTF-8 subject, body and file names, as Russian text needs)."""
    if not to:
        raise ValueError("a message needs at least one recipient")
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = formataddr((SENDER_NAME, settings.mail_from))
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content, mime in attachments:
        mime = mime or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send_mail(
    settings: Settings,
    to: Sequence[str] | str,
    subject: str,
    body: str,
    attachments: Iterable[Attachment] = (),
    headers: dict[str, str] | None = None,
) -> str:
    """Send one message through the relay of the settings; returns its Message-ID.

    Raises on any refusal (smtplib's exceptions), so a caller such as an Airflow task fails and
    retries instead of recording a delivery that did not happen.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    message = build_message(settings, recipients, subject, body, attachments, headers)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=60) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)
    return str(message["Message-ID"])


@dataclass(frozen=True)
class ReceivedMail:
    """One message the local sink stored."""

    path: Path
    message: EmailMessage

    @property
    def envelope_to(self) -> list[str]:
        return [a.strip() for a in str(self.message.get("X-Envelope-To", "")).split(",") if a.strip()]

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def attachments(self) -> dict[str, bytes]:
        """File name → content of each attachment."""
        return {part.get_filename() or "": part.get_content() for part in self.message.iter_attachments()}


def read_sink(settings: Settings) -> list[ReceivedMail]:
    """Every message in the local sink's directory, oldest first (the file names start with the UTC time)."""
    directory = settings.mail_sink_dir
    if not directory.is_dir():
        return []
    parser = BytesParser(policy=policy.default)
    return [
        ReceivedMail(path, parser.parsebytes(path.read_bytes()))  # type: ignore[arg-type]
        for path in sorted(directory.glob("*.eml"))
    ]


def main() -> None:
    """`python -m cur.mail [N]`: the last N messages (default 30) the local sink received, one line each."""
    import sys

    from cur import settings as settings_module

    settings = settings_module.load()
    shown = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    received = read_sink(settings)
    print(f"{len(received)} messages in the local SMTP sink {settings.mail_sink_dir}/ (one .eml file each)")
    for item in received[-shown:]:
        files = ", ".join(item.attachments()) or "no attachments"
        print(f"  {item.path.name[:15]}  to {', '.join(item.envelope_to)}: {item.subject}  [{files}]")


if __name__ == "__main__":
    main()
