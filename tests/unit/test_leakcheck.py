"""The leak check itself finds a remembered secret in log text, and only whole tokens."""
from __future__ import annotations

from tests import leakcheck


def test_a_remembered_secret_is_found_in_log_text():
    leakcheck.remember("zq8-unit-test-secret-value")
    assert leakcheck.leaks("INFO api login with zq8-unit-test-secret-value ok")
    assert not leakcheck.leaks("INFO api login ok")
    assert not leakcheck.leaks("INFO xzq8-unit-test-secret-valuex")  # not a whole token


def test_a_code_is_not_found_in_the_digits_of_a_logged_number():
    leakcheck.remember("918273645")  # digits only, as a code is (and no code the run will meet)
    assert not leakcheck.leaks("condition :2 = {'N': '1796302435.918273645'} and 918273645.5")
    assert not leakcheck.where("condition :2 = {'N': '1796302435.918273645'}")
    assert leakcheck.leaks("the code was 918273645.") == ["9182…"]
    assert leakcheck.leaks("code=918273645 at 12.5") == ["9182…"]


def _controller_session():
    from types import SimpleNamespace

    return SimpleNamespace(exitstatus=0, config=SimpleNamespace(
        pluginmanager=SimpleNamespace(get_plugin=lambda name: None)))


def test_a_workers_leak_fails_the_run_from_the_controller(monkeypatch):
    from types import SimpleNamespace

    import pytest

    monkeypatch.setattr(leakcheck, "_verdicts", [])
    clean = SimpleNamespace(workeroutput={"leakcheck": {"problems": [], "summary": "3 secrets, 9 records"}},
                            gateway=SimpleNamespace(id="gw0"))
    leaked = SimpleNamespace(workeroutput={"leakcheck": {"problems": ["1 secret(s) ..."], "summary": ""}},
                             gateway=SimpleNamespace(id="gw1"))
    for node in (clean, leaked):
        leakcheck.pytest_testnodedown(node, None)
    session = _controller_session()
    leakcheck.pytest_sessionfinish(session, 0)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED


def test_a_worker_that_never_checked_fails_the_run(monkeypatch):
    from types import SimpleNamespace

    import pytest

    monkeypatch.setattr(leakcheck, "_verdicts", [])
    leakcheck.pytest_testnodedown(SimpleNamespace(workeroutput={}, gateway=SimpleNamespace(id="gw1")), "crashed")
    session = _controller_session()
    leakcheck.pytest_sessionfinish(session, 0)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
