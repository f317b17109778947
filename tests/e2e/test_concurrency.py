"""Single-use secrets raced over HTTP against the real local stack (its emulator serialised,
as DynamoDB's conditional writes are atomic): exactly one success each."""
from __future__ import annotations

import time

import pytest
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


# The authenticator app's contract routes, and the routes every kind of factor is added by.
ENROLMENT_ROUTES = {"contract": ("/api/account/two-factor/setup", "/api/account/two-factor/confirm"),
                    "any_kind": ("/api/account/factors/totp", "/api/account/factors/totp/confirm")}


@pytest.mark.parametrize("routes", sorted(ENROLMENT_ROUTES))
def test_one_setup_confirmation_from_twenty_clients_enables_once(live_stack, routes):
    setup_path, confirm_path = ENROLMENT_ROUTES[routes]
    person = Person(live_stack.base_url).signup()
    setup = person.post(setup_path, {"password": person.password}).json()
    code = rfc6238.totp(setup["secret"])
    body = {"authenticator_id": setup["authenticator_id"], "code": code}
    answers = at_once([lambda: person.post(confirm_path, body) for _ in range(20)])
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1, statuses
    assert all(400 <= s < 500 for s in statuses if s != 200), statuses
    winner = next(a for a in answers if a.status_code == 200).json()
    assert len(winner["recovery_codes"]) == 10
    listed = person.http.get(f"{live_stack.base_url}/api/account/two-factor/authenticators", timeout=10).json()
    assert len(listed["authenticators"]) == 1


def test_twenty_clients_removing_both_of_two_authenticators_leave_the_last(live_stack):
    """The last-factor rule under a burst: ten removals of each of two authenticators, half
    through the contract's route and half through the route of every kind, remove exactly
    one; the other stays, and two-factor with it."""
    person = Person(live_stack.base_url).signup().enable_two_factor()
    setup = person.post("/api/account/two-factor/setup", {"password": person.password, "name": "Second"}).json()
    added = person.post("/api/account/two-factor/confirm",
                        {"authenticator_id": setup["authenticator_id"], "code": rfc6238.totp(setup["secret"])})
    assert added.status_code == 200, added.text
    base = live_stack.base_url
    ids = [a["id"] for a in person.http.get(f"{base}/api/account/two-factor/authenticators",
                                            timeout=10).json()["authenticators"]]
    assert len(ids) == 2
    paths = [f"/api/account/two-factor/authenticators/{i}" for i in ids] + [f"/api/account/factors/totp/{i}" for i in ids]

    def remove(path: str):
        return lambda: person.http.delete(f"{base}{path}", json={"password": person.password}, timeout=60,
                                          headers={"X-Requested-With": "twostep"})

    answers = at_once([remove(paths[n % len(paths)]) for n in range(20)])
    statuses = [a.status_code for a in answers]
    assert statuses.count(204) == 1, statuses
    assert set(statuses) <= {204, 404, 409, 429}, statuses  # 429: the password re-entry's own backoff
    left = person.http.get(f"{base}/api/account/factors", timeout=10).json()["factors"]
    assert len(left) == 1 and left[0]["id"] in ids, left
    assert person.http.get(f"{base}/api/account", timeout=10).json()["two_factor"]["enabled"] is True


def test_twenty_concurrent_signups_with_one_email_make_one_account(live_stack):
    email = Person(live_stack.base_url).email
    body = {"email": email, "password": "correct horse battery staple"}
    answers = at_once([lambda: requests.post(f"{live_stack.base_url}/api/signup", json=body, timeout=60)
                       for _ in range(20)])
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 19, statuses
