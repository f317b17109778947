"""SMS recovery through SNS (moto): verify a phone, log in with a texted code, the caps."""
from __future__ import annotations

import os

import pytest

from tests import rfc6238, sms
from tests.api.conftest import enable_two_factor

MOBILE = "+447400123456"


def emulator():
    return os.environ["TWOSTEP_AWS_ENDPOINT"]


def number(n: int) -> str:
    return f"+4474001234{n:02d}"


def add_phone(api, account, phone=MOBILE, **extra):
    return api.post("/api/account/phone", {"phone": phone, "password": account.password, **extra},
                    cookie=account.cookie)


def with_phone(api, phone=MOBILE):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    assert add_phone(api, account, phone).status == 202
    code = sms.last_code(emulator(), phone)
    assert api.post("/api/account/phone/verify", {"code": code}, cookie=account.cookie).status == 200
    return account, two_factor


def password_step(api, account):
    return api.post("/api/login", {"email": account.email, "password": account.password})


@pytest.fixture
def published(monkeypatch):
    """Every Publish call's parameters, seen through botocore's event hooks."""
    from chalicelib import aws

    calls = []
    client = aws.client("sns")
    handler = lambda params, **_: calls.append(params)  # noqa: E731
    client.meta.events.register("provide-client-params.sns.Publish", handler)
    yield calls
    client.meta.events.unregister("provide-client-params.sns.Publish", handler)


def test_a_phone_needs_two_factor_and_the_password(api):
    account = api.signup()
    off = add_phone(api, account)
    assert (off.status, off.error_code) == (409, "conflict")
    enable_two_factor(api, account)
    wrong = api.post("/api/account/phone", {"phone": MOBILE, "password": "wrong wrong"}, cookie=account.cookie)
    assert (wrong.status, wrong.error_code) == (403, "password_incorrect")


@pytest.mark.parametrize("phone,reason", [("+44 56 1234 5678", "VoIP"), ("+1 900 555 0100", "premium-rate"),
                                          ("+1 415", "not a valid")])
def test_refused_numbers_name_the_reason_and_send_nothing(api, phone, reason):
    account = api.signup()
    enable_two_factor(api, account)
    before = len(sms.messages(emulator()))
    answer = add_phone(api, account, phone)
    assert (answer.status, answer.error_code) == (400, "phone_not_allowed")
    assert reason.lower() in answer.body["error"]["message"].lower()
    assert len(sms.messages(emulator())) == before


def test_the_setup_code_arrives_by_sns_and_binds_the_number(api, published):
    account = api.signup()
    enable_two_factor(api, account)
    answer = add_phone(api, account, "07400 123456", country="GB")
    assert (answer.status, answer.body) == (202, {"phone_hint": "+•• ••• ••• ••56"})
    assert published[-1]["PhoneNumber"] == MOBILE
    attributes = published[-1]["MessageAttributes"]
    assert attributes["AWS.SNS.SMS.SMSType"]["StringValue"] == "Transactional"
    assert attributes["AWS.SNS.SMS.SenderID"]["StringValue"] == "twostep"
    status = api.get("/api/account", cookie=account.cookie).body["two_factor"]
    assert status["phone"] == {"hint": "+•• ••• ••• ••56", "verified": False}
    code = sms.last_code(emulator(), MOBILE)
    wrong = api.post("/api/account/phone/verify", {"code": f"{(int(code) + 1) % 10**6:06d}"}, cookie=account.cookie)
    assert (wrong.status, wrong.error_code) == (400, "invalid_code")
    right = api.post("/api/account/phone/verify", {"code": code}, cookie=account.cookie)
    assert (right.status, right.body) == (200, {"phone": {"hint": "+•• ••• ••• ••56", "verified": True}})
    again = api.post("/api/account/phone/verify", {"code": code}, cookie=account.cookie)
    assert again.status == 400  # used once
    status = api.get("/api/account", cookie=account.cookie).body["two_factor"]
    assert status["phone"] == {"hint": "+•• ••• ••• ••56", "verified": True}
    types = [e["type"] for e in api.get("/api/account/events", cookie=account.cookie).body["events"]]
    for expected in ("phone_added", "sms_sent", "phone_verified"):
        assert expected in types


def test_a_setup_code_expires_after_10_minutes(api, clock):
    account = api.signup()
    enable_two_factor(api, account)
    add_phone(api, account)
    code = sms.last_code(emulator(), MOBILE)
    clock.shift(10 * 60)
    late = api.post("/api/account/phone/verify", {"code": code}, cookie=account.cookie)
    assert (late.status, late.error_code) == (400, "invalid_code")
    assert "expired" in late.body["error"]["message"]


