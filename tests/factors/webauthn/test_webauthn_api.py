"""Security keys and passkeys through the API, answered by a software authenticator
(tests/soft_authenticator.py): SECURITY.md's "Security keys and passkeys", one rule a test."""
from __future__ import annotations

import pytest

from tests import rfc6238
from tests.api.conftest import enable_two_factor
from tests.factors.webauthn.helpers import add_key, key_challenge, passkey_options, password_step
from tests.soft_authenticator import SoftAuthenticator, b64


def events_of(api, account, type_=None):
    found = api.get("/api/account/events", cookie=account.cookie).body["events"]
    return [e for e in found if type_ is None or e["type"] == type_]


def user_item(account):
    from chalicelib.store.models import UserModel

    return UserModel.get(account.email, consistent_read=True)


def verify(api, token, assertion):
    return api.post("/api/login/verify", {"login_token": token, "webauthn": assertion})


def sign_in_with_passkey(api, key, client="browser"):
    token, public_key = passkey_options(api)
    return api.post("/api/login/passkey", {"passkey_token": token, "credential": key.get(public_key), "client": client})


# --- the kind, and adding keys -------------------------------------------------------------

def test_the_methods_list_describes_the_kind_and_its_relying_party(api):
    methods = {m["method"]: m for m in api.get("/api/methods").body["methods"]}
    assert methods["webauthn"] == {"method": "webauthn", "label": "Security key or passkey", "field": "webauthn",
                                   "input": "credential", "challenge": True, "enrols": True, "rp_id": "localhost"}


def test_a_first_key_turns_two_factor_on_as_a_first_authenticator_does(api):
    account = api.signup()
    other = api.post("/api/login", {"email": account.email, "password": account.password}).cookie
    old_key = api.api_key(account)
    key, added = add_key(api, account, name="YubiKey 5C")
    assert added["credential"]["name"] == "YubiKey 5C" and added["credential"]["passkey"] is False
    assert added["credential"]["last_used_at"] is None
    assert len(added["recovery_codes"]) == 10 and added["api_key"] != old_key
    assert api.get("/api/account", cookie=account.cookie).body["two_factor"]["enabled"] is True
    assert api.get("/api/account", cookie=other).status == 401  # other sessions ended
    assert api.get("/api/account", bearer=old_key).status == 401
    listed = api.get("/api/account/webauthn", cookie=account.cookie).body["credentials"]
    assert [c["id"] for c in listed] == [added["credential"]["id"]]
    assert [e["detail"]["method"] for e in events_of(api, account, "two_factor_enabled")] == ["webauthn"]


def test_further_keys_are_added_with_an_event_and_excluded_from_the_next_creation(api):
    account = api.signup()
    first, _ = add_key(api, account)
    second, added = add_key(api, account, name="Backup key")
    assert set(added) == {"credential"}  # no new codes: two-factor was already on
    assert [e["detail"]["name"] for e in events_of(api, account, "security_key_added")] == ["Backup key"]
    begun = api.post("/api/account/webauthn/register", {"password": account.password}, cookie=account.cookie).body
    excluded = {c["id"] for c in begun["publicKey"]["excludeCredentials"]}
    assert excluded == {b64(first.credential_id), b64(second.credential_id)}
    again = api.post("/api/account/webauthn", {"registration_id": begun["registration_id"],
                                               "credential": first.create(begun["publicKey"])}, cookie=account.cookie)
    assert (again.status, again.error_code) == (409, "conflict")


def test_adding_needs_the_password_and_a_live_registration_answered_once(api, clock):
    account = api.signup()
    wrong = api.post("/api/account/webauthn/register", {"password": "not the password"}, cookie=account.cookie)
    assert (wrong.status, wrong.error_code) == (403, "password_incorrect")
    begun = api.post("/api/account/webauthn/register", {"password": account.password}, cookie=account.cookie).body
    key = SoftAuthenticator()
    answer = {"registration_id": begun["registration_id"], "credential": key.create(begun["publicKey"])}
    assert api.post("/api/account/webauthn", answer, cookie=account.cookie).status == 201
    replay = api.post("/api/account/webauthn", answer, cookie=account.cookie)
    assert (replay.status, replay.error_code) == (404, "not_found")
    late = api.post("/api/account/webauthn/register", {"password": account.password}, cookie=account.cookie).body
    clock.shift(5 * 60 + 1)
    expired = api.post("/api/account/webauthn", {"registration_id": late["registration_id"],
                                                 "credential": SoftAuthenticator().create(late["publicKey"])},
                       cookie=account.cookie)
    assert (expired.status, expired.error_code) == (404, "not_found")


