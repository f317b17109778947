"""A pytest plugin that runs the whole suite with the app's loggers at DEBUG and fails the run
if any password, code, secret, token or API key the tests used appears in a log record.

Test helpers call `remember(value)` for every secret they send or receive (tests/api's Api,
tests/e2e's Person). Records of the app's loggers in this process are captured; the local
stack's own log file (tests/e2e) is read at the end too, less the SMS console lines, which
stand in for the phone and are the one place a code may be printed (SECURITY.md).

Under pytest-xdist each worker checks its own records (and every stack log) against the
secrets it handled and hands its verdict to the controller, which fails the run.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

APP_LOGGERS = ("twostep", "chalicelib", "app", "local", "pynamodb")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
STACK_LOGS = "local-run*.log"  # the e2e stacks' own logs (one per pytest-xdist worker)
SMS_CONSOLE = "[sms to "

_secrets: set[str] = set()
_records: list[str] = []


def remember(*values: object) -> None:
    """Note secrets the run has handled; short or non-string values are ignored."""
    for value in values:
        if isinstance(value, str) and len(value) >= 6:
            _secrets.add(value)
        elif isinstance(value, (list, tuple)):
            remember(*value)


class _Collector(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            _records.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot format holds nothing to leak
            pass


_handler = _Collector(level=logging.DEBUG)
_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))


def pytest_sessionstart(session: pytest.Session) -> None:
    for name in APP_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(_handler)


_WORD = re.compile(r"[A-Za-z0-9_-]+")
# How the text is cut into words: a decimal number is one word, so that the six digits of a
# code are not "found" as the microseconds of a logged timestamp (1796302434.233787).
_WORDS = re.compile(r"[0-9]+(?:\.[0-9]+)+(?![A-Za-z0-9_-])|[A-Za-z0-9_-]+")


def leaks(text: str) -> list[str]:
    """The secrets that appear in `text` as a whole (not inside a longer word of token
    characters). One pass over the text for the secrets made only of token characters
    (ids, codes, keys: such a secret appears exactly when it is one of the text's words);
    a substring search, then the bounded match, for the others (passwords). A full run
    logs a few hundred megabytes, so one regex search per secret would take hours."""
    words = None
    found = []
    for secret in _secrets:
        if _WORD.fullmatch(secret):
            if words is None:
                words = set(_WORDS.findall(text))
            hit = secret in words
        else:
            hit = secret in text and re.search(
                rf"(?<![A-Za-z0-9_-]){re.escape(secret)}(?![A-Za-z0-9_-])", text) is not None
        if hit:
            found.append(secret[:4] + "…")
    return found


def where(text: str, limit: int = 3) -> list[str]:
    """Where each leaked secret stands in `text`: 60 characters either side, the secret
    itself masked, so that a chance match (a code equal to a number stored for another
    reason) can be told from a real leak in the failure message."""
    places = []
    for secret in _secrets:
        at = text.find(secret)
        while at != -1 and len(places) < limit:
            before, after = text[at - 1:at], text[at + len(secret):at + len(secret) + 1]
            in_number = secret.isdigit() and (text[at - 2:at - 1].isdigit() and before == "."
                                              or after == "." and text[at + len(secret) + 1:][:1].isdigit())
            if not (_WORD.fullmatch(before or " ") or _WORD.fullmatch(after or " ") or in_number):
                places.append(text[max(0, at - 60):at] + "<secret>" + text[at + len(secret):at + len(secret) + 60])
                break
            at = text.find(secret, at + 1)
    return places


def _stack_logs() -> str:
    return "\n".join(line for path in sorted(ARTIFACTS.glob(STACK_LOGS))
                     for line in path.read_text(errors="replace").splitlines() if SMS_CONSOLE not in line)


_verdicts: list[dict] = []  # the workers' (under pytest-xdist), gathered by the controller


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    verdict = getattr(node, "workeroutput", {}).get("leakcheck")
    name = getattr(getattr(node, "gateway", None), "id", "a worker")
    _verdicts.append(verdict or {"problems": [f"{name} ended without checking its logs"], "summary": ""})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _verdicts:  # the controller of pytest-xdist workers: their verdicts are the run's
        problems = [p for v in _verdicts for p in v["problems"]]
        summary = "; ".join(problems) if problems else "no leak: " + ", ".join(v["summary"] for v in _verdicts)
        _report(session, problems, summary)
        return
    text = "\n".join(_records) + "\n" + _stack_logs()
    found = leaks(text)
    wire = logging.getLogger("botocore").getEffectiveLevel()
    problems = []
    if found:
        problems.append(f"{len(found)} secret(s) from the run appear in log records: {sorted(found)[:5]} "
                        f"at {where(text)}")
    if wire < logging.WARNING:
        problems.append("botocore logs below WARNING: its wire logging prints request bodies")
    summary = "; ".join(problems) if problems else (
        f"no leak: {len(_secrets)} secrets checked against {len(_records)} log records")
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller reports
        config.workeroutput["leakcheck"] = {"problems": problems,
                                            "summary": f"{len(_secrets)} secrets, {len(_records)} records"}
        return
    _report(session, problems, summary)


def _report(session: pytest.Session, problems: list[str], summary: str) -> None:
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"leak check: {summary}")
