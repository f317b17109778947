"""The login flow: the password step, then (when two-factor is on) the second-factor step.

Unknown email and wrong password take the same path: one Argon2 verification (against a
dummy hash when there is no account), one failure counted on the per-email counter, the
same error. The counter exists whether or not the account does, so its 429 tells nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib import throttle
from chalicelib.auth import accounts, emails, passwords, sessions
from chalicelib.context import Client
from chalicelib.errors import InvalidCredentials, InvalidRequest
from chalicelib.store import events
from chalicelib.store.models import EphemeralModel, SessionModel, UserModel, commit, get_many

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


def finish(user: UserModel, client_kind: str, client: Client, reset: Any = None) -> LoginResult:
    """Hand out the credential the password step asked for and log the login, in one write
    (with the password counter's reset, when there is one)."""
    result = LoginResult(status="authenticated", user=user)
    writes = [lambda tx: tx.save(events.build(user.user_id, "login", client, {"client": client_kind}))]
    if client_kind == "cli":
        result.api_key = accounts.api_key(user)
    else:
        session, result.cookie = sessions.build(user, sessions.BROWSER, client)
        writes.append(lambda tx: tx.save(session, condition=SessionModel.id.does_not_exist()))
    if reset is not None:
        writes.append(reset)
    commit(writes)
    return result


def check_password(raw_email: str, password: str, client: Client) -> tuple[UserModel, Any]:
    """The password step's checks: (the user, the write that resets its failure counter or
    None), or InvalidCredentials / RateLimited. One read for the counter and the user, one
    Argon2 verification whether or not the account exists, one write on a failure."""
    try:
        email = emails.normalise(raw_email)
    except InvalidRequest:
        passwords.verify_dummy(password)
        raise InvalidCredentials() from None
    key = accounts.password_counter_key(email)
    item, user = get_many([(EphemeralModel, key, None), (UserModel, email, None)])
    counter = throttle.counter_of(item)
    throttle.check(counter, throttle.PASSWORD)
    if user is None:
        passwords.verify_dummy(password)
        throttle.record_failure(key, throttle.PASSWORD)
        raise InvalidCredentials()
    if not passwords.verify(user.password_hash, password):
        detail = {"consecutive_failures": counter.failures + 1}
        event = events.build(user.user_id, "login_failed", client, detail)
        commit([throttle.failure_op(key, throttle.PASSWORD), lambda tx: tx.save(event)])
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash):
        user.update(actions=[UserModel.password_hash.set(passwords.hash_password(password))])
    return user, throttle.reset_op(key, counter)


def password_step(raw_email: str, password: str, client_kind: str, client: Client) -> LoginResult:
    if client_kind not in CLIENTS:
        raise InvalidRequest("client must be \"browser\" or \"cli\".")
    user, reset = check_password(raw_email, password, client)
    if user.two_factor_enabled_at is not None:
        from chalicelib.auth import second_factor

        return second_factor.begin(user, client_kind, client, reset)
    return finish(user, client_kind, client, reset)
