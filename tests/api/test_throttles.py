"""Password backoff, signup cap and session lifetimes, on a frozen clock (SECURITY.md)."""
from __future__ import annotations

import json
import pytest

from tests.api.conftest import STRONG_PASSWORD

WRONG = "definitely not it"


def login(api, email, password):
    return api.post("/api/login", {"email": email, "password": password})


@pytest.mark.parametrize("known", [True, False], ids=["known-email", "unknown-email"])
def test_after_five_failures_each_attempt_waits_doubling_to_fifteen_minutes(api, clock, known):
    account = api.signup() if known else None
    email = account.email if known else "ghost-account@example.com"
    for _ in range(5):
        assert login(api, email, WRONG).status == 401
    # the 6th attempt right away must wait 1 s
    blocked = login(api, email, WRONG)
    assert (blocked.status, blocked.error_code) == (429, "rate_limited")
    assert blocked.headers["Retry-After"] == "1"
    clock.shift(1)
    assert login(api, email, WRONG).status == 401  # 6th failure -> 2 s wait
    assert login(api, email, WRONG).headers["Retry-After"] == "2"
    expected = 2
    for failures in range(7, 16):
        clock.shift(expected)
        assert login(api, email, WRONG).status == 401
        expected = min(2 ** (failures - 5), 900)
        answer = login(api, email, WRONG)
        assert answer.status == 429
        assert int(answer.headers["Retry-After"]) == expected, failures
    assert expected == 900  # capped at 15 minutes
    if known:  # the account's security log shows the guessing run, each failure numbered
        from chalicelib.store import events

        failed = [e["detail"]["consecutive_failures"] for e in events.recent(account.user_id)
                  if e["type"] == "login_failed"]
        assert sorted(failed) == list(range(1, 16))


def test_a_correct_password_during_the_wait_is_refused_too_then_resets(api, clock):
    account = api.signup()
    for _ in range(5):
        login(api, account.email, WRONG)
    assert login(api, account.email, account.password).status == 429
    clock.shift(1)
    assert login(api, account.email, account.password).status == 200
    # the counter was reset: five more failures before any wait
    for _ in range(5):
        assert login(api, account.email, WRONG).status == 401
    assert login(api, account.email, WRONG).status == 429


def test_unknown_and_known_emails_throttle_alike(api, clock):
    account = api.signup()
    answers = {}
    for email in (account.email, "nobody-at-all@example.com"):
        for _ in range(5):
            login(api, email, WRONG)
        answers[email] = login(api, email, WRONG)
    a, b = answers.values()
    assert (a.status, a.body, a.headers["Retry-After"]) == (b.status, b.body, b.headers["Retry-After"])


def test_strangers_failing_at_the_login_form_never_stop_the_owners_sensitive_actions(api, clock):
    account = api.signup()
    for _ in range(30):  # anyone can push the per-email login counter...
        login(api, account.email, WRONG)
    assert login(api, account.email, account.password).status == 429
    # ...but a password re-entered by the signed-in owner counts on the account's own counter
    revealed = api.post("/api/account/api-key", {"password": account.password}, cookie=account.cookie)
    assert revealed.status == 200, revealed.body
    regenerated = api.post("/api/account/api-key", {"password": account.password, "regenerate": True},
                           cookie=account.cookie)
    assert regenerated.status == 200, regenerated.body


def test_the_owners_own_reentry_counter_has_the_same_curve_and_leaves_the_login_alone(api, clock):
    account = api.signup()
    for n in range(5):
        answer = api.post("/api/account/api-key", {"password": WRONG}, cookie=account.cookie)
        assert answer.error_code == "password_incorrect", n
    blocked = api.post("/api/account/api-key", {"password": account.password}, cookie=account.cookie)
    assert (blocked.status, blocked.error_code, blocked.headers["Retry-After"]) == (429, "rate_limited", "1")
    assert login(api, account.email, account.password).status == 200  # the login form's counter is apart
    clock.shift(1)
    assert api.post("/api/account/api-key", {"password": WRONG}, cookie=account.cookie).status == 403
    assert api.post("/api/account/api-key", {"password": account.password}, cookie=account.cookie).headers[
        "Retry-After"] == "2"
    clock.shift(2)
    assert api.post("/api/account/api-key", {"password": account.password}, cookie=account.cookie).status == 200
    # the success reset it: five more failures before any wait
    for _ in range(5):
        assert api.post("/api/account/api-key", {"password": WRONG}, cookie=account.cookie).status == 403
    assert api.post("/api/account/api-key", {"password": WRONG}, cookie=account.cookie).status == 429
    log = api.get("/api/account/events", cookie=account.cookie).body["events"]
    counted = [e["detail"]["consecutive_failures"] for e in log if e["type"] == "password_failed"]
    assert counted == [5, 4, 3, 2, 1, 6, 5, 4, 3, 2, 1]  # newest first: every examined failure, numbered