def test_login_with_an_sms_code(api, clock):
    account, _ = with_phone(api, number(1))
    first = password_step(api, account).body
    assert first["methods"] == ["totp", "recovery_code", "sms"]
    assert first["phone_hint"] == "+•• ••• ••• ••01"
    clock.shift(30)
    sent = api.post("/api/login/sms", {"login_token": first["login_token"]})
    assert (sent.status, sent.body) == (202, {"phone_hint": "+•• ••• ••• ••01"})
    code = sms.last_code(emulator(), number(1))
    answer = api.post("/api/login/verify", {"login_token": first["login_token"], "sms_code": code})
    assert answer.status == 200 and answer.body["status"] == "authenticated"
    assert api.get("/api/account", cookie=answer.cookie).status == 200
    events = api.get("/api/account/events", cookie=answer.cookie).body["events"]
    assert events[0]["type"] == "login" and events[0]["detail"]["method"] == "sms"


def test_a_code_sent_for_one_login_token_does_not_work_for_another(api, clock):
    account, _ = with_phone(api, number(2))
    first = password_step(api, account).body["login_token"]
    second = password_step(api, account).body["login_token"]
    clock.shift(30)
    api.post("/api/login/sms", {"login_token": first})
    code = sms.last_code(emulator(), number(2))
    answer = api.post("/api/login/verify", {"login_token": second, "sms_code": code})
    assert (answer.status, answer.error_code) == (401, "invalid_code")


def test_a_new_send_kills_the_old_code_and_keeps_the_failure_count(api, clock):
    account, _ = with_phone(api, number(3))
    token = password_step(api, account).body["login_token"]
    clock.shift(30)
    api.post("/api/login/sms", {"login_token": token})
    old = sms.last_code(emulator(), number(3))
    for _ in range(2):
        assert api.post("/api/login/verify", {"login_token": token, "sms_code": "000000"}).status == 401
    clock.shift(30)
    assert api.post("/api/login/sms", {"login_token": token}).status == 202
    new = sms.last_code(emulator(), number(3))
    if old != new:
        stale = api.post("/api/login/verify", {"login_token": token, "sms_code": old})
        assert stale.status == 401  # the third failure
    else:
        assert api.post("/api/login/verify", {"login_token": token, "sms_code": "000000"}).status == 401
    blocked = api.post("/api/login/verify", {"login_token": token, "sms_code": new})
    assert blocked.status == 429  # the resend did not reset the count
    clock.shift(1)
    assert api.post("/api/login/verify", {"login_token": token, "sms_code": new}).status == 200


def test_thirty_seconds_between_sends_and_nothing_sent_over_a_cap(api, clock):
    account, _ = with_phone(api, number(4))
    token = password_step(api, account).body["login_token"]
    clock.shift(30)
    assert api.post("/api/login/sms", {"login_token": token}).status == 202
    count = len(sms.messages(emulator(), number(4)))
    clock.shift(29)
    early = api.post("/api/login/sms", {"login_token": token})
    assert (early.status, early.error_code) == (429, "rate_limited")
    assert early.headers["Retry-After"] == "1"
    assert len(sms.messages(emulator(), number(4))) == count
    clock.shift(1)
    assert api.post("/api/login/sms", {"login_token": token}).status == 202


def test_at_most_five_sends_an_hour_per_account(api, clock):
    account, _ = with_phone(api, number(5))  # the setup code was send 1
    clock.shift(30)
    token = password_step(api, account).body["login_token"]
    for _ in range(4):
        assert api.post("/api/login/sms", {"login_token": token}).status == 202
        clock.shift(30)
    count = len(sms.messages(emulator(), number(5)))
    over = api.post("/api/login/sms", {"login_token": token})
    assert (over.status, over.error_code) == (429, "rate_limited")
    assert len(sms.messages(emulator(), number(5))) == count


def test_at_most_ten_sends_a_day_per_number(api, clock):
    clock.move_to("2026-11-28T00:00:10Z")
    shared = number(6)
    account, _ = with_phone(api, shared)
    sent = 1
    while sent < 10:
        clock.shift(3600)
        token = password_step(api, account).body["login_token"]
        for _ in range(min(4, 10 - sent)):
            assert api.post("/api/login/sms", {"login_token": token}).status == 202, sent
            sent += 1
            clock.shift(30)
    clock.shift(3600)
    other = api.signup()
    enable_two_factor(api, other)
    count = len(sms.messages(emulator(), shared))
    over = add_phone(api, other, shared)
    assert (over.status, over.error_code) == (429, "rate_limited")
    assert len(sms.messages(emulator(), shared)) == count


def test_the_global_hourly_cap(api, clock, monkeypatch):
    monkeypatch.setenv("TWOSTEP_SMS_GLOBAL_PER_HOUR", "2")
    clock.move_to("2026-12-01T05:00:10Z")  # an hour no other test sent in
    first, second, third = (api.signup() for _ in range(3))
    for account in (first, second, third):
        enable_two_factor(api, account)
    assert add_phone(api, first, number(7)).status == 202
    assert add_phone(api, second, number(8)).status == 202
    over = add_phone(api, third, number(9))
    assert (over.status, over.error_code) == (429, "rate_limited")
    assert sms.messages(emulator(), number(9)) == []


