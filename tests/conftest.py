"""Shared test fixtures: the emulator process every layer above unit tests runs on.

The emulator is a separate process (`python -m local.emulator`, serialised like `make run`'s),
so that a frozen clock in a test never freezes moto, and every AWS client in the test process
is pinned to it with dummy credentials before anything builds a client.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent

# tests.aws_calls records the AWS operations the app makes, for the IAM policy test (tests/infra);
# tests.leakcheck fails the run if a secret the tests handled appears in a log record.
pytest_plugins = ["tests.aws_calls", "tests.leakcheck"]


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    from local.launch import free_port
    from local.stack import aws_env, pinned_env

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = pinned_env(url, dict(os.environ))
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.emulator", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/moto-api/", timeout=1)
            break
        except requests.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the AWS emulator did not start")
            time.sleep(0.1)
    saved = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(aws_env(url))
    try:
        yield url
    finally:
        os.environ.clear()
        os.environ.update(saved)
        proc.terminate()
        proc.wait(timeout=10)
