"""The real local stack (`python -m local.run`) in a subprocess, shared by the e2e tests."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from local import stack

E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS = stack.REPO_ROOT / "test-artifacts"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@dataclass(frozen=True)
class LiveStack:
    base_url: str
    moto_url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_healthy(process: subprocess.Popen[bytes], live: LiveStack) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"local.run exited with {process.returncode}:\n{live.log_tail()}")
        try:
            if requests.get(f"{live.base_url}/api/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"local.run not healthy after {START_TIMEOUT:.0f}s:\n{live.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -1


@pytest.fixture(scope="session")
def live_stack() -> Iterator[LiveStack]:
    app_port, moto_port = _free_port(), _free_port()
    live = LiveStack(
        base_url=f"http://127.0.0.1:{app_port}",
        moto_url=f"http://127.0.0.1:{moto_port}",
        log_path=ARTIFACTS / "local-run.log",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    env = stack.pinned_env(live.moto_url, dict(os.environ))
    env.update(TWOSTEP_PORT=str(app_port), TWOSTEP_MOTO_PORT=str(moto_port), PYTHONUNBUFFERED="1")
    # Every e2e client is 127.0.0.1: the per-IP signup cap and the 30 s SMS gap are proven
    # at their defaults by the API tests (frozen clock); here they would only slow the run.
    env.update(TWOSTEP_SIGNUP_PER_IP_PER_HOUR="10000", TWOSTEP_SMS_GAP_SECONDS="1")
    with live.log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.run"],
            cwd=stack.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(process, live)
            yield live
        finally:
            code = _stop(process)
    assert code == 0, f"local.run did not exit cleanly ({code}):\n{live.log_tail()}"
