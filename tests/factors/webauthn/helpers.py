"""Flows the WebAuthn tests share: a key added through the contract's routes, a login up to
its second step, an assertion answered."""
from __future__ import annotations

from tests.api.conftest import Account, Api
from tests.soft_authenticator import SoftAuthenticator


def add_key(api: Api, account: Account, key: SoftAuthenticator | None = None, *, passkey: bool = False,
            name: str | None = None):
    """Register `key` (a new one by default); returns (key, the 201's body)."""
    key = key or SoftAuthenticator()
    begun = api.post("/api/account/webauthn/register", {"password": account.password, "passkey": passkey},
                     cookie=account.cookie)
    assert begun.status == 200, begun.body
    body = {"registration_id": begun.body["registration_id"], "credential": key.create(begun.body["publicKey"])}
    if name:
        body["name"] = name
    added = api.post("/api/account/webauthn", body, cookie=account.cookie)
    assert added.status == 201, added.body
    return key, added.body


def password_step(api: Api, account: Account, client: str = "browser") -> str:
    answer = api.post("/api/login", {"email": account.email, "password": account.password, "client": client})
    assert answer.status == 200 and answer.body["status"] == "two_factor_required", answer.body
    assert "webauthn" in answer.body["methods"]
    return answer.body["login_token"]


def key_challenge(api: Api, login_token: str) -> dict:
    answer = api.post("/api/login/challenge", {"login_token": login_token, "method": "webauthn"})
    assert answer.status == 200, answer.body
    return answer.body["publicKey"]


def passkey_options(api: Api) -> tuple[str, dict]:
    answer = api.post("/api/login/passkey/options", {})
    assert answer.status == 200, answer.body
    return answer.body["passkey_token"], answer.body["publicKey"]
