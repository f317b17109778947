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
    # the rest refused: 401, or 429 for one the machine delayed until three had failed
    assert all(s in (401, 429) for s in statuses if s != 200), statuses


def test_twenty_concurrent_redemptions_of_one_recovery_code_give_one_success(live_stack):
    person = Person(live_stack.base_url).signup().enable_two_factor()
    tokens = [person.login_token() for _ in range(20)]
    code = person.recovery_codes[0]
    answers = at_once([verify_call(live_stack.base_url, token, recovery_code=code) for token in tokens])
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1, statuses
    # the rest refused: 401, or 429 for one the machine delayed until three had failed
    assert all(s in (401, 429) for s in statuses if s != 200), statuses
    account = requests.get(f"{live_stack.base_url}/api/account",
                           headers={"Authorization": f"Bearer {person.api_key}"}, timeout=10).json()
    assert account["two_factor"]["recovery_codes_remaining"] == 9


def test_one_login_token_used_by_twenty_clients_logs_in_once(live_stack):
    person = Person(live_stack.base_url).signup().enable_two_factor()
    token = person.login_token()
    codes = person.recovery_codes[:1] * 20
    answers = at_once([verify_call(live_stack.base_url, token, recovery_code=c) for c in codes])
    assert [a.status_code for a in answers].count(200) == 1


def test_one_sms_code_sent_to_twenty_clients_logs_in_once(live_stack):
    from tests import sms

    person = Person(live_stack.base_url).signup().enable_two_factor()
    phone = f"+4474009{int(time.time() * 1000) % 100000:05d}"
    assert person.post("/api/account/phone", {"phone": phone, "password": person.password}).status_code == 202
    assert person.post("/api/account/phone/verify", {"code": sms.last_code(live_stack.moto_url, phone)}).ok
    token = person.login_token()
    for _ in range(20):  # the SMS gap is shortened for the e2e stack, not removed
        sent = requests.post(f"{live_stack.base_url}/api/login/sms", json={"login_token": token}, timeout=10)
        if sent.status_code == 202:
            break
        time.sleep(int(sent.headers.get("Retry-After", "1")))
    assert sent.status_code == 202, sent.text
    code = sms.last_code(live_stack.moto_url, phone)
    answers = at_once([verify_call(live_stack.base_url, token, sms_code=code) for _ in range(20)])
    assert [a.status_code for a in answers].count(200) == 1


def test_one_setup_confirmation_from_twenty_clients_enables_once(live_stack):
    person = Person(live_stack.base_url).signup()
    setup = person.post("/api/account/two-factor/setup", {"password": person.password}).json()
    code = rfc6238.totp(setup["secret"])
    body = {"authenticator_id": setup["authenticator_id"], "code": code}
    answers = at_once([lambda: person.post("/api/account/two-factor/confirm", body) for _ in range(20)])
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1, statuses
    assert all(400 <= s < 500 for s in statuses if s != 200), statuses
    winner = next(a for a in answers if a.status_code == 200).json()
    assert len(winner["recovery_codes"]) == 10
    listed = person.http.get(f"{live_stack.base_url}/api/account/two-factor/authenticators", timeout=10).json()
    assert len(listed["authenticators"]) == 1


def test_twenty_concurrent_signups_with_one_email_make_one_account(live_stack):
    email = Person(live_stack.base_url).email
    body = {"email": email, "password": "correct horse battery staple"}
    answers = at_once([lambda: requests.post(f"{live_stack.base_url}/api/signup", json=body, timeout=60)
                       for _ in range(20)])
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 19, statuses
