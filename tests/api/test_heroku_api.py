"""The Heroku Platform API subset (/oauth/..., /account) that Heroku's CLI speaks: its answer
and error shapes, redaction, and the login's own throttles, lock and single-use codes."""
from __future__ import annotations

import base64
import json

from tests import rfc6238
from tests.api.conftest import enable_two_factor

HEROKU_ACCEPT = {"accept": "application/vnd.heroku+json; version=3"}
CLI_BODY = {"description": "Heroku CLI login from test-host", "expires_in": 2592000, "scope": ["global"]}
ASTERISKS = "*" * 10


def basic(email, password):
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


def authorize(api, email, password, code=None, body=None):
    """What `heroku login -i` sends (@heroku-cli/command lib/login.js createOAuthToken)."""
    headers = {**HEROKU_ACCEPT, "authorization": basic(email, password)}
    if code is not None:
        headers["heroku-two-factor-code"] = code
    return api.post("/oauth/authorizations", CLI_BODY if body is None else body, headers=headers)


def heroku_get(api, path, token):
    return api.get(path, bearer=token, headers=HEROKU_ACCEPT)


def assert_heroku_error(answer, status, heroku_id):
    assert answer.status == status, answer.body
    assert isinstance(answer.body, dict) and answer.body["id"] == heroku_id, answer.body
    assert isinstance(answer.body["message"], str) and answer.body["message"]
    assert "error" not in answer.body
    assert "Traceback" not in json.dumps(answer.body)


def cli_matches(local_token, listed_token):
    """Heroku CLI v11's isCurrentOAuthToken: how `heroku logout` finds its token in a list."""
    index = listed_token.find(ASTERISKS)
    if index == -1:
        return local_token == listed_token
    prefix, suffix = listed_token[:index], listed_token[index + len(ASTERISKS):]
    return local_token.startswith(prefix) and (suffix == "" or local_token.endswith(suffix))


def event_types(api, account):
    return [e["type"] for e in api.get("/api/account/events", cookie=account.cookie).body["events"]]


# --- creating an authorization ------------------------------------------------------------

def test_without_two_factor_the_password_makes_a_201_authorization(api, clock):
    account = api.signup()
    answer = authorize(api, account.email, account.password)
    assert answer.status == 201, answer.body
    body = answer.body
    assert {"id", "description", "scope", "created_at", "updated_at", "access_token", "user"} <= set(body)
    assert body["description"] == CLI_BODY["description"]
    assert body["scope"] == ["global"]
    assert body["user"] == {"id": account.user_id, "email": account.email}
    assert body["created_at"] == "2026-11-28T09:00:10Z"
    token = body["access_token"]["token"]
    assert ASTERISKS not in token and len(token) > 40
    assert body["access_token"]["id"] == body["id"]
    assert body["access_token"]["expires_in"] == 2592000

    me = heroku_get(api, "/account", token)
    assert me.status == 200
    assert me.body == {"id": account.user_id, "email": account.email, "two_factor_authentication": False,
                       "created_at": "2026-11-28T09:00:10Z", "updated_at": "2026-11-28T09:00:10Z"}
    # the same token on the /api contract, listed with the sessions
    assert api.get("/api/account", bearer=token).status == 200
    listed = api.get("/api/account/sessions", cookie=account.cookie).body["sessions"]
    mine = [s for s in listed if s["id"] == body["id"]]
    assert len(mine) == 1 and mine[0]["kind"] == "authorization"
    assert mine[0]["expires_at"] == "2026-12-28T09:00:10Z"
    assert event_types(api, account)[0] == "login"


def test_the_body_may_be_heroku_json_and_defaults_apply(api, clock):
    account = api.signup()
    answer = api.call("POST", "/oauth/authorizations", raw="{}", headers={
        **HEROKU_ACCEPT, "content-type": "application/vnd.heroku+json; version=3",
        "authorization": basic(account.email, account.password)})
    assert answer.status == 201, answer.body
    assert answer.body["access_token"]["expires_in"] == 30 * 24 * 3600
    empty = api.call("POST", "/oauth/authorizations",
                     headers={"authorization": basic(account.email, account.password)})
    assert empty.status == 201, empty.body


def test_bad_credentials_are_one_401_unauthorized(api, clock):
    account = api.signup()
    wrong = authorize(api, account.email, "not the password")
    unknown = authorize(api, "nobody-here@example.com", "not the password")
    assert_heroku_error(wrong, 401, "unauthorized")
    assert (wrong.status, wrong.body) == (unknown.status, unknown.body)
    assert_heroku_error(api.post("/oauth/authorizations", CLI_BODY, headers=HEROKU_ACCEPT), 401, "unauthorized")
    not_base64 = api.post("/oauth/authorizations", CLI_BODY, headers={"authorization": "Basic %%%"})
    assert_heroku_error(not_base64, 401, "unauthorized")
    # a token cannot make another token: the password is the way in
    token = authorize(api, account.email, account.password).body["access_token"]["token"]
    assert_heroku_error(api.post("/oauth/authorizations", CLI_BODY, bearer=token), 401, "unauthorized")
    assert "login_failed" in event_types(api, account)


