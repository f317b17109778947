"""Two-factor with an authenticator app: enrolment, login, drift, replay, throttle, lock."""
from __future__ import annotations

import json
import logging
import os

from tests import rfc6238
from tests.api.conftest import enable_two_factor


def password_step(api, account, client="browser"):
    answer = api.post("/api/login", {"email": account.email, "password": account.password, "client": client})
    assert answer.status == 200, answer.body
    return answer


def verify(api, token, **fields):
    return api.post("/api/login/verify", {"login_token": token, **fields})


def test_setup_needs_the_password_and_changes_nothing_until_confirmed(api):
    account = api.signup()
    wrong = api.post("/api/account/two-factor/setup", {"password": "not my password"}, cookie=account.cookie)
    assert (wrong.status, wrong.error_code) == (403, "password_incorrect")
    setup = api.post("/api/account/two-factor/setup", {"password": account.password, "name": "Pixel 8"},
                     cookie=account.cookie)
    assert setup.status == 200
    assert set(setup.body) == {"authenticator_id", "secret", "otpauth_uri", "qr_svg"}
    assert len(setup.body["secret"]) == 32
    assert setup.body["otpauth_uri"].startswith("otpauth://totp/twostep:")
    assert f"secret={setup.body['secret']}" in setup.body["otpauth_uri"]
    assert "issuer=twostep" in setup.body["otpauth_uri"]
    assert setup.body["qr_svg"].startswith("<svg") and "xmlns" in setup.body["qr_svg"]
    assert api.get("/api/account", cookie=account.cookie).body["two_factor"]["enabled"] is False
    assert password_step(api, account).body["status"] == "authenticated"
    assert api.get("/api/account/two-factor/authenticators", cookie=account.cookie).body == {"authenticators": []}


def test_the_qr_code_decodes_to_exactly_the_otpauth_uri(api):
    from tests.qr import decode_svg

    account = api.signup()
    setup = api.post("/api/account/two-factor/setup", {"password": account.password}, cookie=account.cookie)
    assert decode_svg(setup.body["qr_svg"]) == [setup.body["otpauth_uri"]]


def test_setup_again_replaces_the_pending_authenticator(api):
    account = api.signup()
    first = api.post("/api/account/two-factor/setup", {"password": account.password}, cookie=account.cookie).body
    second = api.post("/api/account/two-factor/setup", {"password": account.password}, cookie=account.cookie).body
    stale = api.post("/api/account/two-factor/confirm",
                     {"authenticator_id": first["authenticator_id"], "code": rfc6238.totp(first["secret"])},
                     cookie=account.cookie)
    assert (stale.status, stale.error_code) == (404, "not_found")
    fresh = api.post("/api/account/two-factor/confirm",
                     {"authenticator_id": second["authenticator_id"], "code": rfc6238.totp(second["secret"])},
                     cookie=account.cookie)
    assert fresh.status == 200


def test_a_pending_authenticator_expires_after_15_minutes(api, clock):
    account = api.signup()
    setup = api.post("/api/account/two-factor/setup", {"password": account.password}, cookie=account.cookie).body
    clock.shift(15 * 60)
    late = api.post("/api/account/two-factor/confirm",
                    {"authenticator_id": setup["authenticator_id"], "code": rfc6238.totp(setup["secret"])},
                    cookie=account.cookie)
    assert late.status == 404


def test_a_wrong_confirmation_code_is_400_invalid_code(api):
    account = api.signup()
    setup = api.post("/api/account/two-factor/setup", {"password": account.password}, cookie=account.cookie).body
    good = rfc6238.totp(setup["secret"])
    bad = f"{(int(good) + 1) % 1_000_000:06d}"
    answer = api.post("/api/account/two-factor/confirm", {"authenticator_id": setup["authenticator_id"], "code": bad},
                      cookie=account.cookie)
    assert (answer.status, answer.error_code) == (400, "invalid_code")
    assert api.get("/api/account", cookie=account.cookie).body["two_factor"]["enabled"] is False


