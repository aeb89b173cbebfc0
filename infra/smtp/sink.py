"""aiosmtpd handler of the local SMTP sink (infra/services/smtp.sh): every message becomes one `.eml` file.

The demo and the tests read what the platform sent from these files (cur/mail.py `read_sink`), so
the sink must never lose or half-write a message: each file is written under a temporary name and
renamed into place, and the envelope (which the headers do not carry for Bcc recipients) is
prepended as `X-Envelope-From` / `X-Envelope-To` headers, as a delivery agent's `Delivered-To` would.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session


class EmlSink:
    """Stores each accepted message as `<mail_dir>/<UTC time>-<uuid>.eml`."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self.mail_dir.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_cli(cls, parser: argparse.ArgumentParser, *args: str) -> EmlSink:
        """`python -m aiosmtpd -c infra.smtp.sink.EmlSink MAIL_DIR` hands the handler its arguments here."""
        if len(args) != 1:
            parser.error("EmlSink takes one argument: the directory the .eml files go to")
        return cls(Path(args[0]))

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        header = (
            f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        now = time.time_ns()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 1_000_000_000))
        name = f"{stamp}.{now % 1_000_000_000:09d}-{uuid.uuid4().hex}.eml"
        tmp = self.mail_dir / f".{name}.tmp"
        with open(tmp, "wb") as f:
            f.write(header + content)
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(self.mail_dir / name)
        return "250 Message accepted for delivery"
