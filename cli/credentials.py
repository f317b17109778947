"""The API key in ~/.netrc, as Heroku's CLI keeps it: machine = the API's host name,
login = the email, password = the API key. Never the account's password.

Reading uses the standard `netrc` module. Writing edits the text: only this host's
`machine` entries are replaced, so other machines, `default`, `macdef`s and comments stay
as they were. The file is written whole to a 0600 temporary file and renamed over.
"""
from __future__ import annotations

import netrc
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import click

# A netrc token: a comment to the end of the line, a quoted string, or a bare word.
_TOKEN = re.compile(r'#[^\n]*|"(?:\\.|[^"\\])*"|\S+')
_ENTRY_START = ("machine", "default", "macdef")
_LINE_END = re.compile(r"[ \t]*\n?")


def netrc_path() -> Path:
    return Path.home() / ".netrc"


def host_of(api_url: str) -> str:
    host = urlsplit(api_url).hostname
    if not host:
        raise click.UsageError(f"Not an API URL: {api_url}")
    return host


def read(host: str) -> tuple[str, str] | None:
    """(email, api_key) stored for `host`, or None."""
    path = netrc_path()
    if not path.exists():
        return None
    try:
        entry = netrc.netrc(str(path)).hosts.get(host)  # not `default`: only our own entry
    except (netrc.NetrcParseError, OSError) as exc:
        raise click.ClickException(f"Cannot read {path}: {exc}") from None
    if entry is None or not entry[2]:
        return None
    return entry[0], entry[2]


def save(host: str, email: str, api_key: str) -> None:
    path = netrc_path()
    text = _without(_read_text(path), host)
    if text and not text.endswith("\n"):
        text += "\n"
    text += f"machine {host}\n  login {email}\n  password {api_key}\n"
    _write(path, text)


def remove(host: str) -> bool:
    """Drop the entry for `host`; True when there was one."""
    path = netrc_path()
    before = _read_text(path)
    after = _without(before, host)
    if after == before:
        return False
    _write(path, after)
    return True


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def _without(text: str, host: str) -> str:
    """`text` minus every `machine <host>` entry: its tokens from `machine` to the last one
    before the next entry, and the rest of that line. Comments after it stay."""
    cut: list[tuple[int, int]] = []
    tokens = list(_TOKEN.finditer(text))
    i = 0
    while i < len(tokens):
        word = tokens[i].group()
        if word == "macdef":  # its body runs to the next blank line
            blank = text.find("\n\n", tokens[i].end())
            end = len(text) if blank < 0 else blank + 2
            while i < len(tokens) and tokens[i].start() < end:
                i += 1
            continue
        if word == "machine" and i + 1 < len(tokens) and tokens[i + 1].group().strip('"') == host:
            last = i + 1
            j = i + 2
            while j < len(tokens) and tokens[j].group() not in _ENTRY_START:
                if not tokens[j].group().startswith("#"):
                    last = j
                j += 1
            end = _LINE_END.match(text, tokens[last].end()).end()
            cut.append((tokens[i].start(), end))
            i = j
            continue
        i += 1
    for start, end in reversed(cut):
        text = text[:start] + text[end:]
    return text


def _write(path: Path, text: str) -> None:
    path = path.resolve()  # keep a symlinked ~/.netrc a symlink
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".netrc.")  # mkstemp opens 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
