"""The real local stack (`python -m local.run`) in a subprocess, shared by the e2e tests."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local import launch, stack

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
        return launch.log_tail(self.log_path, lines)


@pytest.fixture(scope="session")
def live_stack() -> Iterator[LiveStack]:
    ARTIFACTS.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # each pytest-xdist worker runs a stack of its own
    log_path = ARTIFACTS / (f"local-run-{worker}.log" if worker else "local-run.log")
    with log_path.open("wb") as log:
        # Every e2e client is 127.0.0.1: the per-IP signup and passkey caps and the 30 s SMS gap
        # are proven at their defaults elsewhere (API tests on a frozen clock, test_bursts'
        # own stack); here they would only slow the run.
        process, base_url, moto_url = launch.start(
            log, TWOSTEP_SIGNUP_PER_IP_PER_HOUR="10000", TWOSTEP_SMS_GAP_SECONDS="1",
            TWOSTEP_PASSKEY_OPTIONS_PER_IP_PER_HOUR="10000")
        live = LiveStack(base_url=base_url, moto_url=moto_url, log_path=log_path)
        try:
            try:
                launch.wait_healthy(base_url, process, START_TIMEOUT)
            except launch.NotHealthy as exc:
                pytest.fail(f"{exc}:\n{live.log_tail()}")
            yield live
        finally:
            code = launch.stop(process, STOP_TIMEOUT)
    assert code == 0, f"local.run did not exit cleanly ({code}):\n{live.log_tail()}"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one per module: one sync Playwright may run at a
    time, so each browser test module starts its own after the last one stopped."""
    from tests.e2e.browser import launched_browser

    yield from launched_browser()
