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
from typing import Any

from chalicelib import aws, clock, events, throttle
from chalicelib.auth import accounts, passwords, second_factor
from chalicelib.auth.results import LoginResult
from chalicelib.context import Requester
from chalicelib.errors import InvalidCredentials, InvalidRequest
from chalicelib.store import db, keys
from chalicelib.store.models import CounterModel, EventModel, UserModel

CLIENTS = ("browser", "cli")
DECOY_SECONDS = 3600


def finish(user: UserModel, client_kind: str, requester: Requester, reset: Any = None) -> LoginResult:
    """Hand out the credential the password step asked for and log the login, in one write
    (with the password counter's reset, when there is one)."""
    result = LoginResult(status="authenticated", user=user)
    writes = [events.logged(user.user_id, events.LOGIN, requester, {"client": client_kind}),
              *accounts.hand_out(user, client_kind, requester, result)]
    if reset is not None:
        writes.append(reset)
    db.commit(writes)
    return result


def password_counter(email: str) -> throttle.Counter:
    return throttle.ephemeral_counter(keys.password_counter(email), throttle.PASSWORD)


def _decoy(requester: Requester, failures: int) -> EventModel:
    """What an unknown email writes where a known one logs `login_failed`: an event of the
    same shape under a throwaway key, gone within the hour."""
    decoy = events.build(secrets.token_hex(16), events.LOGIN_FAILED, requester, {"consecutive_failures": failures})
    decoy.expires_at = db.ttl(clock.now() + DECOY_SECONDS)
    return decoy


def check_password(raw_email: str, password: str, requester: Requester) -> tuple[UserModel, Any]:
    """The password step's checks: (the user, the write that resets its failure counter),
    or InvalidCredentials / RateLimited."""
    try:
        addresses = accounts.lookup_keys(raw_email)
    except InvalidRequest:
        passwords.verify_dummy(password)
        raise InvalidCredentials() from None
    counter = password_counter(addresses[0])
    try:
        counted = counter.claim()
    except throttle.CounterRefused as refused:
        raise refused.rate_limited() from None
    try:
        user = accounts.find_by_keys(addresses)
    except Exception as exc:
        if aws.unavailable(exc):
            counter.release()  # nothing was examined
        raise
    if user is None:
        passwords.verify_dummy(password)
        _decoy(requester, counted.failures).save()
        raise InvalidCredentials()
    if not passwords.verify(user.password_hash, password):
        events.build(user.user_id, events.LOGIN_FAILED, requester, {"consecutive_failures": counted.failures}).save()
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash):
        try:
            user.update(actions=[UserModel.password_hash.set(passwords.hash_password(password))],
                        condition=UserModel.user_id == user.user_id)
        except Exception as exc:
            give_back_on_fault(raw_email, exc)
            raise
    return user, db.delete(CounterModel(keys.password_counter(addresses[0])))


def password_step(raw_email: str, password: str, client_kind: str, requester: Requester) -> LoginResult:
    if client_kind not in CLIENTS:
        raise InvalidRequest("client must be \"browser\" or \"cli\".")
    user, reset = check_password(raw_email, password, requester)
    try:
        if user.two_factor_enabled_at is not None:
            return second_factor.begin(user, client_kind, requester, reset)
        return finish(user, client_kind, requester, reset)
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
