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
