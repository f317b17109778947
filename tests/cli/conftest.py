"""The `twostep` command in a real terminal (pexpect), against the real local stack, with
HOME in a temporary folder so that ~/.netrc is the test's own."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from tests.e2e.conftest import LiveStack, live_stack  # noqa: F401 - the shared session fixture

TWOSTEP = str(Path(sys.executable).with_name("twostep"))


@dataclass
class Terminal:
    """Runs `twostep` for one test: its HOME, the live stack's API."""

    home: Path
    api_url: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.home), "TWOSTEP_API_URL": self.api_url}

    @property
    def netrc(self) -> Path:
        return self.home / ".netrc"

    def spawn(self, *args: str) -> pexpect.spawn:
        return pexpect.spawn(TWOSTEP, list(args), env=self.env, encoding="utf-8",
                             timeout=30, dimensions=(60, 200))

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """Without a terminal: separate stdout and stderr, input from a pipe."""
        return subprocess.run([TWOSTEP, *args], input=stdin, env=self.env, capture_output=True,
                              text=True, timeout=60)


def finish(child: pexpect.spawn) -> tuple[str, int]:
    """Wait for the command to end; return what it printed since the last match and its status."""
    child.expect(pexpect.EOF)
    child.close()
    return child.before, child.exitstatus


@pytest.fixture
def terminal(live_stack: LiveStack, tmp_path: Path) -> Terminal:  # noqa: F811
    home = tmp_path / "home"
    home.mkdir()
    return Terminal(home=home, api_url=live_stack.base_url)
