"""Security keys and passkeys under bursts of parallel requests, over HTTP against the real
local stack: every single-use challenge is spent once, and refused passkey sign-ins never
reach the owner's counter, however many arrive at once."""
from __future__ import annotations

import requests

from tests.e2e.helpers import Person, at_once
from tests.e2e.test_bursts import from_address
from tests.soft_authenticator import SoftAuthenticator

BURST = 24


def statuses(answers: list[requests.Response]) -> list[int]:
    return [a.status_code for a in answers]


def logins(person: Person) -> list[dict]:
    answer = person.http.get(person.url("/api/account/events"), timeout=10)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["events"] if e["type"] == "login"]


def key_challenge(person: Person, token: str) -> dict:
    answer = requests.post(person.url("/api/login/challenge"), json={"login_token": token, "method": "webauthn"},
                           timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["publicKey"]


def passkey_options(base_url: str, http: requests.Session | None = None) -> requests.Response:
    return (http or requests).post(f"{base_url}/api/login/passkey/options", json={}, timeout=10)


def test_24_parallel_assertions_on_one_challenge_log_in_once(live_stack):
    person = Person(live_stack.base_url).signup()
    key = person.add_key()
    token = person.login_token()
    public_key = key_challenge(person, token)
    assertions = [key.get(public_key) for _ in range(BURST)]  # each one valid on its own
    before = len(logins(person))
    answers = at_once([lambda a=a: requests.post(person.url("/api/login/verify"),
                                                 json={"login_token": token, "webauthn": a}, timeout=30)
                       for a in assertions])
    assert statuses(answers).count(200) == 1, statuses(answers)
    assert all(s in (401, 429) for s in statuses(answers) if s != 200), statuses(answers)
    assert len(logins(person)) == before + 1


def test_24_parallel_refused_assertions_are_examined_three_times_on_the_accounts_counter(live_stack):
    person = Person(live_stack.base_url).signup()
    key = person.add_key()
    token = person.login_token()
    public_key = key_challenge(person, token)
    key.origin = "https://evil.example"  # a phishing page's answer: well signed, wrong origin
    assertions = [key.get(public_key) for _ in range(BURST)]
    answers = at_once([lambda a=a: requests.post(person.url("/api/login/verify"),
                                                 json={"login_token": token, "webauthn": a}, timeout=30)
                       for a in assertions])
    assert set(statuses(answers)) <= {401, 429}, statuses(answers)
    assert statuses(answers).count(401) == 3, statuses(answers)  # three free failures, then the wait
    log = person.http.get(person.url("/api/account/events"), timeout=10).json()["events"]
    failed = sorted(e["detail"]["consecutive_failures"] for e in log if e["type"] == "two_factor_failed")
    assert failed == [1, 2, 3]


def test_24_parallel_passkey_sign_ins_on_one_token_sign_in_once(live_stack):
    person = Person(live_stack.base_url).signup()
    key = person.add_key(passkey=True)
    options = passkey_options(live_stack.base_url).json()
    assertions = [key.get(options["publicKey"]) for _ in range(BURST)]
    before = len(logins(person))
    answers = at_once([lambda a=a: requests.post(
        person.url("/api/login/passkey"), json={"passkey_token": options["passkey_token"], "credential": a},
        timeout=30) for a in assertions])
    assert statuses(answers).count(200) == 1, statuses(answers)
    assert all(s == 401 for s in statuses(answers) if s != 200), statuses(answers)
    assert len(logins(person)) == before + 1


def test_one_registration_answered_by_20_clients_adds_one_key(live_stack):
    person = Person(live_stack.base_url).signup()
    begun = person.post("/api/account/webauthn/register", {"password": person.password}).json()
    answer = SoftAuthenticator(person.origin()).create(begun["publicKey"])
    body = {"registration_id": begun["registration_id"], "credential": answer}
    answers = at_once([lambda: person.post("/api/account/webauthn", body) for _ in range(20)])
    assert statuses(answers).count(201) == 1, statuses(answers)
    assert all(400 <= s < 500 for s in statuses(answers) if s != 201), statuses(answers)
    listed = person.http.get(person.url("/api/account/webauthn"), timeout=10).json()["credentials"]
    assert len(listed) == 1


def test_a_burst_of_forged_passkey_sign_ins_never_touches_the_owners_counter(live_stack):
    person = Person(live_stack.base_url).signup()
    key = person.add_key(passkey=True)
    user_id = person.http.get(person.url("/api/account"), timeout=10).json()["user"]["id"]
    forged = SoftAuthenticator(person.origin())  # the owner's credential id and user handle, another key
    forged.credential_id, forged.user_handle = key.credential_id, user_id.encode()
    http = from_address("127.0.0.41")
    tokens = [passkey_options(live_stack.base_url, http).json() for _ in range(BURST)]
    answers = at_once([lambda t=t: http.post(person.url("/api/login/passkey"), json={
        "passkey_token": t["passkey_token"], "credential": forged.get(t["publicKey"])}, timeout=30) for t in tokens])
    assert set(statuses(answers)) <= {401, 429} and 401 in statuses(answers), statuses(answers)
    # the owner's own login: no backoff, no lock from any of it
    token = person.login_token()
    done = requests.post(person.url("/api/login/verify"),
                         json={"login_token": token, "webauthn": key.get(key_challenge(person, token))}, timeout=10)
    assert done.status_code == 200, done.text
    failed = [e for e in person.http.get(person.url("/api/account/events"), timeout=10).json()["events"]
              if e["type"] == "two_factor_failed"]
    assert failed == []
