"""What the bench groups share: the figure record, medians, the emulator in a subprocess."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.launch import free_port, stop

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Figure:
    """One row of the table: what was measured, its budget (if any) and how to repeat it."""

    group: str
    name: str
    value: str
    budget: str = ""
    ok: bool | None = None  # None: no budget
    failure: str = ""  # why the budget failed, by how much
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return f".venv/bin/python -m bench --only {self.group}"


def check(fig: Figure, ok: bool, failure: str) -> Figure:
    """Mark `fig` as meeting its budget or not; a figure with several budgets fails on any."""
    fig.ok = ok if fig.ok is None else (fig.ok and ok)
    if not ok:
        fig.failure = "; ".join(x for x in (fig.failure, failure) if x)
    return fig


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@contextmanager
def emulator() -> Iterator[str]:
    """`python -m local.emulator` in its own process (its CPU is not the handler's), with the
    stack deployed; this process's environment is pinned to it for the duration."""
    from local.stack import REMOVED_ENV, aws_env, configure_sms, deploy, pinned_env

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([PYTHON, "-m", "local.emulator", "--port", str(port)], cwd=REPO,
                               env=pinned_env(url, dict(os.environ)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    saved = dict(os.environ)
    try:
        wait_for(f"{url}/moto-api/", process)
        for name in REMOVED_ENV:
            os.environ.pop(name, None)
        os.environ.update(aws_env(url))
        os.environ.update(deploy(url))
        configure_sms(url)
        yield url
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stop(process)
