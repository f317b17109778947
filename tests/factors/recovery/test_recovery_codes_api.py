"""Recovery codes: made at enabling, used once, viewed and regenerated with the password."""
from __future__ import annotations

import json
import os

from tests.api.conftest import enable_two_factor


def login_with(api, account, recovery_code):
    first = api.post("/api/login", {"email": account.email, "password": account.password})
    return api.post("/api/login/verify", {"login_token": first.body["login_token"], "recovery_code": recovery_code})


def test_a_code_logs_in_once_and_another_still_works(api):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    code = two_factor.recovery_codes[3]
    first = login_with(api, account, code)
    assert first.status == 200 and first.body["status"] == "authenticated"
    again = login_with(api, account, code)
    assert (again.status, again.error_code) == (401, "invalid_code")
    assert login_with(api, account, two_factor.recovery_codes[4]).status == 200
    status = api.get("/api/account", cookie=account.cookie).body["two_factor"]
    assert status["recovery_codes_remaining"] == 8
    log = api.get("/api/account/events", cookie=account.cookie).body["events"]
    used = [e for e in log if e["type"] == "recovery_code_used"]
    assert [e["detail"]["position"] for e in used] == [5, 4]  # by position, never the code
    assert code not in json.dumps(log)


def test_normalised_forms_are_accepted(api):
    account = api.signup()
    codes = enable_two_factor(api, account).recovery_codes
    variants = [
        codes[0].upper(),
        codes[1].replace("-", ""),
        codes[2].replace("-", " "),
        codes[3].replace("0", "o").replace("1", "l"),
        codes[4].replace("1", "I").upper(),
    ]
    for typed in variants:
        answer = login_with(api, account, typed)
        assert answer.status == 200, typed


def test_a_code_of_another_account_is_refused(api):
    alice, bob = api.signup(), api.signup()
    alice_codes = enable_two_factor(api, alice).recovery_codes
    enable_two_factor(api, bob)
    answer = login_with(api, bob, alice_codes[0])
    assert (answer.status, answer.error_code) == (401, "invalid_code")
    assert login_with(api, alice, alice_codes[0]).status == 200


def test_view_needs_the_password_and_shows_used_codes(api):
    account = api.signup()
    codes = enable_two_factor(api, account).recovery_codes
    login_with(api, account, codes[0])
    wrong = api.post("/api/account/recovery-codes", {"password": "wrong wrong"}, cookie=account.cookie)
    assert (wrong.status, wrong.error_code) == (403, "password_incorrect")
    assert api.post("/api/account/recovery-codes", {}, cookie=account.cookie).status == 400
    view = api.post("/api/account/recovery-codes", {"password": account.password}, cookie=account.cookie)
    assert view.status == 200
    assert [c["code"] for c in view.body["codes"]] == codes
    assert view.body["codes"][0]["used_at"] is not None
    assert all(c["used_at"] is None for c in view.body["codes"][1:])
    events = [e["type"] for e in api.get("/api/account/events", cookie=account.cookie).body["events"]]
    assert "recovery_codes_viewed" in events


def test_regenerating_kills_every_old_code_at_once(api, clock):
    account = api.signup()
    old = enable_two_factor(api, account).recovery_codes
    assert api.post("/api/account/recovery-codes/regenerate", {"password": "nope nope"},
                    cookie=account.cookie).status == 403
    answer = api.post("/api/account/recovery-codes/regenerate", {"password": account.password}, cookie=account.cookie)
    assert answer.status == 200
    new = [c["code"] for c in answer.body["codes"]]
    assert len(new) == 10 and not set(new) & set(old)
    assert all(c["used_at"] is None for c in answer.body["codes"])
    for code in old[:3]:
        assert login_with(api, account, code).status == 401
    clock.shift(1)  # three failures: the backoff's first second
    assert login_with(api, account, new[0]).status == 200
    view = api.post("/api/account/recovery-codes", {"password": account.password}, cookie=account.cookie)
    assert [c["code"] for c in view.body["codes"]] == new
    events = [e["type"] for e in api.get("/api/account/events", cookie=account.cookie).body["events"]]
    assert "recovery_codes_regenerated" in events


def test_few_remaining_codes_are_flagged(api):
    account = api.signup()
    codes = enable_two_factor(api, account).recovery_codes
    for n, code in enumerate(codes[:7], start=1):
        assert login_with(api, account, code).status == 200
        status = api.get("/api/account", cookie=account.cookie).body["two_factor"]
        assert status["recovery_codes_remaining"] == 10 - n
        assert status["recovery_codes_low"] is (10 - n <= 3)


def test_recovery_codes_need_two_factor(api):
    account = api.signup()
    answer = api.post("/api/account/recovery-codes", {"password": account.password}, cookie=account.cookie)
    assert (answer.status, answer.error_code) == (409, "conflict")


def test_stored_items_hold_no_plaintext_code(api, stack):
    from local.stack import client

    account = api.signup()
    codes = enable_two_factor(api, account).recovery_codes
    dynamodb = client("dynamodb", os.environ["TWOSTEP_AWS_ENDPOINT"])
    dumped = ""
    for name in stack:
        if name.endswith("_TABLE"):
            dumped += json.dumps(dynamodb.scan(TableName=stack[name])["Items"], default=str)
    for code in codes:
        assert code not in dumped
        assert code.replace("-", "") not in dumped
        assert code.upper() not in dumped
    items = dynamodb.scan(TableName=stack["TWOSTEP_RECOVERY_CODES_TABLE"])["Items"]
    mine = [i for i in items if i["user_id"]["S"] == account.user_id]
    assert len(mine) == 10
    assert all(len(i["code_hash"]["S"]) == 64 for i in mine)  # HMAC-SHA256, hex
