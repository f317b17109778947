"""HTTP helpers for tests against the real local stack."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from threading import Barrier
from typing import Any, Callable

import requests

from tests import rfc6238
from tests.leakcheck import remember

PASSWORD = "correct horse battery staple"
CSRF = {"X-Requested-With": "twostep"}


@dataclass
class Person:
    base_url: str
    email: str = field(default_factory=lambda: f"e2e-{uuid.uuid4().hex[:12]}@example.com")
    password: str = PASSWORD
    http: requests.Session = field(default_factory=requests.Session)
    secret: str | None = None
    recovery_codes: list[str] = field(default_factory=list)
    api_key: str | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def post(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        headers = {**CSRF, **kw.pop("headers", {})}
        answer = self.http.post(self.url(path), json=body or {}, headers=headers, timeout=30, **kw)
        remember(self.password, *(self.http.cookies.values()))
        if answer.headers.get("content-type", "").startswith("application/json") and answer.content:
            data = answer.json()
            if isinstance(data, dict):
                remember(*(data.get(k) for k in ("api_key", "secret", "recovery_codes", "login_token")))
        return answer

    def signup(self) -> "Person":
        answer = self.post("/api/signup", {"email": self.email, "password": self.password})
        assert answer.status_code == 201, answer.text
        return self

    def enable_two_factor(self) -> "Person":
        setup = self.post("/api/account/two-factor/setup", {"password": self.password})
        assert setup.status_code == 200, setup.text
        self.secret = setup.json()["secret"]
        confirm = self.post("/api/account/two-factor/confirm",
                            {"authenticator_id": setup.json()["authenticator_id"], "code": rfc6238.totp(self.secret)})
        assert confirm.status_code == 200, confirm.text
        self.recovery_codes = confirm.json()["recovery_codes"]
        self.api_key = confirm.json()["api_key"]
        return self

    def origin(self) -> str:
        """The stack's WebAuthn origin: its port at localhost (never an IP address)."""
        return self.base_url.replace("127.0.0.1", "localhost")

    def add_key(self, passkey: bool = False) -> Any:
        """A software security key (or passkey) added through the API; the first factor turns
        two-factor on, as an authenticator app does."""
        from tests.soft_authenticator import SoftAuthenticator

        key = SoftAuthenticator(self.origin())
        begun = self.post("/api/account/webauthn/register", {"password": self.password, "passkey": passkey})
        assert begun.status_code == 200, begun.text
        added = self.post("/api/account/webauthn", {"registration_id": begun.json()["registration_id"],
                                                    "credential": key.create(begun.json()["publicKey"])})
        assert added.status_code == 201, added.text
        self.recovery_codes = added.json().get("recovery_codes") or self.recovery_codes
        self.api_key = added.json().get("api_key") or self.api_key
        return key

    def login_token(self, client: str = "browser") -> str:
        answer = requests.post(self.url("/api/login"),
                               json={"email": self.email, "password": self.password, "client": client}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "two_factor_required", answer.text
        return answer.json()["login_token"]


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run every call from its own thread, released together by a barrier."""
    barrier = Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
