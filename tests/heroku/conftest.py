"""Heroku's own CLI (npm `heroku@11`) in a real terminal against the real local stack.

The CLI is installed once into a cache folder outside the repository (reused between runs;
TWOSTEP_HEROKU_CLI_DIR moves it) and runs with a fresh HOME per test, pointed at the stack
by HEROKU_HOST. HEROKU_PARTICLEBOARD_URL and DISABLE_TELEMETRY keep it from sending the
token it holds to particleboard.heroku.com and Heroku's telemetry."""
from __future__ import annotations

import io
import json
import netrc
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pexpect
import pytest

from tests.e2e.conftest import LiveStack, live_stack  # noqa: F401

CLI_DIR = Path(os.environ.get("TWOSTEP_HEROKU_CLI_DIR") or Path.home() / ".cache" / "twostep" / "heroku-cli")
MAJOR = "11"
TIMEOUT = 90
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


def _installed_version() -> str | None:
    package = CLI_DIR / "node_modules" / "heroku" / "package.json"
    if not package.is_file() or not (CLI_DIR / "node_modules" / ".bin" / "heroku").exists():
        return None
    return json.loads(package.read_text())["version"]


@pytest.fixture(scope="session")
def heroku_cli() -> Path:
    """The `heroku` executable, installed from the npm registry when missing."""
    version = _installed_version()
    if version is None or not version.startswith(MAJOR + "."):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm (with node 20) is needed to install Heroku's CLI for these tests")
        CLI_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "install", "--prefix", str(CLI_DIR), "--no-audit", "--no-fund", f"heroku@{MAJOR}"],
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"npm install heroku@{MAJOR} failed:\n{done.stderr[-2000:]}")
        version = _installed_version()
        assert version and version.startswith(MAJOR + "."), version
    return CLI_DIR / "node_modules" / ".bin" / "heroku"


@dataclass
class Result:
    status: int | None
    output: str  # what the terminal showed, without colour and cursor codes


class HerokuCli:
    """One person's terminal: Heroku's CLI with its own HOME, pointed at the stack."""

    def __init__(self, binary: Path, base_url: str, home: Path) -> None:
        self.binary = binary
        self.home = home
        self.host = urlsplit(base_url).netloc  # the CLI's netrc machine for HEROKU_HOST
        self.env = {
            "PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "LANG": "C.UTF-8",
            "TERM": "xterm",
            "HEROKU_HOST": base_url,
            "HEROKU_PARTICLEBOARD_URL": base_url,
            "HEROKU_NETRC_WRITE": "true",
            "DISABLE_TELEMETRY": "true",
            "HEROKU_SKIP_NEW_VERSION_CHECK": "true",
            "HEROKU_DISABLE_AUTOUPDATE": "1",
            "FORCE_COLOR": "0",
            "NO_COLOR": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
        }

    def spawn(self, *args: str) -> tuple[pexpect.spawn, io.StringIO]:
        transcript = io.StringIO()
        child = pexpect.spawn(str(self.binary), list(args), env=self.env, cwd=str(self.home),
                              encoding="utf-8", timeout=TIMEOUT, dimensions=(40, 200))
        child.logfile_read = transcript
        return child, transcript

    @staticmethod
    def _finish(child: pexpect.spawn, transcript: io.StringIO) -> Result:
        child.expect(pexpect.EOF)
        child.close()
        return Result(child.exitstatus, _ANSI.sub("", transcript.getvalue()))

    def run(self, *args: str) -> Result:
        return self._finish(*self.spawn(*args))

    def login(self, email: str, password: str, code: str | None = None) -> Result:
        """`heroku login -i`, answering its prompts as a person would."""
        child, transcript = self.spawn("login", "-i")
        try:
            child.expect("Email")
            child.sendline(email)
            child.expect("Password")
            child.sendline(password)
            if code is not None:
                child.expect("Two-factor code")
                child.sendline(code)
        except (pexpect.EOF, pexpect.TIMEOUT):
            raise AssertionError("heroku login -i did not prompt as expected:\n"
                                 + _ANSI.sub("", transcript.getvalue())) from None
        return self._finish(child, transcript)

    def saved_token(self) -> str | None:
        """The token the CLI saved in ~/.netrc for the stack, if any."""
        path = self.home / ".netrc"
        if not path.exists():
            return None
        entry = netrc.netrc(str(path)).authenticators(self.host)
        return entry[2] if entry else None


@pytest.fixture
def heroku(heroku_cli: Path, live_stack: LiveStack, tmp_path: Path) -> Iterator[HerokuCli]:  # noqa: F811
    home = tmp_path / "home"
    home.mkdir()
    yield HerokuCli(heroku_cli, live_stack.base_url, home)