def test_signup_is_capped_per_address_per_hour(api, clock):
    for n in range(20):
        assert api.post("/api/signup", {"email": f"sweep{n}@example.com", "password": STRONG_PASSWORD}).status == 201
    over = api.post("/api/signup", {"email": "sweep-over@example.com", "password": STRONG_PASSWORD})
    assert (over.status, over.error_code) == (429, "rate_limited")
    assert 0 < int(over.headers["Retry-After"]) <= 3600
    taken = api.post("/api/signup", {"email": "sweep0@example.com", "password": STRONG_PASSWORD})
    assert taken.status == 429  # the cap also hides whether an address is taken
    api.ip = "2001:db8::beef"
    assert api.post("/api/signup", {"email": "other-net@example.com", "password": STRONG_PASSWORD}).status == 201


def test_signup_cap_resets_the_next_hour(api, clock):
    for n in range(20):
        api.post("/api/signup", {"email": f"hour{n}@example.com", "password": STRONG_PASSWORD})
    assert api.post("/api/signup", {"email": "hour-late@example.com", "password": STRONG_PASSWORD}).status == 429
    clock.shift(3600)
    assert api.post("/api/signup", {"email": "hour-late@example.com", "password": STRONG_PASSWORD}).status == 201


def test_browser_sessions_end_after_30_idle_minutes(api, clock):
    account = api.signup()
    clock.shift(29 * 60)
    assert api.get("/api/account", cookie=account.cookie).status == 200
    clock.shift(29 * 60)
    assert api.get("/api/account", cookie=account.cookie).status == 200  # activity kept it alive
    clock.shift(30 * 60)
    answer = api.get("/api/account", cookie=account.cookie)
    assert (answer.status, answer.error_code) == (401, "unauthenticated")


def test_browser_sessions_end_after_12_hours_whatever_the_activity(api, clock):
    account = api.signup()
    for _ in range(int(12 * 60 / 25) - 1):
        clock.shift(25 * 60)
        assert api.get("/api/account", cookie=account.cookie).status == 200
    clock.shift(12 * 3600 - (int(12 * 60 / 25) - 1) * 25 * 60)
    answer = api.get("/api/account", cookie=account.cookie)
    assert answer.status == 401


def test_the_api_key_does_not_expire_with_idleness(api, clock):
    account = api.signup()
    key = api.api_key(account)
    clock.shift(40 * 24 * 3600)
    assert api.get("/api/account", bearer=key).status == 200


def test_raising_the_session_epoch_ends_every_session_in_one_write(api):
    from chalicelib.store.models import UserModel

    account = api.signup()
    other = login(api, account.email, account.password).cookie
    user = UserModel.get(account.email)
    user.update(actions=[UserModel.session_epoch.add(1)])
    for cookie in (account.cookie, other):
        answer = api.get("/api/account", cookie=cookie)
        assert (answer.status, answer.error_code) == (401, "session_revoked")
    fresh = login(api, account.email, account.password).cookie
    assert api.get("/api/account", cookie=fresh).status == 200


def test_login_rehashes_when_the_parameters_rise(api, monkeypatch):
    from chalicelib.store.models import UserModel

    account = api.signup()
    assert ",t=2," in UserModel.get(account.email).password_hash
    monkeypatch.setenv("TWOSTEP_ARGON2_TIME_COST", "3")
    assert login(api, account.email, account.password).status == 200
    assert ",t=3," in UserModel.get(account.email).password_hash
    assert login(api, account.email, account.password).status == 200


def test_stored_credentials_hold_only_hashes_and_ciphertext(api, stack):
    import os

    from local.stack import client

    account = api.signup()
    key = api.api_key(account)
    second = login(api, account.email, account.password).cookie.split("=", 1)[1]
    secrets = [account.password, key, key.split(".")[1], second, second.split(".")[1],
               account.cookie.split("=", 1)[1].split(".")[1]]
    dynamodb = client("dynamodb", os.environ["TWOSTEP_AWS_ENDPOINT"])
    dump = ""
    for name in ("TWOSTEP_USERS_TABLE", "TWOSTEP_SESSIONS_TABLE", "TWOSTEP_EPHEMERAL_TABLE", "TWOSTEP_EVENTS_TABLE"):
        dump += json.dumps(dynamodb.scan(TableName=stack[name])["Items"], default=str)
    for secret in secrets:
        assert secret not in dump
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in dump
