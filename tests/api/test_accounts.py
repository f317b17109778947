"""Signup, login, logout, the account, API keys: the foundation's contract."""
from __future__ import annotations

import re

from tests.api.conftest import STRONG_PASSWORD


def test_health(api):
    answer = api.get("/api/health")
    assert answer.status == 200
    assert answer.body == {"status": "ok"}


def test_signup_sets_a_strict_session_cookie_and_returns_the_user(api):
    answer = api.post("/api/signup", {"email": "Ada@Example.COM", "password": STRONG_PASSWORD})
    assert answer.status == 201
    assert answer.body["user"]["email"] == "ada@example.com"
    assert re.fullmatch(r"[0-9a-f]{32}", answer.body["user"]["id"])
    raw_cookie = answer.headers["Set-Cookie"]
    assert raw_cookie.startswith("twostep_session=")
    assert "HttpOnly" in raw_cookie and "SameSite=Strict" in raw_cookie
    assert "Secure" not in raw_cookie  # local mode is plain HTTP
    account = api.get("/api/account", cookie=answer.cookie)
    assert account.status == 200
    assert account.body["user"]["email"] == "ada@example.com"
    assert account.body["two_factor"] == {
        "enabled": False, "enabled_at": None, "phone": None,
        "recovery_codes_remaining": 0, "recovery_codes_low": False,
    }


def test_signup_with_a_taken_email_in_any_case_is_a_conflict(api):
    api.signup("taken@example.com")
    answer = api.post("/api/signup", {"email": "TAKEN@example.com", "password": STRONG_PASSWORD + "!"})
    assert answer.status == 409
    assert answer.error_code == "conflict"


def test_signup_refuses_bad_input_with_clear_errors(api):
    cases = [
        ({"email": "not-an-email", "password": STRONG_PASSWORD}, 400, "invalid_request"),
        ({"email": 42, "password": STRONG_PASSWORD}, 400, "invalid_request"),
        ({"password": STRONG_PASSWORD}, 400, "invalid_request"),
        ({"email": "x@example.com", "password": ["a"]}, 400, "invalid_request"),
        ({"email": "x@example.com", "password": "short"}, 400, "weak_password"),
        ({"email": "x@example.com", "password": "password1234"}, 400, "weak_password"),
    ]
    for body, status, code in cases:
        answer = api.post("/api/signup", body)
        assert (answer.status, answer.error_code) == (status, code), body
        assert answer.body["error"]["message"]


def test_weak_password_names_the_rule_broken(api):
    short = api.post("/api/signup", {"email": "rule@example.com", "password": "seven77"})
    assert "at least 8 characters" in short.body["error"]["message"]
    common = api.post("/api/signup", {"email": "rule@example.com", "password": "iloveyou2"})
    assert common.error_code == "weak_password"
    assert "commonly used" in common.body["error"]["message"]
    mine = api.post("/api/signup", {"email": "rule@example.com", "password": "my rule@example.com pass"})
    assert "email" in mine.body["error"]["message"]


def test_login_browser_sets_a_cookie_and_cli_gets_the_api_key(api):
    account = api.signup()
    browser = api.post("/api/login", {"email": account.email.upper(), "password": account.password})
    assert browser.status == 200
    assert browser.body["status"] == "authenticated"
    assert "api_key" not in browser.body
    assert api.get("/api/account", cookie=browser.cookie).status == 200

    cli = api.post("/api/login", {"email": account.email, "password": account.password, "client": "cli"})
    assert cli.status == 200
    assert cli.cookie is None
    assert cli.body["api_key"] == api.api_key(account)
    assert api.get("/api/account", bearer=cli.body["api_key"]).body["user"]["email"] == account.email


def test_login_with_an_unknown_client_is_refused(api):
    account = api.signup()
    answer = api.post("/api/login", {"email": account.email, "password": account.password, "client": "tv"})
    assert (answer.status, answer.error_code) == (400, "invalid_request")


def test_unknown_email_and_wrong_password_answer_identically(api):
    account = api.signup()
    wrong = api.post("/api/login", {"email": account.email, "password": "not the password at all"})
    unknown = api.post("/api/login", {"email": "nobody-here@example.com", "password": "not the password at all"})
    malformed = api.post("/api/login", {"email": "no-at-sign", "password": "not the password at all"})
    assert wrong.status == unknown.status == malformed.status == 401
    assert wrong.body == unknown.body == malformed.body
    assert wrong.error_code == "invalid_credentials"


def test_logout_ends_the_session_on_the_server(api):
    account = api.signup()
    assert api.post("/api/logout", cookie=account.cookie).status == 204
    after = api.get("/api/account", cookie=account.cookie)
    assert (after.status, after.error_code) == (401, "session_revoked")


def test_logout_without_a_live_session_is_unauthenticated(api):
    account = api.signup()
    api.post("/api/logout", cookie=account.cookie)
    again = api.post("/api/logout", cookie=account.cookie)
    assert (again.status, again.error_code) == (401, "session_revoked")
    assert api.post("/api/logout").error_code == "unauthenticated"


def test_logout_with_a_bearer_key_changes_nothing(api):
    account = api.signup()
    key = api.api_key(account)
    assert api.post("/api/logout", bearer=key).status == 204
    assert api.get("/api/account", bearer=key).status == 200


def test_no_credentials_is_unauthenticated(api):
    for headers in ({}, {"cookie": "twostep_session=garbage"}, {"authorization": "Bearer nope.nope"},
                    {"authorization": "Basic dXNlcjpwYXNz"}):
        answer = api.get("/api/account", headers=headers)
        assert (answer.status, answer.error_code) == (401, "unauthenticated"), headers


