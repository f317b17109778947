"""The login flow: the password step, then (when two-factor is on) the second-factor step.

The password step is three DynamoDB calls whichever way it goes: the claim on the email's
failure counter (one conditional UpdateItem, before anything is examined), the read of the
account, and one write. Unknown email and wrong password take the same path: one Argon2
verification (against a dummy hash when there is no account) and one PutItem into the
events table (the account's `login_failed`, or a short-lived decoy of the same shape), so
that neither the answer nor its time tells them apart. The counter exists whether or not
the account does, so its 429 tells nothing either.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from chalicelib import aws, clock, events, throttle
from chalicelib.auth import accounts, passwords, sessions
from chalicelib.context import Client
from chalicelib.errors import InvalidCredentials, InvalidRequest
from chalicelib.store.models import EphemeralModel, EventModel, SessionModel, UserModel, commit, ttl

CLIENTS = ("browser", "cli")
DECOY_SECONDS = 3600


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
    writes = [events.logged(user.user_id, events.LOGIN, client, {"client": client_kind})]
    if client_kind == "cli":
        result.api_key = accounts.api_key(user)
    else:
        session, result.cookie = sessions.build(user, sessions.BROWSER, client)
        writes.append(lambda tx: tx.save(session, condition=SessionModel.id.does_not_exist()))
    if reset is not None:
        writes.append(reset)
    commit(writes)
    return result


def password_counter(email: str) -> throttle.Counter:
    return throttle.ephemeral_counter(accounts.password_counter_key(email), throttle.PASSWORD)


def _decoy(client: Client, failures: int) -> EventModel:
    """What an unknown email writes where a known one logs `login_failed`: an event of the
    same shape under a throwaway key, gone within the hour."""
    decoy = events.build(secrets.token_hex(16), events.LOGIN_FAILED, client, {"consecutive_failures": failures})
    decoy.expires_at = ttl(clock.now() + DECOY_SECONDS)
    return decoy


def check_password(raw_email: str, password: str, client: Client) -> tuple[UserModel, Any]:
    """The password step's checks: (the user, the write that resets its failure counter),
    or InvalidCredentials / RateLimited."""
    try:
        keys = accounts.lookup_keys(raw_email)
    except InvalidRequest:
        passwords.verify_dummy(password)
        raise InvalidCredentials() from None
    counter = password_counter(keys[0])
    try:
        counted = counter.claim()
    except throttle.CounterRefused as refused:
        raise refused.rate_limited() from None
    try:
        user = accounts.find_by_keys(keys)
    except Exception as exc:
        if aws.unavailable(exc):
            counter.release()  # nothing was examined
        raise
    if user is None:
        passwords.verify_dummy(password)
        _decoy(client, counted.failures).save()
        raise InvalidCredentials()
    if not passwords.verify(user.password_hash, password):
        events.build(user.user_id, events.LOGIN_FAILED, client, {"consecutive_failures": counted.failures}).save()
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash):
        try:
            user.update(actions=[UserModel.password_hash.set(passwords.hash_password(password))],
                        condition=UserModel.user_id == user.user_id)
        except Exception as exc:
            give_back_on_fault(raw_email, exc)
            raise
    key = EphemeralModel(accounts.password_counter_key(keys[0]))
    return user, lambda tx: tx.delete(key)


def password_step(raw_email: str, password: str, client_kind: str, client: Client) -> LoginResult:
    if client_kind not in CLIENTS:
        raise InvalidRequest("client must be \"browser\" or \"cli\".")
    user, reset = check_password(raw_email, password, client)
    try:
        if user.two_factor_enabled_at is not None:
            from chalicelib.auth import second_factor

            return second_factor.begin(user, client_kind, client, reset)
        return finish(user, client_kind, client, reset)
    except Exception as exc:
        give_back_on_fault(raw_email, exc)
        raise


def give_back_on_fault(raw_email: str, exc: BaseException) -> None:
    """A right password whose success could not be written (a service behind us failed
    before or at the write that resets the counter) is not a failure: its claim is given
    back, as the second-factor step gives back a right code's."""
    from chalicelib.errors import ServiceUnavailable

    if isinstance(exc, ServiceUnavailable) or aws.unavailable(exc):
        password_counter(accounts.lookup_keys(raw_email)[0]).release()