@pytest.mark.parametrize("spoil", ["origin", "rp_id", "no_uv_for_a_passkey", "other_challenge"])
def test_a_registration_that_does_not_prove_itself_is_refused(api, spoil):
    account = api.signup()
    begun = api.post("/api/account/webauthn/register", {"password": account.password, "passkey": True},
                     cookie=account.cookie).body
    key = SoftAuthenticator()
    public_key = dict(begun["publicKey"])
    if spoil == "origin":
        key.origin = "http://localhost:8001"
    elif spoil == "rp_id":
        key.rp_id = "evil.example"
    elif spoil == "no_uv_for_a_passkey":
        key.user_verified = False
    else:
        public_key["challenge"] = b64(b"x" * 32)
    refused = api.post("/api/account/webauthn", {"registration_id": begun["registration_id"],
                                                 "credential": key.create(public_key)}, cookie=account.cookie)
    assert (refused.status, refused.error_code) == (400, "invalid_code")
    assert api.get("/api/account", cookie=account.cookie).body["two_factor"]["enabled"] is False


# --- the second step after the password ----------------------------------------------------

def test_password_then_key_logs_in_and_the_log_says_with_which(api):
    account = api.signup()
    key, added = add_key(api, account, name="YubiKey 5C")
    token = password_step(api, account)
    public_key = key_challenge(api, token)
    assert [c["id"] for c in public_key["allowCredentials"]] == [b64(key.credential_id)]
    assert public_key["rpId"] == "localhost" and public_key["userVerification"] == "preferred"
    done = verify(api, token, key.get(public_key))
    assert done.status == 200 and done.body["status"] == "authenticated", done.body
    assert api.get("/api/account", cookie=done.cookie).status == 200
    login = events_of(api, account, "login")[0]
    assert login["detail"]["method"] == "webauthn" and login["detail"]["name"] == "YubiKey 5C"
    listed = api.get("/api/account/webauthn", cookie=account.cookie).body["credentials"]
    assert listed[0]["last_used_at"] is not None


def test_a_cli_login_with_a_key_hands_out_the_api_key(api):
    account = api.signup()
    key, added = add_key(api, account)
    token = password_step(api, account, client="cli")
    done = verify(api, token, key.get(key_challenge(api, token)))
    assert done.status == 200 and done.body["api_key"] == added["api_key"]


@pytest.mark.parametrize("spoil", ["origin", "port", "subdomain", "rp_id"])
def test_an_assertion_for_another_origin_or_relying_party_is_refused_and_counted(api, spoil):
    account = api.signup()
    key, _ = add_key(api, account)
    token = password_step(api, account)
    public_key = key_challenge(api, token)
    key.origin, key.rp_id = {"origin": ("https://evil.example", None), "port": ("http://localhost:8443", None),
                             "subdomain": ("http://a.localhost:8000", None),
                             "rp_id": ("http://localhost:8000", "evil.example")}[spoil]
    refused = verify(api, token, key.get(public_key))
    assert (refused.status, refused.error_code) == (401, "invalid_code")
    failed = events_of(api, account, "two_factor_failed")
    assert failed[0]["detail"]["method"] == "webauthn" and failed[0]["detail"]["reason"]
    assert user_item(account).second_factor_failures == 1
    key.origin, key.rp_id = "http://localhost:8000", None
    assert verify(api, token, key.get(public_key)).status == 200  # the token lives on after one failure


def test_an_assertion_works_once(api):
    account = api.signup()
    key, _ = add_key(api, account)
    token = password_step(api, account)
    assertion = key.get(key_challenge(api, token))
    assert verify(api, token, assertion).status == 200
    spent = verify(api, token, assertion)
    assert (spent.status, spent.error_code) == (401, "unauthenticated")
    other = password_step(api, account)
    key_challenge(api, other)
    replay = verify(api, other, assertion)  # signed over the first login's challenge
    assert (replay.status, replay.error_code) == (401, "invalid_code")


