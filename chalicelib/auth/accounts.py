"""Accounts: signup, the password re-entered for sensitive actions, and the API key."""
from __future__ import annotations

import secrets

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import aws, clock, throttle
from chalicelib.auth import emails, passwords, sessions
from chalicelib.config import settings
from chalicelib.context import Client
from chalicelib.errors import Conflict, PasswordIncorrect
from chalicelib.store import events
from chalicelib.store.models import SessionModel, UserModel, connection


def password_counter_key(email: str) -> str:
    return f"pw#{email}"


def find(email: str) -> UserModel | None:
    try:
        return UserModel.get(email, consistent_read=True)
    except DoesNotExist:
        return None


def _claim_signup_slot(ip: str | None) -> None:
    """At most N signups an hour from one address, so 409s cannot sweep addresses."""
    cap = throttle.Cap("signup-ip", ip or "unknown", limit=settings().signup_per_ip_per_hour, window=3600)
    throttle.claim([cap], "Too many signups from this network. Try again later.")


def signup(raw_email: str, password: str, client: Client) -> tuple[UserModel, str]:
    """Create the account, its API key and a first browser session; return (user, cookie)."""
    email = emails.normalise(raw_email)
    passwords.check_policy(password, email)
    _claim_signup_slot(client.ip)
    user = UserModel(
        email,
        user_id=secrets.token_hex(16),
        password_hash=passwords.hash_password(password),
        created_at=clock.now(),
        session_epoch=0,
    )
    key_item, _, user.api_key_ciphertext = _new_api_key(user, client)
    user.api_key_id = key_item.id
    browser_item, cookie = sessions.build(user, sessions.BROWSER, client)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(user, condition=UserModel.email.does_not_exist())
            tx.save(key_item, condition=SessionModel.id.does_not_exist())
            tx.save(browser_item, condition=SessionModel.id.does_not_exist())
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
            raise Conflict("An account with this email already exists.") from None
        raise
    events.record(user.user_id, "signup", client)
    return user, cookie


def require_password(user: UserModel, password: str, client: Client, action: str) -> None:
    """The password again before a sensitive action; failures share the login counter."""
    key = password_counter_key(user.email)
    counter = throttle.read(key)
    throttle.check(counter, throttle.PASSWORD)
    if not passwords.verify(user.password_hash, password):
        throttle.record_failure(key, throttle.PASSWORD)
        events.record(user.user_id, "password_failed", client, {"action": action})
        raise PasswordIncorrect()
    throttle.reset(key, counter)


def api_key(user: UserModel) -> str:
    return aws.decrypt(user.api_key_ciphertext, user.user_id).decode()


def reveal_api_key(user: UserModel, password: str, client: Client) -> str:
    require_password(user, password, client, "api_key_revealed")
    key = api_key(user)
    events.record(user.user_id, "api_key_revealed", client)
    return key


def _new_api_key(user: UserModel, client: Client, epoch: int | None = None) -> tuple[SessionModel, str, bytes]:
    """A new API key: its credential item (not yet saved), the key, and the key encrypted
    for the user item, so that it can be revealed after the password."""
    key_item, key = sessions.build(user, sessions.API_KEY, client, description="API key")
    if epoch is not None:
        key_item.epoch = epoch
    return key_item, key, aws.encrypt(key.encode(), user.user_id)


def api_key_rotation(user: UserModel, client: Client, epoch: int | None = None) -> tuple[list, list, str]:
    """A new API key: (actions for the user item, other writes for a transaction, the key).

    The caller puts the user actions in its own update of the user item (a transaction may
    touch an item once), conditioned on the old key id, so the old key dies in the same
    commit as the new one is born."""
    key_item, new_key, ciphertext = _new_api_key(user, client, epoch)
    old_id = user.api_key_id
    user_actions = [UserModel.api_key_id.set(key_item.id), UserModel.api_key_ciphertext.set(ciphertext)]
    ops = [
        lambda tx: tx.save(key_item, condition=SessionModel.id.does_not_exist()),
        lambda tx: tx.update(SessionModel(old_id), actions=sessions.revoke_actions(),
                             condition=SessionModel.id.exists()),
    ]
    return user_actions, ops, new_key


def regenerate_api_key(user: UserModel, password: str, client: Client) -> str:
    require_password(user, password, client, "api_key_regenerated")
    user_actions, ops, new_key = api_key_rotation(user, client)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(user, actions=user_actions, condition=UserModel.api_key_id == user.api_key_id)
            for op in ops:
                op(tx)
    except TransactWriteError:
        raise Conflict("The API key changed meanwhile. Try again.") from None
    events.record(user.user_id, "api_key_regenerated", client)
    return new_key
