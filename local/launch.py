"""`python -m local.run` in a subprocess, for the end-to-end tests and the load check:
start it on free ports, wait until it answers, stop it as Ctrl-C would."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import requests

from local import stack


class NotHealthy(RuntimeError):
    """The stack exited or did not answer /api/health in time."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(log: IO[bytes], **settings: str) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start the stack with extra app `settings` (environment variables); return the process,
    the app's URL and the emulator's URL. Every AWS client in it is pinned to the emulator."""
    app_port, moto_port = free_port(), free_port()
    moto_url = f"http://127.0.0.1:{moto_port}"
    env = stack.pinned_env(moto_url, dict(os.environ))
    env.update(TWOSTEP_PORT=str(app_port), TWOSTEP_MOTO_PORT=str(moto_port), PYTHONUNBUFFERED="1", **settings)
    process = subprocess.Popen([sys.executable, "-m", "local.run"], cwd=stack.REPO_ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{app_port}", moto_url


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NotHealthy(f"local.run exited with {process.returncode}")
        try:
            if requests.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise NotHealthy(f"local.run not healthy after {timeout:.0f}s")


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGINT, as Ctrl-C; the exit code (-1 when it had to be killed)."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -1


def log_tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