def test_an_sns_failure_is_clear_and_leaves_nothing_half_written(api, clock):
    from botocore.stub import Stubber

    from chalicelib import aws

    account = api.signup()
    two_factor = enable_two_factor(api, account)
    with Stubber(aws.client("sns")) as stub:
        stub.add_client_error("publish", service_error_code="OptedOut", http_status_code=400)
        answer = add_phone(api, account, number(10))
    assert (answer.status, answer.error_code) == (502, "sms_failed")
    message = answer.body["error"]["message"]
    assert "authenticator app" in message and "recovery code" in message
    assert api.get("/api/account", cookie=account.cookie).body["two_factor"]["phone"] is None
    log = api.get("/api/account/events", cookie=account.cookie).body["events"]
    failed = [e for e in log if e["type"] == "sms_failed"]
    assert failed and failed[0]["detail"]["reason"] == "OptedOut"
    # the attempt is on the log (it was made with the password), and so is its failure;
    # no text is said to have gone
    assert [e["type"] for e in log][:2] == ["sms_failed", "phone_added"]
    assert "sms_sent" not in [e["type"] for e in log]
    # the person can still log in with the authenticator app
    clock.shift(30)
    token = password_step(api, account).body["login_token"]
    assert api.post("/api/login/verify", {"login_token": token, "code": rfc6238.totp(two_factor.secret)}).status == 200


def test_an_sns_failure_at_login_keeps_the_login_token_usable(api, clock):
    from botocore.stub import Stubber

    from chalicelib import aws

    account, two_factor = with_phone(api, number(11))
    token = password_step(api, account).body["login_token"]
    clock.shift(30)
    with Stubber(aws.client("sns")) as stub:
        stub.add_client_error("publish", service_error_code="InvalidParameter", http_status_code=400)
        answer = api.post("/api/login/sms", {"login_token": token})
    assert (answer.status, answer.error_code) == (502, "sms_failed")
    clock.shift(30)
    with Stubber(aws.client("sns")) as stub:  # SNS throttling is not a refusal: try again later
        stub.add_client_error("publish", service_error_code="Throttling", http_status_code=400)
        answer = api.post("/api/login/sms", {"login_token": token})
    assert (answer.status, answer.error_code) == (503, "unavailable")
    assert int(answer.headers["Retry-After"]) >= 1
    assert api.post("/api/login/verify", {"login_token": token, "code": rfc6238.totp(two_factor.secret)}).status == 200


def test_remove_the_phone_with_the_password(api):
    account, _ = with_phone(api, number(12))
    assert api.delete("/api/account/phone", {"password": "wrong wrong"}, cookie=account.cookie).status == 403
    assert api.delete("/api/account/phone", {"password": account.password}, cookie=account.cookie).status == 204
    assert api.get("/api/account", cookie=account.cookie).body["two_factor"]["phone"] is None
    assert password_step(api, account).body["methods"] == ["totp", "recovery_code"]
    again = api.delete("/api/account/phone", {"password": account.password}, cookie=account.cookie)
    assert again.status == 404


def test_login_sms_needs_a_live_login_token_and_a_phone(api):
    account = api.signup()
    enable_two_factor(api, account)
    assert api.post("/api/login/sms", {"login_token": "nope"}).status == 401
    token = password_step(api, account).body["login_token"]
    answer = api.post("/api/login/sms", {"login_token": token})
    assert (answer.status, answer.error_code) == (404, "not_found")


def test_the_challenge_route_texts_the_code_as_its_alias_does(api, clock):
    account, _ = with_phone(api, number(13))
    token = password_step(api, account).body["login_token"]
    clock.shift(30)
    sent = api.post("/api/login/challenge", {"login_token": token, "method": "sms"})
    assert (sent.status, sent.body) == (202, {"phone_hint": "+•• ••• ••• ••13"})
    code = sms.last_code(emulator(), number(13))
    answer = api.post("/api/login/verify", {"login_token": token, "sms_code": code})
    assert answer.status == 200 and answer.body["status"] == "authenticated", answer.body


def test_a_login_attempt_made_before_challenges_existed_is_refused_as_expired(api, clock):
    """A login token written by the version before the challenge step has no `challenges` map
    (DynamoDB cannot set a path inside a missing map): its SMS is refused as an expired login,
    never a 500, and nothing is sent."""
    from chalicelib.store import keys
    from chalicelib.store.models import LoginAttemptModel

    account, _ = with_phone(api, number(14))
    token = password_step(api, account).body["login_token"]
    LoginAttemptModel(keys.login_attempt(token.split(".")[0])).update(actions=[LoginAttemptModel.challenges.remove()])
    before = len(sms.messages(emulator(), number(14)))
    clock.shift(30)
    answer = api.post("/api/login/challenge", {"login_token": token, "method": "sms"})
    assert (answer.status, answer.error_code) == (401, "unauthenticated"), answer.body
    assert len(sms.messages(emulator(), number(14))) == before
