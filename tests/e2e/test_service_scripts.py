"""The service scripts on this machine: a service never starts on a port another process holds."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from cur.settings import REPO_ROOT

pytestmark = pytest.mark.e2e


def test_a_service_refuses_a_port_held_by_another_process(tmp_path: Path) -> None:
    """Otherwise the health check could be answered by that process and everything after would talk to it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**os.environ, "CUR_STATE_DIR": str(tmp_path / "state"), "CLICKHOUSE_PORT": str(port)}
        result = subprocess.run(
            ["bash", "infra/services/clickhouse.sh", "start"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    assert f"port {port} is already in use by a process not started from" in result.stderr
    assert not (tmp_path / "state" / "run" / "clickhouse.pid").exists()  # nothing was started
