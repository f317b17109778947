"""~/.netrc edits keep every other entry as it was."""
from __future__ import annotations

import netrc
import stat

import pytest

from cli import credentials

OTHERS = """# my machines
machine api.heroku.com
  login me@example.com
  password heroku-token
macdef init
machine 127.0.0.1 inside a macro stays

default login anonymous password guest
"""


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_save_adds_and_replaces_only_its_host(home) -> None:
    (home / ".netrc").write_text(OTHERS)
    credentials.save("127.0.0.1", "a@example.com", "key-1")
    credentials.save("127.0.0.1", "b@example.com", "key-2")
    text = (home / ".netrc").read_text()
    assert text.startswith(OTHERS)
    assert text.count("machine 127.0.0.1\n") == 1
    assert credentials.read("127.0.0.1") == ("b@example.com", "key-2")
    assert netrc.netrc(str(home / ".netrc")).authenticators("api.heroku.com") == ("me@example.com", "", "heroku-token")
    assert stat.S_IMODE((home / ".netrc").stat().st_mode) == 0o600


def test_remove_drops_only_its_host(home) -> None:
    (home / ".netrc").write_text("machine 127.0.0.1 login a@example.com password k\n" + OTHERS)
    assert credentials.remove("127.0.0.1") is True
    assert (home / ".netrc").read_text() == OTHERS
    assert credentials.remove("127.0.0.1") is False
    assert credentials.read("127.0.0.1") is None


def test_host_is_the_api_urls_host_name() -> None:
    assert credentials.host_of("https://API.example.com:8443/base") == "api.example.com"
