"""The leak check itself finds a remembered secret in log text, and only whole tokens."""
from __future__ import annotations

from tests import leakcheck


def test_a_remembered_secret_is_found_in_log_text():
    leakcheck.remember("zq8-unit-test-secret-value")
    assert leakcheck.leaks("INFO api login with zq8-unit-test-secret-value ok")
    assert not leakcheck.leaks("INFO api login ok")
    assert not leakcheck.leaks("INFO xzq8-unit-test-secret-valuex")  # not a whole token