def test_enabling_ends_every_other_session_and_regenerates_the_api_key(api):
    account = api.signup()
    other_browser = password_step(api, account).cookie
    old_key = api.api_key(account)
    two_factor = enable_two_factor(api, account)
    assert len(two_factor.recovery_codes) == 10
    assert two_factor.api_key and two_factor.api_key != old_key
    for credentials in ({"cookie": other_browser}, {"bearer": old_key}):
        answer = api.get("/api/account", **credentials)
        assert (answer.status, answer.error_code) == (401, "session_revoked"), credentials
    assert api.get("/api/account", cookie=account.cookie).body["two_factor"]["enabled"] is True
    assert api.get("/api/account", bearer=two_factor.api_key).status == 200
    sessions = api.get("/api/account/sessions", cookie=account.cookie).body["sessions"]
    assert len(sessions) == 1 and sessions[0]["current"]
    status = api.get("/api/account", cookie=account.cookie).body["two_factor"]
    assert status["enabled_at"] and status["recovery_codes_remaining"] == 10 and status["recovery_codes_low"] is False


def test_enabling_from_the_api_key_hands_out_the_new_key(api):
    account = api.signup()
    old_key = api.api_key(account)
    setup = api.post("/api/account/two-factor/setup", {"password": account.password}, bearer=old_key).body
    confirm = api.post("/api/account/two-factor/confirm",
                       {"authenticator_id": setup["authenticator_id"], "code": rfc6238.totp(setup["secret"])},
                       bearer=old_key)
    assert confirm.status == 200
    assert api.get("/api/account", bearer=old_key).error_code == "session_revoked"
    assert api.get("/api/account", bearer=confirm.body["api_key"]).status == 200