def test_a_new_challenge_replaces_the_old_one(api):
    account = api.signup()
    key, _ = add_key(api, account)
    token = password_step(api, account)
    first = key_challenge(api, token)
    key_challenge(api, token)
    assert verify(api, token, key.get(first)).status == 401


def test_the_challenge_dies_with_the_login_token_after_five_minutes(api, clock):
    account = api.signup()
    key, _ = add_key(api, account)
    token = password_step(api, account)
    public_key = key_challenge(api, token)
    clock.shift(5 * 60 + 1)
    late = verify(api, token, key.get(public_key))
    assert (late.status, late.error_code) == (401, "unauthenticated")


def test_a_key_of_another_account_is_refused(api):
    owner, stranger = api.signup(), api.signup()
    add_key(api, owner)
    strangers_key, _ = add_key(api, stranger)
    token = password_step(api, owner)
    refused = verify(api, token, strangers_key.get(key_challenge(api, token)))
    assert (refused.status, refused.error_code) == (401, "invalid_code")
    assert events_of(api, owner, "two_factor_failed")[0]["detail"]["reason"] == "no challenge for this key"


def test_a_counter_that_goes_back_is_refused_and_logged_as_a_possible_copy(api):
    account = api.signup()
    key, _ = add_key(api, account, name="YubiKey 5C")
    for _ in range(3):
        token = password_step(api, account)
        assert verify(api, token, key.get(key_challenge(api, token))).status == 200
    key.sign_count = 1  # a copy made when the key had signed once: it says 2, after 3
    token = password_step(api, account)
    refused = verify(api, token, key.get(key_challenge(api, token)))
    assert (refused.status, refused.error_code) == (401, "invalid_code")
    assert events_of(api, account, "security_key_cloned")[0]["detail"] == {"name": "YubiKey 5C"}
    assert events_of(api, account, "two_factor_failed")[0]["detail"]["reason"] == "signature counter went back"


def test_a_key_without_a_counter_keeps_working_at_zero(api):
    account = api.signup()
    key, _ = add_key(api, account)
    for _ in range(2):
        key.sign_count = -1  # the soft key adds one before signing: it says 0 each time
        token = password_step(api, account)
        assert verify(api, token, key.get(key_challenge(api, token))).status == 200


def test_keys_are_not_locked_at_100_failures_but_the_codes_are(api):
    from chalicelib.store.models import UserModel

    account = api.signup()
    two_factor = enable_two_factor(api, account)
    key, _ = add_key(api, account)
    user_item(account).update(actions=[UserModel.second_factor_failures.set(100),
                                       UserModel.second_factor_failed_at.set(0)])
    token = password_step(api, account)
    methods = api.post("/api/login", {"email": account.email, "password": account.password}).body["methods"]
    assert "webauthn" in methods and "totp" not in methods
    locked = api.post("/api/login/verify", {"login_token": token, "code": rfc6238.totp(two_factor.secret)})
    assert (locked.status, locked.error_code) == (403, "two_factor_locked")
    token = password_step(api, account)
    assert verify(api, token, key.get(key_challenge(api, token))).status == 200
    assert user_item(account).second_factor_failures is None  # a success resets the account's counter


def test_the_key_answer_is_throttled_by_the_accounts_backoff(api, clock):
    account = api.signup()
    key, _ = add_key(api, account)
    token = password_step(api, account)
    public_key = key_challenge(api, token)
    key.origin = "https://evil.example"
    statuses = [verify(api, token, key.get(public_key)).status for _ in range(4)]
    assert statuses == [401, 401, 401, 429]  # three free failures, then a wait of one second
    clock.shift(1)
    key.origin = "http://localhost:8000"
    assert verify(api, token, key.get(public_key)).status == 200


# --- passkeys: signing in with one alone ---------------------------------------------------

def test_a_passkey_signs_in_alone_as_both_factors(api):
    account = api.signup()
    key, added = add_key(api, account, passkey=True, name="MacBook Touch ID")
    assert added["credential"]["passkey"] is True
    token, public_key = passkey_options(api)
    assert public_key["userVerification"] == "required" and "allowCredentials" not in public_key
    done = api.post("/api/login/passkey", {"passkey_token": token, "credential": key.get(public_key)})
    assert done.status == 200 and done.body["user"]["email"] == account.email, done.body
    assert api.get("/api/account", cookie=done.cookie).status == 200
    login = events_of(api, account, "login")[0]["detail"]
    assert login == {"client": "browser", "method": "passkey", "name": "MacBook Touch ID", "user_verified": True}
    again = api.post("/api/login/passkey", {"passkey_token": token, "credential": key.get(public_key)})
    assert (again.status, again.error_code) == (401, "unauthenticated")  # the token worked once


