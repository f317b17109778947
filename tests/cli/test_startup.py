"""`twostep --help` starts without the HTTP stack, segno or the server's code."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cli.conftest import TWOSTEP

HEAVY = ("requests", "urllib3", "chalicelib", "segno", "urllib.request", "http.client", "ssl")


def test_help_imports_no_http_library_segno_or_server_code() -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", TWOSTEP, "--help"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "2fa:enable" in result.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "click" in imported and "cli.main" in imported
    loaded = sorted(name for name in imported if name.split(".")[0] in HEAVY or name in HEAVY)
    assert loaded == []


@pytest.mark.parametrize("url", ["http://2fa.example.com", "http://10.0.0.5:8000", "ftp://example.com",
                                 "http://[2001:db8::1]:8000"])
def test_credentials_never_go_over_plain_http_to_another_machine(url: str, tmp_path) -> None:
    answer = subprocess.run([TWOSTEP, "--api-url", url, "login", "--email", "a@example.com", "--password-stdin"],
                            input="secret\n", capture_output=True, text=True, timeout=30,
                            env={**os.environ, "HOME": str(tmp_path)})
    assert answer.returncode == 2, answer
    assert "https://" in answer.stderr
    assert "secret" not in answer.stderr + answer.stdout


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"])
def test_plain_http_to_this_machine_is_allowed(url: str, tmp_path) -> None:
    answer = subprocess.run([TWOSTEP, "--api-url", url, "login", "--email", "a@example.com", "--password-stdin"],
                            input="secret\n", capture_output=True, text=True, timeout=30,
                            env={**os.environ, "HOME": str(tmp_path)})
    assert answer.returncode == 1 and "Cannot reach the twostep API" in answer.stderr, answer
