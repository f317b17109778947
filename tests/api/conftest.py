"""API tests: `chalice.test.Client` in-process, on tables deployed from infra/template.yaml
into the emulator. The emulator is reset and the stack redeployed for every test module
(moto keeps every item forever and slows as tables grow)."""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.leakcheck import leaks, remember, where

STRONG_PASSWORD = "correct horse battery staple"
# Request and answer fields that hold a secret: the leak check looks for their values in logs.
SECRET_FIELDS = ("password", "code", "recovery_code", "sms_code", "login_token", "passkey_token", "api_key", "secret",
                 "recovery_codes", "otpauth_uri")


@pytest.fixture(scope="module")
def stack(emulator_url: str) -> Iterator[dict[str, str]]:
    from local.stack import deploy, reset

    reset(emulator_url)
    outputs = deploy(emulator_url)
    os.environ.update(outputs)
    yield outputs
    # Before the next module wipes them: no table holds a secret the module handled in clear.
    dumped = table_dump(emulator_url, outputs)
    leaked = leaks(dumped)
    assert not leaked, f"secrets stored in clear: {leaked} at {where(dumped)}"


def table_dump(emulator_url: str, outputs: dict[str, str]) -> str:
    from local.stack import client

    dynamodb = client("dynamodb", emulator_url)
    return "\n".join(json.dumps(dynamodb.scan(TableName=name)["Items"], default=str)
                     for env, name in outputs.items() if env.endswith("_TABLE"))


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None

    @property
    def cookie(self) -> str | None:
        raw = self.headers.get("Set-Cookie") or self.headers.get("set-cookie")
        return raw.split(";", 1)[0] if raw else None


class Api:
    """A thin client over chalice.test.Client speaking the contract's JSON."""

    def __init__(self, client: Any) -> None:
        self._client = client
        # A fresh documentation network per client (per-IP caps count an IPv6 /64), so the
        # per-IP signup and SMS caps are per test.
        self.ip = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"
        self.user_agent = "pytest-api"

    def call(self, method: str, path: str, body: Any = None, *, cookie: str | None = None,
             bearer: str | None = None, csrf: bool = True, headers: dict[str, str] | None = None,
             raw: bytes | str | None = None) -> Answer:
        all_headers = {"user-agent": self.user_agent, "x-forwarded-for": self.ip}
        if body is not None or raw is not None:
            all_headers["content-type"] = "application/json"
        if cookie:
            all_headers["cookie"] = cookie
            if csrf:
                all_headers["x-requested-with"] = "twostep"
        if bearer:
            all_headers["authorization"] = f"Bearer {bearer}"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if isinstance(body, dict):
            remember(*(body.get(k) for k in SECRET_FIELDS))
        response = self._client.http.request(method, path, headers=all_headers, body=payload)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        answer = Answer(response.status_code, parsed, dict(response.headers))
        if isinstance(parsed, dict):
            remember(*(parsed.get(k) for k in SECRET_FIELDS))
            remember(*(c.get("code") for c in parsed.get("codes") or [] if isinstance(c, dict)))
        if answer.cookie:
            remember(answer.cookie.split("=", 1)[1])
        return answer

    def get(self, path: str, **kw: Any) -> Answer:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("POST", path, body, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("DELETE", path, body, **kw)

    # Flows many tests need.
    def signup(self, email: str | None = None, password: str = STRONG_PASSWORD) -> "Account":
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        answer = self.post("/api/signup", {"email": email, "password": password})
        assert answer.status == 201, answer.body
        return Account(email=email, password=password, cookie=answer.cookie, user_id=answer.body["user"]["id"])

    def api_key(self, account: "Account") -> str:
        answer = self.post("/api/account/api-key", {"password": account.password}, cookie=account.cookie)
        assert answer.status == 200, answer.body
        return answer.body["api_key"]


@dataclass
class Account:
    email: str
    password: str
    cookie: str
    user_id: str


@pytest.fixture
def api(stack: dict[str, str]) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        yield Api(client)


@dataclass
class TwoFactor:
    secret: str
    authenticator_id: str
    recovery_codes: list[str]
    api_key: str


def enable_two_factor(api: Api, account: Account, name: str | None = None) -> TwoFactor:
    """Enrol an authenticator and confirm it with the tests' own RFC 6238 phone."""
    from tests import rfc6238

    body = {"password": account.password}
    if name:
        body["name"] = name
    setup = api.post("/api/account/two-factor/setup", body, cookie=account.cookie)
    assert setup.status == 200, setup.body
    confirm = api.post("/api/account/two-factor/confirm",
                       {"authenticator_id": setup.body["authenticator_id"], "code": rfc6238.totp(setup.body["secret"])},
                       cookie=account.cookie)
    assert confirm.status == 200, confirm.body
    return TwoFactor(setup.body["secret"], setup.body["authenticator_id"],
                     confirm.body.get("recovery_codes", []), confirm.body.get("api_key", ""))


@pytest.fixture
def clock():
    """A frozen clock in the middle of a TOTP step; `clock.shift(s)` moves it."""
    import time_machine
    from datetime import datetime, timezone

    with time_machine.travel(datetime(2026, 11, 28, 9, 0, 10, tzinfo=timezone.utc), tick=False) as traveller:
        yield traveller
