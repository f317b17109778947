"""Single-use secrets raced over HTTP against the real local stack (its emulator serialised,
as DynamoDB's conditional writes are atomic): exactly one success each."""
from __future__ import annotations

import time

import requests

from tests import rfc6238
from tests.e2e.helpers import Person, at_once


def verify_call(base_url: str, token: str, **fields):
    return lambda: requests.post(f"{base_url}/api/login/verify", json={"login_token": token, **fields}, timeout=60)


def test_ten_concurrent_submissions_of_one_totp_code_give_one_success(live_stack):
    person = Person(live_stack.base_url).signup().enable_two_factor()
    tokens = [person.login_token() for _ in range(10)]
    code = rfc6238.totp(person.secret, at=time.time() + 30)  # the next step: the confirming one is spent
    answers = at_once([verify_call(live_stack.base_url, token, code=code) for token in tokens])
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1, [a.text for a in answers]
    assert all(s == 401 for s in statuses if s != 200), statuses


def test_twenty_concurrent_redemptions_of_one_recovery_code_give_one_success(live_stack):
    person = Person(live_stack.base_url).signup().enable_two_factor()
    tokens = [person.login_token() for _ in range(20)]
    code = person.recovery_codes[0]
    answers = at_once([verify_call(live_stack.base_url, token, recovery_code=code) for token in tokens])
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1, statuses
    assert all(s == 401 for s in statuses if s != 200), statuses
    account = requests.get(f"{live_stack.base_url}/api/account",
                           headers={"Authorization": f"Bearer {person.api_key}"}, timeout=10).json()
    assert account["two_factor"]["recovery_codes_remaining"] == 9


def test_one_login_token_used_by_twenty_clients_logs_in_once(live_stack):
    person = Person(live_stack.base_url).signup().enable_two_factor()
    token = person.login_token()
    codes = person.recovery_codes[:1] * 20
    answers = at_once([verify_call(live_stack.base_url, token, recovery_code=c) for c in codes])
    assert [a.status_code for a in answers].count(200) == 1