def test_a_passkey_sign_in_from_the_cli_hands_out_the_api_key(api):
    account = api.signup()
    key, added = add_key(api, account, passkey=True)
    done = sign_in_with_passkey(api, key, client="cli")
    assert done.status == 200 and done.body["api_key"] == added["api_key"] and done.cookie is None


def test_a_passkey_that_did_not_verify_the_person_is_refused(api):
    account = api.signup()
    key, _ = add_key(api, account, passkey=True)
    key.user_verified = False
    refused = sign_in_with_passkey(api, key)
    assert (refused.status, refused.error_code) == (401, "invalid_code")
    assert "verif" in events_of(api, account, "passkey_failed")[0]["detail"]["reason"].lower()


def test_a_security_key_does_not_sign_in_alone(api):
    account = api.signup()
    key, _ = add_key(api, account, passkey=False)
    key.user_handle = account.user_id.encode()  # as if it were discoverable
    refused = sign_in_with_passkey(api, key)
    assert (refused.status, refused.error_code) == (401, "invalid_code")


@pytest.mark.parametrize("spoil", ["origin", "rp_id", "unknown_key", "wrong_account"])
def test_a_passkey_sign_in_is_refused_for_a_wrong_origin_relying_party_or_account(api, spoil):
    account, other = api.signup(), api.signup()
    key, _ = add_key(api, account, passkey=True)
    add_key(api, other, passkey=True)
    if spoil == "origin":
        key.origin = "https://evil.example"
    elif spoil == "rp_id":
        key.rp_id = "evil.example"
    elif spoil == "unknown_key":
        key = SoftAuthenticator()
        key.user_handle = account.user_id.encode()
    else:
        key.user_handle = other.user_id.encode()  # the key, claimed for another account
    refused = sign_in_with_passkey(api, key)
    assert (refused.status, refused.error_code) == (401, "invalid_code")


def test_passkey_refusals_count_per_network_and_never_on_the_owners_counter(api, clock):
    owner = api.signup()
    key, _ = add_key(api, owner, passkey=True)
    forged = SoftAuthenticator()  # someone who knows the owner's user handle, not the key
    forged.credential_id, forged.user_handle = key.credential_id, owner.user_id.encode()
    statuses = [sign_in_with_passkey(api, forged).status for _ in range(6)]
    assert statuses == [401] * 5 + [429]  # the credential's own counter: five free refusals
    assert user_item(owner).second_factor_failures is None
    token = password_step(api, owner)  # the owner's own login is untouched
    assert verify(api, token, key.get(key_challenge(api, token))).status == 200
    clock.shift(1)
    assert sign_in_with_passkey(api, key).status == 200  # and a right answer resets the key's counter
    assert [sign_in_with_passkey(api, forged).status for _ in range(5)] == [401] * 5


def test_passkey_refusals_from_one_network_wait_after_ten(api):
    strays = []
    for _ in range(11):
        stray = SoftAuthenticator()  # a different unknown credential each time
        stray.user_handle = b"0" * 32
        strays.append(sign_in_with_passkey(api, stray).status)
    assert strays == [401] * 10 + [429]