def test_two_factor_asks_with_403_then_an_authenticator_code_in_the_header_makes_it(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(30)
    missing = authorize(api, account.email, account.password)
    assert_heroku_error(missing, 403, "two_factor")
    assert "Heroku-Two-Factor-Code" in missing.body["message"]
    empty = authorize(api, account.email, account.password, code="  ")
    assert_heroku_error(empty, 403, "two_factor")
    # the password is checked before the code: a right code with a wrong password is a 401
    assert_heroku_error(authorize(api, account.email, "not it", code=rfc6238.totp(two_factor.secret)),
                        401, "unauthorized")
    made = authorize(api, account.email, account.password, code=rfc6238.totp(two_factor.secret))
    assert made.status == 201, made.body
    me = heroku_get(api, "/account", made.body["access_token"]["token"])
    assert me.body["two_factor_authentication"] is True
    log = api.get("/api/account/events", cookie=account.cookie).body["events"]
    assert log[0]["type"] == "login"
    assert log[0]["detail"]["method"] == "totp" and log[0]["detail"]["client"] == "authorization"


def test_a_wrong_code_is_403_two_factor_and_the_code_works_once(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(30)
    assert_heroku_error(authorize(api, account.email, account.password, code="000000"), 403, "two_factor")
    assert_heroku_error(authorize(api, account.email, account.password, code="not a code"), 403, "two_factor")
    code = rfc6238.totp(two_factor.secret)
    assert authorize(api, account.email, account.password, code=code).status == 201
    assert_heroku_error(authorize(api, account.email, account.password, code=code), 403, "two_factor")
    # spent for the /api login too: one code, one use, whichever way it came
    token = api.post("/api/login", {"email": account.email, "password": account.password}).body["login_token"]
    assert api.post("/api/login/verify", {"login_token": token, "code": code}).status == 401
    failed = [e for e in api.get("/api/account/events", cookie=account.cookie).body["events"]
              if e["type"] == "two_factor_failed"]
    assert [e["detail"]["method"] for e in failed][-3:] == ["totp", "totp", "totp"]


def test_a_recovery_code_in_the_header_works_once(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    recovery = two_factor.recovery_codes[0]
    made = authorize(api, account.email, account.password, code=recovery.upper().replace("-", " "))
    assert made.status == 201, made.body
    assert_heroku_error(authorize(api, account.email, account.password, code=recovery), 403, "two_factor")
    remaining = api.get("/api/account", cookie=account.cookie).body["two_factor"]["recovery_codes_remaining"]
    assert remaining == 9
    types = event_types(api, account)
    assert "recovery_code_used" in types
    assert types.index("two_factor_failed") < types.index("recovery_code_used")


def test_the_second_factor_counter_is_shared_with_the_login(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    clock.shift(30)
    for _ in range(2):
        assert authorize(api, account.email, account.password, code="000000").status == 403
    token = api.post("/api/login", {"email": account.email, "password": account.password}).body["login_token"]
    assert api.post("/api/login/verify", {"login_token": token, "code": "000000"}).status == 401  # 3rd
    waiting = authorize(api, account.email, account.password, code=rfc6238.totp(two_factor.secret))
    assert_heroku_error(waiting, 429, "rate_limit")
    assert waiting.headers["Retry-After"] == "1"
    clock.shift(1)
    assert authorize(api, account.email, account.password, code=rfc6238.totp(two_factor.secret)).status == 201
    # the success reset the counter for the login too: three free failures again
    token = api.post("/api/login", {"email": account.email, "password": account.password}).body["login_token"]
    for _ in range(3):
        assert api.post("/api/login/verify", {"login_token": token, "code": "000000"}).status == 401
    assert api.post("/api/login/verify", {"login_token": token, "code": "000000"}).status == 429


def test_the_password_backoff_is_the_logins_and_answers_rate_limit(api, clock):
    account = api.signup()
    for _ in range(3):
        assert authorize(api, account.email, "wrong one").status == 401
    for _ in range(2):
        assert api.post("/api/login", {"email": account.email, "password": "wrong one"}).status == 401
    blocked = authorize(api, account.email, account.password)
    assert_heroku_error(blocked, 429, "rate_limit")
    assert blocked.headers["Retry-After"] == "1"
    assert api.post("/api/login", {"email": account.email, "password": account.password}).status == 429
    clock.shift(1)
    assert authorize(api, account.email, account.password).status == 201


def test_the_lock_at_100_failures_holds_in_the_header_and_a_recovery_code_lifts_it(api, clock):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    for n in range(100):
        clock.shift(900)
        assert authorize(api, account.email, account.password, code="000000").status == 403, n
    clock.shift(900)
    locked = authorize(api, account.email, account.password, code=rfc6238.totp(two_factor.secret))
    assert_heroku_error(locked, 403, "two_factor")
    assert "recovery code" in locked.body["message"]
    unlocked = authorize(api, account.email, account.password, code=two_factor.recovery_codes[1])
    assert unlocked.status == 201
    log = api.get("/api/account/events", bearer=unlocked.body["access_token"]["token"]).body["events"]
    assert [e["type"] for e in log].count("two_factor_locked") == 1
    clock.shift(30)
    assert authorize(api, account.email, account.password, code=rfc6238.totp(two_factor.secret)).status == 201


def test_malformed_requests_answer_in_herokus_shape(api, clock):
    account = api.signup()
    auth = {"authorization": basic(account.email, account.password)}
    assert_heroku_error(api.post("/oauth/authorizations", raw="{nope", headers=auth), 400, "bad_request")
    for body in ({"expires_in": "soon"}, {"expires_in": True}, {"expires_in": 0},
                 {"expires_in": 10 ** 9}, {"scope": ["read"]}, {"scope": "global"},
                 {"description": 7}, {"description": "x" * 300}):
        assert_heroku_error(authorize(api, account.email, account.password, body=body), 400, "bad_request")
    assert_heroku_error(api.post("/oauth/authorizations", raw=json.dumps({"d": "x" * 70000}), headers=auth),
                        413, "payload_too_large")
    form = api.call("POST", "/oauth/authorizations", raw="a=b",
                    headers={**auth, "content-type": "application/x-www-form-urlencoded"})
    assert_heroku_error(form, 415, "unsupported_media_type")
    wrong_method = api.call("DELETE", "/account")
    assert_heroku_error(wrong_method, 405, "method_not_allowed")
    assert "GET" in wrong_method.headers.get("Allow", "")
    assert_heroku_error(api.call("PUT", "/oauth/authorizations"), 405, "method_not_allowed")
    # the /api contract keeps its own shape
    assert api.call("DELETE", "/api/health").body["error"]["code"] == "method_not_allowed"


# --- using and listing authorizations -----------------------------------------------------

def test_account_needs_a_bearer_token_not_the_cookie(api, clock):
    account = api.signup()
    assert_heroku_error(api.get("/account"), 401, "unauthorized")
    assert_heroku_error(api.get("/account", cookie=account.cookie), 401, "unauthorized")
    assert_heroku_error(heroku_get(api, "/account", "nope.nope"), 401, "unauthorized")
    # the API key is a bearer token too
    assert heroku_get(api, "/account", api.api_key(account)).body["email"] == account.email


def test_listings_redact_tokens_the_way_herokus_cli_reads_them(api, clock):
    account = api.signup()
    first = authorize(api, account.email, account.password).body
    clock.shift(1)  # listed newest first: by created_at
    second = authorize(api, account.email, account.password).body
    token = first["access_token"]["token"]
    listed = heroku_get(api, "/oauth/authorizations", token)
    assert listed.status == 200
    assert [a["id"] for a in listed.body] == [second["id"], first["id"]]
    for item in listed.body:
        shown = item["access_token"]["token"]
        prefix, asterisks, suffix = shown.partition(ASTERISKS)
        assert asterisks and len(prefix) == 8 and len(suffix) == 4 and "*" not in prefix + suffix
        assert item["user"] == {"id": account.user_id, "email": account.email}
    assert token not in json.dumps(listed.body)
    shown = {a["id"]: a["access_token"]["token"] for a in listed.body}
    assert cli_matches(token, shown[first["id"]])
    assert not cli_matches(token, shown[second["id"]])
    assert cli_matches(second["access_token"]["token"], shown[second["id"]])

    one = heroku_get(api, f"/oauth/authorizations/{first['id']}", token)
    assert one.status == 200 and one.body["access_token"]["token"] == shown[first["id"]]
    assert one.body["access_token"]["expires_in"] == 2592000 - 1
    clock.shift(100)
    assert heroku_get(api, f"/oauth/authorizations/{first['id']}", token).body["access_token"]["expires_in"] == 2591899


def test_tilde_is_the_api_key_redacted(api, clock):
    account = api.signup()
    token = authorize(api, account.email, account.password).body["access_token"]["token"]
    key = api.api_key(account)
    default = heroku_get(api, "/oauth/authorizations/~", token)
    assert default.status == 200, default.body
    shown = default.body["access_token"]["token"]
    assert key not in json.dumps(default.body) and ASTERISKS in shown
    assert default.body["access_token"]["expires_in"] is None
    assert cli_matches(key, shown) and not cli_matches(token, shown)
    # logout's guard: a CLI holding the API key deletes nothing
    assert heroku_get(api, "/oauth/authorizations/~", key).body["id"] == default.body["id"]
    assert default.body["id"] not in [a["id"] for a in heroku_get(api, "/oauth/authorizations", token).body]


def test_deleting_an_authorization_ends_it_everywhere(api, clock):
    account = api.signup()
    made = authorize(api, account.email, account.password).body
    token = made["access_token"]["token"]
    deleted = api.delete(f"/oauth/authorizations/{made['id']}", bearer=token, headers=HEROKU_ACCEPT)
    assert deleted.status == 200 and deleted.body["id"] == made["id"]
    assert token not in json.dumps(deleted.body)
    assert_heroku_error(heroku_get(api, "/account", token), 401, "unauthorized")
    assert api.get("/api/account", bearer=token).error_code == "session_revoked"
    listed = api.get("/api/account/sessions", cookie=account.cookie).body["sessions"]
    assert made["id"] not in [s["id"] for s in listed]
    log = api.get("/api/account/events", cookie=account.cookie).body["events"]
    assert log[0]["type"] == "session_revoked" and log[0]["detail"] == {"kind": "authorization", "id": made["id"]}


def test_only_ones_own_authorizations_can_be_seen_or_deleted(api, clock):
    alice, bob = api.signup(), api.signup()
    alices = authorize(api, alice.email, alice.password).body
    bobs_token = authorize(api, bob.email, bob.password).body["access_token"]["token"]
    for method in ("GET", "DELETE"):
        answer = api.call(method, f"/oauth/authorizations/{alices['id']}", bearer=bobs_token)
        assert_heroku_error(answer, 404, "not_found")
        assert answer.body["resource"] == "authorization"
    assert heroku_get(api, "/account", alices["access_token"]["token"]).status == 200
    # a browser session is not an authorization
    browser_id = next(s["id"] for s in api.get("/api/account/sessions", cookie=bob.cookie).body["sessions"]
                      if s["kind"] == "browser")
    assert_heroku_error(api.delete(f"/oauth/authorizations/{browser_id}", bearer=bobs_token), 404, "not_found")
    assert api.get("/api/account", cookie=bob.cookie).status == 200
    assert_heroku_error(api.delete("/oauth/authorizations/~", bearer=bobs_token), 403, "forbidden")


def test_oauth_sessions_tilde_is_herokus_accepted_404(api, clock):
    account = api.signup()
    token = authorize(api, account.email, account.password).body["access_token"]["token"]
    answer = api.delete("/oauth/sessions/~", bearer=token, headers=HEROKU_ACCEPT)
    assert_heroku_error(answer, 404, "not_found")
    assert answer.body["resource"] == "session"
    assert_heroku_error(api.delete("/oauth/sessions/~"), 401, "unauthorized")
    assert heroku_get(api, "/account", token).status == 200  # it ends nothing


def test_revoking_from_the_session_list_ends_the_authorization(api, clock):
    account = api.signup()
    made = authorize(api, account.email, account.password).body
    assert api.delete(f"/api/account/sessions/{made['id']}", cookie=account.cookie).status == 204
    assert_heroku_error(heroku_get(api, "/account", made["access_token"]["token"]), 401, "unauthorized")


def test_an_authorization_expires(api, clock):
    account = api.signup()
    made = authorize(api, account.email, account.password, body={"expires_in": 60}).body
    assert made["access_token"]["expires_in"] == 60
    token = made["access_token"]["token"]
    clock.shift(59)
    assert heroku_get(api, "/account", token).status == 200
    clock.shift(2)
    assert_heroku_error(heroku_get(api, "/account", token), 401, "unauthorized")
    assert made["id"] not in [s["id"] for s in api.get("/api/account/sessions", cookie=account.cookie).body["sessions"]]


def test_enabling_two_factor_ends_every_authorization(api, clock):
    account = api.signup()
    token = authorize(api, account.email, account.password).body["access_token"]["token"]
    enable_two_factor(api, account)
    assert_heroku_error(heroku_get(api, "/account", token), 401, "unauthorized")
    assert api.get("/api/account", bearer=token).error_code == "session_revoked"


def test_an_account_with_only_keys_is_told_to_use_a_recovery_code(api):
    from tests.factors.webauthn.helpers import add_key

    account = api.signup()
    _, added = add_key(api, account)
    assert_heroku_error(authorize(api, account.email, account.password), 403, "two_factor")
    typed = authorize(api, account.email, account.password, code="123456")
    assert_heroku_error(typed, 403, "security_key_required")
    assert "recovery code" in typed.body["message"] and "security key" in typed.body["message"]
    made = authorize(api, account.email, account.password, code=added["recovery_codes"][0])
    assert made.status == 201, made.body