def test_login_asks_for_a_second_factor_and_the_code_logs_in(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(30)
    first = password_step(api, account)
    assert first.cookie is None
    assert first.body["status"] == "two_factor_required"
    assert first.body["methods"] == ["totp", "recovery_code"]
    assert first.body["phone_hint"] is None
    answer = verify(api, first.body["login_token"], code=rfc6238.totp(two_factor.secret))
    assert answer.status == 200
    assert answer.body["status"] == "authenticated"
    assert "clock_skew_seconds" not in answer.body
    assert api.get("/api/account", cookie=answer.cookie).status == 200


def test_a_cli_login_with_a_code_gets_the_new_api_key(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(30)
    first = password_step(api, account, client="cli")
    answer = verify(api, first.body["login_token"], code=rfc6238.totp(two_factor.secret))
    assert answer.status == 200
    assert answer.body["api_key"] == two_factor.api_key
    assert answer.cookie is None


def test_the_confirming_code_cannot_log_in(api, clock):
    # on a frozen clock: on a real one a step can end between the confirm and the login,
    # and the next step's code (a different, unused one) rightly logs in
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    token = password_step(api, account).body["login_token"]
    answer = verify(api, token, code=rfc6238.totp(two_factor.secret))
    assert (answer.status, answer.error_code) == (401, "invalid_code")


def test_drift_of_one_step_is_accepted_and_reported(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(120)
    behind = verify(api, password_step(api, account).body["login_token"],
                    code=rfc6238.totp(two_factor.secret, at=clock_time(-30)))
    assert behind.status == 200 and behind.body["clock_skew_seconds"] == -30
    clock.shift(60)
    ahead = verify(api, password_step(api, account).body["login_token"],
                   code=rfc6238.totp(two_factor.secret, at=clock_time(30)))
    assert ahead.status == 200 and ahead.body["clock_skew_seconds"] == 30


def clock_time(offset):
    import time

    return time.time() + offset


def test_two_steps_away_is_refused(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(300)
    for offset in (-60, 60):
        token = password_step(api, account).body["login_token"]
        answer = verify(api, token, code=rfc6238.totp(two_factor.secret, at=clock_time(offset)))
        assert (answer.status, answer.error_code) == (401, "invalid_code"), offset


def test_a_code_works_once_and_an_older_one_never_after(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(90)
    code = rfc6238.totp(two_factor.secret)
    assert verify(api, password_step(api, account).body["login_token"], code=code).status == 200
    replay = verify(api, password_step(api, account).body["login_token"], code=code)
    assert (replay.status, replay.error_code) == (401, "invalid_code")
    older = verify(api, password_step(api, account).body["login_token"],
                   code=rfc6238.totp(two_factor.secret, at=clock_time(-30)))
    assert older.status == 401


def test_the_login_token_opens_nothing_else_dies_after_use_and_after_5_minutes(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(30)
    token = password_step(api, account).body["login_token"]
    assert api.get("/api/account", bearer=token).status == 401
    assert api.get("/api/account", headers={"cookie": f"twostep_session={token}"}).status == 401
    assert api.post("/api/account/api-key", {"password": account.password}, bearer=token).status == 401
    assert verify(api, token, code=rfc6238.totp(two_factor.secret)).status == 200
    used = verify(api, token, code=rfc6238.totp(two_factor.secret, at=clock_time(30)))
    assert (used.status, used.error_code) == (401, "unauthenticated")

    clock.shift(60)
    late = password_step(api, account).body["login_token"]
    clock.shift(5 * 60)
    expired = verify(api, late, code=rfc6238.totp(two_factor.secret))
    assert (expired.status, expired.error_code) == (401, "unauthenticated")
    for junk in ("", "nope", "a" * 200, late + "x"):
        assert verify(api, junk, code="123456").status in (400, 401)


def test_a_user_id_in_the_body_is_ignored(api, clock):
    alice, bob = api.signup(), api.signup()
    alice_2fa = enable_two_factor(api, alice)
    enable_two_factor(api, bob)
    clock.shift(30)
    token = password_step(api, bob).body["login_token"]
    answer = api.post("/api/login/verify", {"login_token": token, "user_id": alice.user_id,
                                            "email": alice.email, "code": rfc6238.totp(alice_2fa.secret)})
    assert answer.status == 401


def test_exactly_one_method_per_attempt(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    token = password_step(api, account).body["login_token"]
    both = verify(api, token, code="123456", recovery_code=two_factor.recovery_codes[0])
    assert (both.status, both.error_code) == (400, "invalid_request")
    assert verify(api, token).error_code == "invalid_request"
    assert verify(api, token, code=123456).error_code == "invalid_request"


def test_second_factor_backoff_after_three_failures(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(30)
    token = password_step(api, account).body["login_token"]
    for _ in range(3):
        assert verify(api, token, code="000000").status == 401
    waiting = verify(api, token, code=rfc6238.totp(two_factor.secret))
    assert (waiting.status, waiting.error_code) == (429, "rate_limited")
    assert waiting.headers["Retry-After"] == "1"
    # a new login attempt does not reset the counter
    other = password_step(api, account).body["login_token"]
    assert verify(api, other, code=rfc6238.totp(two_factor.secret)).status == 429
    clock.shift(1)
    assert verify(api, token, code="000000").status == 401  # 4th failure: 2 s
    assert verify(api, token, code="000000").headers["Retry-After"] == "2"
    clock.shift(2)
    # switching method does not reset it either: a wrong recovery code counts too
    assert verify(api, token, recovery_code="aaaa-bbbb-cccc-dddd").status == 401
    assert verify(api, token, code="000000").headers["Retry-After"] == "4"
    clock.shift(4)
    assert verify(api, token, code=rfc6238.totp(two_factor.secret)).status == 200
    fresh = password_step(api, account).body["login_token"]
    for _ in range(3):
        assert verify(api, fresh, code="000000").status == 401  # counter was reset by the success
    assert verify(api, fresh, code="000000").status == 429


def test_the_lock_at_100_failures_and_its_unlocking_by_a_recovery_code(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    token = None
    for n in range(1, 101):
        clock.shift(900)
        token = password_step(api, account).body["login_token"]
        answer = verify(api, token, code="000000")
        assert answer.status == 401, (n, answer.body)
    # the login token died with the lock
    assert verify(api, token, code="000000").error_code == "unauthenticated"
    clock.shift(900)
    first = password_step(api, account)
    assert first.body["methods"] == ["recovery_code"]
    locked = verify(api, first.body["login_token"], code=rfc6238.totp(two_factor.secret))
    assert (locked.status, locked.error_code) == (403, "two_factor_locked")
    assert "recovery code" in locked.body["error"]["message"]
    unlocked = verify(api, first.body["login_token"], recovery_code=two_factor.recovery_codes[0])
    assert unlocked.status == 200, unlocked.body
    log = api.get("/api/account/events", cookie=unlocked.cookie).body["events"]
    events = [e["type"] for e in log]
    assert events.count("two_factor_locked") == 1
    failures = [e["detail"]["consecutive_failures"] for e in log if e["type"] == "two_factor_failed"]
    assert failures[0] == 100  # newest first
    assert events.index("recovery_code_used") < events.index("two_factor_locked")
    clock.shift(30)
    again = password_step(api, account)
    assert again.body["methods"] == ["totp", "recovery_code"]
    assert verify(api, again.body["login_token"], code=rfc6238.totp(two_factor.secret)).status == 200


def test_several_authenticators_list_use_and_remove(api, clock):
    account = api.signup()
    first = enable_two_factor(api, account, name="Old phone")
    clock.shift(30)
    second = enable_two_factor(api, account, name="Pixel 8")
    assert second.recovery_codes == [] and second.api_key == ""  # only {enabled: true}
    listed = api.get("/api/account/two-factor/authenticators", cookie=account.cookie).body["authenticators"]
    assert sorted(a["name"] for a in listed) == ["Old phone", "Pixel 8"]
    for a in listed:
        assert set(a) == {"id", "name", "created_at", "last_used_at"}
    clock.shift(30)
    login = verify(api, password_step(api, account).body["login_token"], code=rfc6238.totp(second.secret))
    assert login.status == 200
    old_id = next(a["id"] for a in listed if a["name"] == "Old phone")
    new_id = next(a["id"] for a in listed if a["name"] == "Pixel 8")
    no_password = api.delete(f"/api/account/two-factor/authenticators/{old_id}", {"password": "nope nope"},
                             cookie=account.cookie)
    assert no_password.status == 403
    assert api.delete(f"/api/account/two-factor/authenticators/{old_id}", {"password": account.password},
                      cookie=account.cookie).status == 204
    clock.shift(30)
    retired = verify(api, password_step(api, account).body["login_token"], code=rfc6238.totp(first.secret))
    assert retired.status == 401
    last = api.delete(f"/api/account/two-factor/authenticators/{new_id}", {"password": account.password},
                      cookie=account.cookie)
    assert (last.status, last.error_code) == (409, "conflict")
    missing = api.delete("/api/account/two-factor/authenticators/nope", {"password": account.password},
                         cookie=account.cookie)
    assert missing.status == 404
    events = [e["type"] for e in api.get("/api/account/events", cookie=account.cookie).body["events"]]
    assert "authenticator_added" in events and "authenticator_removed" in events


def test_disable_with_the_password_removes_every_factor(api, stack, clock):
    from local.stack import client

    account = api.signup()
    enable_two_factor(api, account)
    clock.shift(30)
    enable_two_factor(api, account, name="Second")
    wrong = api.post("/api/account/two-factor/disable", {"password": "wrong wrong"}, cookie=account.cookie)
    assert wrong.status == 403
    answer = api.post("/api/account/two-factor/disable", {"password": account.password}, cookie=account.cookie)
    assert (answer.status, answer.body) == (200, {"enabled": False})
    assert password_step(api, account).body["status"] == "authenticated"
    status = api.get("/api/account", cookie=account.cookie).body["two_factor"]
    assert status == {"enabled": False, "enabled_at": None, "phone": None,
                      "recovery_codes_remaining": 0, "recovery_codes_low": False}
    dynamodb = client("dynamodb", os.environ["TWOSTEP_AWS_ENDPOINT"])
    factors = dynamodb.query(TableName=stack["TWOSTEP_FACTORS_TABLE"], KeyConditionExpression="user_id = :u",
                             ExpressionAttributeValues={":u": {"S": account.user_id}})["Items"]
    assert factors == []
    codes = dynamodb.scan(TableName=stack["TWOSTEP_RECOVERY_CODES_TABLE"])["Items"]
    assert all(item["user_id"]["S"] != account.user_id for item in codes)
    events = [e["type"] for e in api.get("/api/account/events", cookie=account.cookie).body["events"]]
    assert "two_factor_disabled" in events and "two_factor_enabled" in events


def test_no_totp_secret_in_plaintext_anywhere(api, stack, clock, caplog):
    from local.stack import client

    caplog.set_level(logging.DEBUG)
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(30)
    seen = []
    token = password_step(api, account).body["login_token"]
    seen.append(verify(api, token, code="000000").body)
    seen.append(verify(api, token, code=rfc6238.totp(two_factor.secret)).body)
    for path in ("/api/account", "/api/account/two-factor/authenticators", "/api/account/events",
                 "/api/account/sessions"):
        seen.append(api.get(path, cookie=account.cookie).body)
    dumped = json.dumps(seen)
    dynamodb = client("dynamodb", os.environ["TWOSTEP_AWS_ENDPOINT"])
    for name in stack:
        if name.endswith("_TABLE"):
            dumped += json.dumps(dynamodb.scan(TableName=stack[name])["Items"], default=str)
    dumped += caplog.text
    import base64

    raw = base64.b32decode(two_factor.secret)
    for form in (two_factor.secret, two_factor.secret.lower(), raw.hex(), base64.b64encode(raw).decode()):
        assert form not in dumped