def test_passkey_options_are_capped_per_network(api, monkeypatch):
    monkeypatch.setenv("TWOSTEP_PASSKEY_OPTIONS_PER_IP_PER_HOUR", "3")
    statuses = [api.post("/api/login/passkey/options", {}).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


# --- removing, and the last-factor rule ----------------------------------------------------

def test_the_last_factor_rule_spans_keys_and_authenticator_apps(api):
    account = api.signup()
    key, added = add_key(api, account)
    key_id = added["credential"]["id"]
    last = api.delete(f"/api/account/webauthn/{key_id}", {"password": account.password}, cookie=account.cookie)
    assert (last.status, last.error_code) == (409, "conflict") and "disable" in last.body["error"]["message"]
    wrong = api.delete(f"/api/account/webauthn/{key_id}", {"password": "not it at all"}, cookie=account.cookie)
    assert (wrong.status, wrong.error_code) == (403, "password_incorrect")
    two_factor = enable_two_factor(api, account)
    gone = api.delete(f"/api/account/webauthn/{key_id}", {"password": account.password}, cookie=account.cookie)
    assert gone.status == 204
    assert api.get("/api/account/webauthn", cookie=account.cookie).body["credentials"] == []
    assert events_of(api, account, "security_key_removed")[0]["detail"] == {"name": "Security key"}
    app_last = api.delete(f"/api/account/two-factor/authenticators/{two_factor.authenticator_id}",
                          {"password": account.password}, cookie=account.cookie)
    assert app_last.status == 409
    login = api.post("/api/login", {"email": account.email, "password": account.password}).body
    assert "webauthn" not in login["methods"]


def test_disable_removes_every_key(api):
    account = api.signup()
    key, _ = add_key(api, account, passkey=True)
    assert api.post("/api/account/two-factor/disable", {"password": account.password},
                    cookie=account.cookie).status == 200
    assert api.get("/api/account/webauthn", cookie=account.cookie).body["credentials"] == []
    refused = sign_in_with_passkey(api, key)
    assert refused.status == 401


# --- bad input: 400, never a 5xx -----------------------------------------------------------

BAD_ASSERTIONS = [
    "a string", 7, [], {}, {"type": "public-key"}, {"type": "password", "rawId": "AAAA", "response": {}},
    {"type": "public-key", "rawId": "not base64url!", "response": {}},
    {"type": "public-key", "rawId": "AAAA", "response": "x"},
    {"type": "public-key", "rawId": "AAAA", "response": {"clientDataJSON": 5}},
    {"type": "public-key", "rawId": "AAAA", "response": {"clientDataJSON": "AAAA", "authenticatorData": "AAAA",
                                                          "signature": "A" * 5000}},
    {"type": "public-key", "rawId": "A" * 2000, "response": {}},
    {"type": "public-key", "rawId": "AAAA", "response": {"clientDataJSON": "AAAA", "authenticatorData": "AAAA",
                                                          "signature": "AAAA", "userHandle": 3}},
]
GARBLED = {"type": "public-key", "rawId": "AAAA", "response": {"clientDataJSON": "AAAA", "authenticatorData": "AAAA",
                                                                "signature": "AAAA"}}


@pytest.mark.parametrize("bad", BAD_ASSERTIONS)
def test_malformed_assertions_are_400_at_both_doors(api, bad):
    account = api.signup()
    add_key(api, account, passkey=True)
    token = password_step(api, account)
    key_challenge(api, token)
    second = verify(api, token, bad)
    assert (second.status, second.error_code) == (400, "invalid_request"), second.body
    passkey_token, _ = passkey_options(api)
    alone = api.post("/api/login/passkey", {"passkey_token": passkey_token, "credential": bad})
    assert (alone.status, alone.error_code) == (400, "invalid_request"), alone.body


def test_well_formed_nonsense_is_a_refusal_not_a_fault(api):
    account = api.signup()
    key, _ = add_key(api, account, passkey=True)
    token = password_step(api, account)
    key_challenge(api, token)
    garbled = dict(GARBLED, rawId=b64(key.credential_id))
    assert verify(api, token, garbled).status == 401
    passkey_token, _ = passkey_options(api)
    garbled["response"] = dict(garbled["response"], userHandle=b64(account.user_id.encode()))
    assert api.post("/api/login/passkey", {"passkey_token": passkey_token, "credential": garbled}).status == 401
    begun = api.post("/api/account/webauthn/register", {"password": account.password}, cookie=account.cookie).body
    nonsense = {"type": "public-key", "rawId": "AAAA", "response": {"clientDataJSON": "AAAA", "attestationObject": "AAAA"}}
    refused = api.post("/api/account/webauthn", {"registration_id": begun["registration_id"], "credential": nonsense},
                       cookie=account.cookie)
    assert (refused.status, refused.error_code) == (400, "invalid_code")


def test_an_oversized_body_is_413(api):
    passkey_token, _ = passkey_options(api)
    huge = dict(GARBLED, response=dict(GARBLED["response"], clientDataJSON="A" * (70 * 1024)))
    answer = api.post("/api/login/passkey", {"passkey_token": passkey_token, "credential": huge})
    assert (answer.status, answer.error_code) == (413, "payload_too_large")