def test_a_cookie_value_is_not_a_bearer_token_and_the_api_key_is_not_a_cookie(api):
    account = api.signup()
    cookie_token = account.cookie.split("=", 1)[1]
    assert api.get("/api/account", bearer=cookie_token).status == 401
    key = api.api_key(account)
    assert api.get("/api/account", headers={"cookie": f"twostep_session={key}"}).status == 401


def test_api_key_reveal_needs_the_password(api):
    account = api.signup()
    wrong = api.post("/api/account/api-key", {"password": "wrong password here"}, cookie=account.cookie)
    assert (wrong.status, wrong.error_code) == (403, "password_incorrect")
    missing = api.post("/api/account/api-key", {}, cookie=account.cookie)
    assert (missing.status, missing.error_code) == (400, "invalid_request")
    key = api.api_key(account)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", key)
    assert api.api_key(account) == key  # revealing does not change it


def test_regenerating_the_api_key_kills_the_old_one_at_once(api):
    account = api.signup()
    old = api.api_key(account)
    answer = api.post("/api/account/api-key", {"password": account.password, "regenerate": True}, cookie=account.cookie)
    assert answer.status == 200
    new = answer.body["api_key"]
    assert new != old
    stale = api.get("/api/account", bearer=old)
    assert (stale.status, stale.error_code) == (401, "session_revoked")
    assert api.get("/api/account", bearer=new).status == 200
    assert api.api_key(account) == new
    again = api.post("/api/account/api-key", {"password": account.password, "regenerate": "yes"}, cookie=account.cookie)
    assert again.error_code == "invalid_request"


def test_cookie_changes_need_the_csrf_header_bearer_ones_do_not(api):
    account = api.signup()
    no_header = api.post("/api/account/api-key", {"password": account.password}, cookie=account.cookie, csrf=False)
    assert (no_header.status, no_header.error_code) == (403, "forbidden")
    wrong_value = api.post("/api/account/api-key", {"password": account.password}, cookie=account.cookie,
                           csrf=False, headers={"x-requested-with": "XMLHttpRequest"})
    assert wrong_value.status == 403
    assert api.post("/api/logout", cookie=account.cookie, csrf=False).status == 403
    assert api.get("/api/account", cookie=account.cookie, csrf=False).status == 200  # reads are fine
    key = api.api_key(account)
    assert api.post("/api/account/api-key", {"password": account.password}, bearer=key).status == 200


def test_sessions_are_listed_and_revoked(api):
    account = api.signup()
    second = api.post("/api/login", {"email": account.email, "password": account.password}).cookie
    listed = api.get("/api/account/sessions", cookie=account.cookie)
    assert listed.status == 200
    sessions = listed.body["sessions"]
    assert len(sessions) == 2
    assert {s["kind"] for s in sessions} == {"browser"}
    assert [s["current"] for s in sessions].count(True) == 1
    for s in sessions:
        assert set(s) == {"id", "kind", "created_at", "last_seen_at", "expires_at", "user_agent", "ip", "current"}
        assert s["user_agent"] == "pytest-api"
        assert s["ip"] == api.ip
    other = next(s for s in sessions if not s["current"])
    assert api.delete(f"/api/account/sessions/{other['id']}", cookie=account.cookie).status == 204
    revoked = api.get("/api/account", cookie=second)
    assert (revoked.status, revoked.error_code) == (401, "session_revoked")
    assert len(api.get("/api/account/sessions", cookie=account.cookie).body["sessions"]) == 1
    missing = api.delete(f"/api/account/sessions/{other['id']}", cookie=account.cookie)
    assert (missing.status, missing.error_code) == (404, "not_found")


def test_a_session_of_another_account_cannot_be_revoked(api):
    alice = api.signup()
    bob = api.signup()
    bobs = api.get("/api/account/sessions", cookie=bob.cookie).body["sessions"][0]["id"]
    answer = api.delete(f"/api/account/sessions/{bobs}", cookie=alice.cookie)
    assert (answer.status, answer.error_code) == (404, "not_found")
    assert api.get("/api/account", cookie=bob.cookie).status == 200


def test_the_api_key_is_not_listed_as_a_session(api):
    account = api.signup()
    key_id = api.api_key(account).split(".")[0]
    listed = api.get("/api/account/sessions", cookie=account.cookie).body["sessions"]
    assert key_id not in {s["id"] for s in listed}
    answer = api.delete(f"/api/account/sessions/{key_id}", cookie=account.cookie)
    assert answer.status == 404


def test_security_log_records_each_event_with_ip_and_user_agent(api):
    account = api.signup()
    api.post("/api/login", {"email": account.email, "password": "wrong password!!"})
    second = api.post("/api/login", {"email": account.email, "password": account.password}).cookie
    api.api_key(account)
    api.post("/api/account/api-key", {"password": account.password, "regenerate": True}, cookie=account.cookie)
    other = next(s for s in api.get("/api/account/sessions", cookie=account.cookie).body["sessions"] if not s["current"])
    api.delete(f"/api/account/sessions/{other['id']}", cookie=account.cookie)
    api.post("/api/logout", cookie=account.cookie)
    relog = api.post("/api/login", {"email": account.email, "password": account.password}).cookie
    events = api.get("/api/account/events", cookie=relog).body["events"]
    types = [e["type"] for e in events]
    for expected in ("signup", "login_failed", "login", "api_key_revealed", "api_key_regenerated",
                     "session_revoked", "logout"):
        assert expected in types, (expected, types)
    assert types[-1] == "signup" and types[0] == "login"  # newest first
    for event in events:
        assert event["ip"] == api.ip
        assert event["user_agent"] == "pytest-api"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["at"])
    assert second  # the second login made a session that was then revoked
