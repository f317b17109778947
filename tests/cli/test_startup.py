"""`twostep --help` starts without the HTTP stack, segno or the server's code."""
from __future__ import annotations

import subprocess
import sys

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
