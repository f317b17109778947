"""A new kind of factor is one package: a test-only kind, registered by one line below, goes
through enabling two-factor, login with a challenge and a structured value, removal and the
security log, through the same flow and endpoints as the kinds twostep ships.

The kind ("test_key") is a key pair held by the client, as a security key is: enrolment
registers its Ed25519 public key (signed over the enrolment's id), the challenge is a nonce,
and the answer is an object `{id, signature}`, as a WebAuthn assertion is an object signed
over its challenge. The server keeps only the public key.
"""
from __future__ import annotations

import secrets
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chalicelib import clock, factors
from chalicelib.errors import InvalidCode, InvalidRequest, NotFound
from chalicelib.factors.contract import Enrolment, Factor, Proof
from chalicelib.store import db, keys
from chalicelib.store.models import FactorModel, LoginAttemptModel
from tests.api.conftest import enable_two_factor

KIND = "test_key"


def sign(key: Ed25519PrivateKey, message: str) -> str:
    return key.sign(message.encode()).hex()


def verified(public_key_hex: str, message: str, signature_hex: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(
            bytes.fromhex(signature_hex), message.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def public_hex(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


class TestKeyFactor(Factor):
    """Everything a kind needs, in the kind's own code: nothing else in the product changes."""

    method = KIND
    label = "Test key"
    field = KIND
    input = "credential"
    challenge_status = 200
    enrols = True
    noun = "test_key"

    def value(self, raw: Any) -> dict[str, str]:
        if not (isinstance(raw, dict) and set(raw) == {"id", "signature"}
                and all(isinstance(v, str) and 0 < len(v) <= 128 for v in raw.values())):
            raise InvalidRequest("test_key must be an object with id and signature.")
        return raw

    def begin(self, user, checked, requester) -> dict[str, Any]:
        enrolment_id = secrets.token_hex(8)
        FactorModel(user.user_id, keys.pending(KIND), kind=KIND, name="Test key", pending_id=enrolment_id,
                    created_at=clock.now(), expires_at=db.ttl(clock.now() + 600)).save()
        return {"enrolment_id": enrolment_id}

    def finish(self, user, data, requester) -> Enrolment:
        pending = db.get(FactorModel, user.user_id, keys.pending(KIND))
        if not db.alive(pending) or pending.pending_id != data.get("enrolment_id"):
            raise NotFound("No test key is waiting.")
        public_key = str(data.get("public_key", ""))
        if not verified(public_key, f"enrol:{pending.pending_id}", str(data.get("signature", ""))):
            raise InvalidCode("That signature is not valid.")
        factor_id = keys.factor(KIND, pending.pending_id)
        item = FactorModel(user.user_id, factor_id, kind=KIND, name=pending.name,
                           properties={"public_key": public_key}, created_at=clock.now())
        return Enrolment(factor_id=factor_id, name=pending.name, detail={"method": KIND},
                         ops=[db.delete(pending, FactorModel.pending_id == pending.pending_id), db.create(item)])

    def challenge(self, user, login, requester) -> dict[str, Any]:
        nonce = secrets.token_hex(16)
        login.update(actions=[LoginAttemptModel.challenges[KIND].set({"nonce": nonce})],
                     condition=LoginAttemptModel.used_at.does_not_exist() & LoginAttemptModel.challenges.exists())
        return {"nonce": nonce}

    def reads(self, user_id, factor_ids, value) -> list:
        factor_id = keys.factor(KIND, value["id"])
        return [(FactorModel, user_id, factor_id)] if factor_id in factor_ids else []

    def check(self, user, value, login, items) -> Proof | None:
        nonce = login.challenge(KIND).get("nonce") if login is not None else None
        item = items[0] if items else None
        if nonce is None or item is None or not verified(item.properties["public_key"], nonce, value["signature"]):
            return None
        used = db.update(item, [FactorModel.last_used_at.set(clock.now())], FactorModel.factor_id.exists())
        return Proof(ops=[used], detail={"method": KIND, "name": item.name})

    def listing(self, user_id) -> list[dict[str, Any]]:
        return [{"id": keys.key_of(i.factor_id), "name": i.name, "created_at": clock.rfc3339(i.created_at),
                 "last_used_at": clock.rfc3339(i.last_used_at)}
                for i in FactorModel.query(user_id, FactorModel.factor_id.startswith(keys.factor(KIND, "")))]


@pytest.fixture
def test_key():
    factors.register(TestKeyFactor())  # the one line a new kind adds to the registry
    yield
    factors.unregister(KIND)


def _enrol(api, account) -> tuple[Ed25519PrivateKey, dict[str, Any]]:
    key = Ed25519PrivateKey.generate()
    begun = api.post(f"/api/account/factors/{KIND}", {"password": account.password}, cookie=account.cookie)
    assert begun.status == 200, begun.body
    enrolment_id = begun.body["enrolment_id"]
    forged = api.post(f"/api/account/factors/{KIND}/confirm",
                      {"enrolment_id": enrolment_id, "public_key": public_hex(key),
                       "signature": sign(Ed25519PrivateKey.generate(), f"enrol:{enrolment_id}")}, cookie=account.cookie)
    assert (forged.status, forged.error_code) == (400, "invalid_code")
    confirmed = api.post(f"/api/account/factors/{KIND}/confirm",
                         {"enrolment_id": enrolment_id, "public_key": public_hex(key),
                          "signature": sign(key, f"enrol:{enrolment_id}")}, cookie=account.cookie)
    assert confirmed.status == 200, confirmed.body
    return key, confirmed.body


def _login(api, account) -> dict[str, Any]:
    answer = api.post("/api/login", {"email": account.email, "password": account.password})
    assert answer.status == 200 and answer.body["status"] == "two_factor_required", answer.body
    return answer.body


def _key_id(api, account) -> str:
    listed = api.get("/api/account/factors", cookie=account.cookie).body["factors"]
    return next(f["id"] for f in listed if f["method"] == KIND)


def _types(api, account) -> list[str]:
    return [e["type"] for e in api.get("/api/account/events", cookie=account.cookie).body["events"]]


def test_a_kind_registered_in_one_line_is_listed_enabled_used_and_removed(api, test_key):
    assert KIND in [m["method"] for m in api.get("/api/methods").body["methods"]]
    account = api.signup()

    key, enabled = _enrol(api, account)
    # the first factor of any kind turns two-factor on, as a first authenticator app does
    assert enabled["enabled"] is True and len(enabled["recovery_codes"]) == 10 and enabled["api_key"]
    assert api.get("/api/account", cookie=account.cookie).body["two_factor"]["enabled"] is True
    key_id = _key_id(api, account)

    challenge = _login(api, account)
    assert challenge["methods"] == ["recovery_code", KIND]  # no authenticator app on this account
    token = challenge["login_token"]
    nonce = api.post("/api/login/challenge", {"login_token": token, "method": KIND})
    assert nonce.status == 200, nonce.body
    wrong = api.post("/api/login/verify", {"login_token": token, KIND: {"id": key_id, "signature": "0" * 64}})
    assert (wrong.status, wrong.error_code) == (401, "invalid_code")
    shapeless = api.post("/api/login/verify", {"login_token": token, KIND: "a string"})
    assert (shapeless.status, shapeless.error_code) == (400, "invalid_request")
    answer = {"id": key_id, "signature": sign(key, nonce.body["nonce"])}
    done = api.post("/api/login/verify", {"login_token": token, KIND: answer})
    assert done.status == 200 and done.body["status"] == "authenticated" and done.cookie, done.body
    replayed = api.post("/api/login/verify", {"login_token": token, KIND: answer})
    assert replayed.status == 401  # the token and its challenge are spent together

    # the last factor of every kind together cannot be removed; with another, it can
    last = api.delete(f"/api/account/factors/{KIND}/{key_id}", {"password": account.password}, cookie=done.cookie)
    assert (last.status, last.error_code) == (409, "conflict")
    enable_two_factor(api, account_with(done.cookie, account))
    removed = api.delete(f"/api/account/factors/{KIND}/{key_id}", {"password": account.password}, cookie=done.cookie)
    assert removed.status == 204, removed.body
    assert [f["method"] for f in api.get("/api/account/factors", cookie=done.cookie).body["factors"]] == ["totp"]
    assert _login(api, account)["methods"] == ["totp", "recovery_code"]

    types = _types(api, account_with(done.cookie, account))
    for expected in ("two_factor_enabled", "two_factor_failed", "login", "authenticator_added", "factor_removed"):
        assert expected in types, (expected, types)
    events = api.get("/api/account/events", cookie=done.cookie).body["events"]
    assert any(e["type"] == "login" and e["detail"].get("method") == KIND for e in events)
    assert any(e["type"] == "two_factor_enabled" and e["detail"].get("method") == KIND for e in events)


def account_with(cookie: str, account):
    return type(account)(account.email, account.password, cookie, account.user_id)


def test_an_authenticator_app_is_the_last_factor_only_with_no_other_kind(api, test_key):
    account = api.signup()
    two_factor = enable_two_factor(api, account)
    fresh = api.post("/api/login", {"email": account.email, "password": account.password})
    done = api.post("/api/login/verify", {"login_token": fresh.body["login_token"],
                                          "recovery_code": two_factor.recovery_codes[0]})
    assert done.status == 200, done.body
    me = account_with(done.cookie, account)
    _enrol(api, me)  # a further factor of another kind: listed beside it
    assert sorted(f["method"] for f in api.get("/api/account/factors", cookie=me.cookie).body["factors"]) == [
        KIND, "totp"]
    gone = api.delete(f"/api/account/two-factor/authenticators/{two_factor.authenticator_id}",
                      {"password": account.password}, cookie=me.cookie)
    assert gone.status == 204, gone.body
    key_id = _key_id(api, me)
    last = api.delete(f"/api/account/factors/{KIND}/{key_id}", {"password": account.password}, cookie=me.cookie)
    assert (last.status, last.error_code) == (409, "conflict")


def test_unknown_kinds_and_challenges_a_method_does_not_have_are_clear_400s_and_404s(api, test_key):
    account = api.signup()
    enable_two_factor(api, account)
    token = _login(api, account)["login_token"]
    for method, status in (("nope", 400), (7, 400), ("totp", 400), ("recovery_code", 400)):
        answer = api.post("/api/login/challenge", {"login_token": token, "method": method})
        assert (answer.status, answer.error_code) == (status, "invalid_request"), (method, answer.body)
    not_set_up = api.post("/api/login/challenge", {"login_token": token, "method": KIND})
    assert (not_set_up.status, not_set_up.error_code) == (404, "not_found")
    unknown = api.post("/api/account/factors/recovery_code", {"password": account.password}, cookie=account.cookie)
    assert (unknown.status, unknown.error_code) == (404, "not_found")
    expired = api.post("/api/login/challenge", {"login_token": "x" * 30 + "." + "y" * 30, "method": "sms"})
    assert (expired.status, expired.error_code) == (401, "unauthenticated")
