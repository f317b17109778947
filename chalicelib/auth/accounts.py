"""Accounts: signup, the password re-entered for sensitive actions, and the API key."""
from __future__ import annotations

import secrets

from chalicelib import aws, clock, events, throttle
from chalicelib.auth import credentials, emails, passwords
from chalicelib.config import settings
from chalicelib.context import Requester
from chalicelib.errors import Conflict, PasswordIncorrect, Unauthenticated
from chalicelib.store import db
from chalicelib.store.models import CredentialModel, UserModel


API_KEY_PURPOSE = "api_key"  # the API key's KMS encryption context purpose


def lookup_keys(raw_email: str) -> list[str]:
    """Where an account for this address may be stored: its key, then the keys it may have
    had before domains went through UTS #46 (emails.legacy_keys), which exist only for
    domains that are not plain ASCII, so an ASCII address costs one read as before."""
    return [emails.normalise(raw_email), *emails.legacy_keys(raw_email)]


def find_by_keys(keys: list[str]) -> UserModel | None:
    """The account under the first of `keys` that has one: one strongly consistent read."""
    if len(keys) == 1:
        return db.get(UserModel, keys[0])
    return next((user for user in db.get_many([(UserModel, key, None) for key in keys]) if user is not None), None)


def find(email: str) -> UserModel | None:
    """The account stored under exactly this key."""
    return find_by_keys([email])


def _signup_cap(requester: Requester) -> throttle.Cap:
    """At most N signups an hour from one network, so 409s cannot sweep addresses."""
    return throttle.Cap("signup-ip", requester.network, limit=settings().signup_per_ip_per_hour, window=3600)


def signup(raw_email: str, password: str, requester: Requester) -> tuple[UserModel, str]:
    """Create the account, its API key and a first browser session; return (user, cookie)."""
    keys = lookup_keys(raw_email)
    email = keys[0]
    passwords.check_policy(password, email)
    throttle.claim([_signup_cap(requester)], "Too many signups from this network. Try again later.")
    user = UserModel(
        email,
        user_id=secrets.token_hex(16),
        password_hash=passwords.hash_password(password),
        created_at=clock.now(),
        session_epoch=0,
    )
    key_item, _, user.api_key_ciphertext = _new_api_key(user, requester)
    user.api_key_id = key_item.id
    user.api_key_context = aws.CONTEXT
    browser_item, cookie = credentials.build(user, credentials.BROWSER, requester)
    writes = [
        db.create(user),
        # an account stored under the address's older key takes it too
        *(db.check(UserModel, key, UserModel.email.does_not_exist()) for key in keys[1:]),
        db.create(key_item),
        db.create(browser_item),
        events.logged(user.user_id, events.SIGNUP, requester),
    ]
    try:
        db.commit(writes)
    except db.CommitRefused as refused:
        if refused.failed & set(range(len(keys))):
            raise Conflict("An account with this email already exists.") from None
        raise
    return user, cookie


def reentry_counter(user: UserModel) -> throttle.Counter:
    """The owner's own counter for a password re-entered for a sensitive action: strangers
    failing at the login form (the per-email counter) never stop the owner."""
    return throttle.Counter(UserModel(user.email), UserModel.reentry_failures, UserModel.reentry_failed_at,
                            throttle.PASSWORD)


def require_password(user: UserModel, password: str, requester: Requester, action: str) -> UserModel:
    """The password again before a sensitive action, claimed on the account's re-entry
    counter before it is checked; returns the user as the claim read it."""
    counter = reentry_counter(user)
    try:
        counted = counter.claim(UserModel.user_id == user.user_id)
    except throttle.CounterRefused as refused:
        if refused.item is None or refused.item.user_id != user.user_id:
            raise Unauthenticated() from None
        raise refused.rate_limited() from None
    current = counted.item
    if not passwords.verify(current.password_hash, password):
        events.record(user.user_id, events.PASSWORD_FAILED, requester,
                      {"action": action, "consecutive_failures": counted.failures})
        raise PasswordIncorrect()
    try:
        current.update(actions=counter.reset_actions(), condition=UserModel.user_id == user.user_id)
    except Exception as exc:
        if aws.unavailable(exc):
            counter.release()  # a right password: not a failure, though its reset could not be written
        raise
    return current


def api_key(user: UserModel) -> str:
    """The account's API key in clear, for this request only. A ciphertext made with an
    older encryption context is rewritten with the current one here (outside the login
    budgets: it happens once per account)."""
    key = aws.decrypt(user.api_key_ciphertext, user.user_id, API_KEY_PURPOSE, user.api_key_context).decode()
    if not aws.current(user.api_key_context):
        from pynamodb.exceptions import UpdateError

        ciphertext = aws.encrypt(key.encode(), user.user_id, API_KEY_PURPOSE)
        try:
            user.update(actions=[UserModel.api_key_ciphertext.set(ciphertext), UserModel.api_key_context.set(aws.CONTEXT)],
                        condition=UserModel.api_key_id == user.api_key_id)
        except UpdateError as exc:
            if aws.unavailable(exc):
                raise
            # the key was regenerated meanwhile: its new ciphertext is already current
    return key


def hand_out(user: UserModel, client_kind: str, requester: Requester, result) -> list:
    """What a login gives its client, set on `result` (a LoginResult): the API key for the
    CLI (one Decrypt), else a new browser session, whose write is returned for the login's
    own transaction."""
    if client_kind == "cli":
        result.api_key = api_key(user)
        return []
    session, result.cookie = credentials.build(user, credentials.BROWSER, requester)
    return [db.create(session)]


def reveal_api_key(user: UserModel, password: str, requester: Requester) -> str:
    require_password(user, password, requester, "api_key_revealed")
    key = api_key(user)
    events.record(user.user_id, events.API_KEY_REVEALED, requester)
    return key


def _new_api_key(user: UserModel, requester: Requester, epoch: int | None = None) -> tuple[CredentialModel, str, bytes]:
    """A new API key: its credential item (not yet saved), the key, and the key encrypted
    for the user item, so that it can be revealed after the password."""
    key_item, key = credentials.build(user, credentials.API_KEY, requester, description="API key")
    if epoch is not None:
        key_item.epoch = epoch
    return key_item, key, aws.encrypt(key.encode(), user.user_id, API_KEY_PURPOSE)


def api_key_rotation(user: UserModel, requester: Requester, epoch: int | None = None) -> tuple[list, list, str]:
    """A new API key: (actions for the user item, other writes for a transaction, the key).

    The caller puts the user actions in its own update of the user item (a transaction may
    touch an item once), conditioned on the old key id, so the old key dies in the same
    commit as the new one is born."""
    key_item, new_key, ciphertext = _new_api_key(user, requester, epoch)
    old_id = user.api_key_id
    user_actions = [UserModel.api_key_id.set(key_item.id), UserModel.api_key_ciphertext.set(ciphertext),
                    UserModel.api_key_context.set(aws.CONTEXT)]
    ops = [db.create(key_item), credentials.revoke_op(CredentialModel(old_id))]
    return user_actions, ops, new_key


def regenerate_api_key(user: UserModel, password: str, requester: Requester) -> str:
    require_password(user, password, requester, "api_key_regenerated")
    user_actions, ops, new_key = api_key_rotation(user, requester)
    db.commit_or([
        db.update(user, user_actions, UserModel.api_key_id == user.api_key_id),
        *ops,
        events.logged(user.user_id, events.API_KEY_REGENERATED, requester),
    ], lambda failed: Conflict("The API key changed meanwhile. Try again."))
    return new_key
