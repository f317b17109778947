"""The login flow: the password step, then (when two-factor is on) the second-factor step.

Unknown email and wrong password take the same path: one Argon2 verification (against a
dummy hash when there is no account), one failure counted on the per-email counter, the
same error. The counter exists whether or not the account does, so its 429 tells nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib import throttle
from chalicelib.auth import accounts, emails, passwords, sessions
from chalicelib.context import Client
from chalicelib.errors import InvalidCredentials, InvalidRequest
from chalicelib.store import events
from chalicelib.store.models import UserModel

CLIENTS = ("browser", "cli")


@dataclass
class LoginResult:
    status: str  # "authenticated" or "two_factor_required"
    user: UserModel
    cookie: str | None = None
    api_key: str | None = None
    login_token: str | None = None
    methods: list[str] = field(default_factory=list)
    phone_hint: str | None = None
    extra: dict = field(default_factory=dict)


def finish(user: UserModel, client_kind: str, client: Client, detail: dict | None = None) -> LoginResult:
    """Hand out the credential the password step asked for, and log the login."""
    result = LoginResult(status="authenticated", user=user)
    if client_kind == "cli":
        result.api_key = accounts.api_key(user)
    else:
        _, result.cookie = sessions.create(user, sessions.BROWSER, client)
    events.record(user.user_id, "login", client, {"client": client_kind, **(detail or {})})
    return result


def check_password(raw_email: str, password: str, client: Client) -> UserModel:
    """The password step's checks alone: the user, or InvalidCredentials / RateLimited."""
    try:
        email = emails.normalise(raw_email)
    except InvalidRequest:
        passwords.verify_dummy(password)
        raise InvalidCredentials() from None
    key = accounts.password_counter_key(email)
    counter = throttle.read(key)
    throttle.check(counter, throttle.PASSWORD)
    user = accounts.find(email)
    if user is None:
        passwords.verify_dummy(password)
        throttle.record_failure(key, throttle.PASSWORD)
        raise InvalidCredentials()
    if not passwords.verify(user.password_hash, password):
        failures = throttle.record_failure(key, throttle.PASSWORD)
        events.record(user.user_id, "login_failed", client, {"consecutive_failures": failures})
        raise InvalidCredentials()
    throttle.reset(key, counter)
    if passwords.needs_rehash(user.password_hash):
        user.update(actions=[UserModel.password_hash.set(passwords.hash_password(password))])
    return user


def password_step(raw_email: str, password: str, client_kind: str, client: Client) -> LoginResult:
    if client_kind not in CLIENTS:
        raise InvalidRequest("client must be \"browser\" or \"cli\".")
    user = check_password(raw_email, password, client)
    if user.two_factor_enabled_at is not None:
        from chalicelib.auth import second_factor

        return second_factor.begin(user, client_kind, client)
    return finish(user, client_kind, client)
