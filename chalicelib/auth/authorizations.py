"""Heroku-style OAuth authorizations: bearer tokens with an expiry, made in one request from
the password (and, when two-factor is on, a code), the way Heroku's CLI logs in.

An authorization is a credential item of kind `authorization` (credentials.py): valid on /api
too, listed and revoked with the browser sessions, and ended when two-factor is enabled
(the session epoch). Nothing here is new policy: the password step is the login's
(`login.check_password`: the per-email throttle, the dummy hash), the code is checked and
spent by the login's second-factor step (`second_factor.verify_code`: the account's one
counter, the backoff, the lock, single-use codes) in the same transaction that saves the
authorization, and both write the same security-log events as a login.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib import events, factors
from chalicelib.auth import credentials, login, second_factor
from chalicelib.auth.credentials import Principal
from chalicelib.context import Requester
from chalicelib.errors import (
    AuthorizationNotFound,
    Forbidden,
    KeyOnlyAccount,
    NotFound,
    TwoFactorRequired,
    TwostepError,
)
from chalicelib.store import db
from chalicelib.store.models import CredentialModel, UserModel

DEFAULT_LIFETIME = 30 * 24 * 3600  # what Heroku's CLI asks for
MAX_LIFETIME = 365 * 24 * 3600
SCOPES = ("global",)  # twostep has no narrower resources to scope a token to
DEFAULT_ID = "~"  # Heroku's name for the account's API key as an authorization
EVENT_CLIENT = "authorization"


@dataclass
class Created:
    item: CredentialModel
    token: str  # shown once, in the answer that makes it
    user: UserModel


def create(raw_email: str, password: str, code: str | None, requester: Requester, *,
           description: str, lifetime: int) -> Created:
    """A new authorization, or InvalidCredentials / TwoFactorRequired / LoginCodeInvalid /
    TwoFactorLocked / RateLimited, exactly as the login would answer."""
    user, reset = login.check_password(raw_email, password, requester)
    item, token = credentials.build(user, credentials.AUTHORIZATION, requester, description=description, lifetime=lifetime)
    detail = {"client": EVENT_CLIENT, "authorization": item.id}
    save = db.create(item)
    try:
        if user.two_factor_enabled_at is None:
            db.commit([save, reset, events.logged(user.user_id, events.LOGIN, requester, detail)])
        elif not code:
            db.commit([reset])  # the password was right: its failures are behind us
            raise TwoFactorRequired()
        else:
            if not second_factor.typeable(user) and not factors.get("recovery_code").recognises(code):
                db.commit([reset])
                raise KeyOnlyAccount()  # nothing it could be was examined: not a failure
            try:
                second_factor.verify_code(user, code, requester, lambda current: [save, reset], detail)
            except TwostepError:
                _forget_password_failures(reset)  # the password was right, whatever became of the code
                raise
    except Exception as exc:
        login.give_back_on_fault(raw_email, exc)  # a right password is never left counted by a fault
        raise
    return Created(item=item, token=token, user=user)


def _forget_password_failures(reset) -> None:
    try:
        db.commit([reset])
    except Exception:  # noqa: BLE001 - the code's own answer is what the caller gets
        pass


def listing(principal: Principal) -> list[CredentialModel]:
    return credentials.live(principal.user, (credentials.AUTHORIZATION,))


def find(principal: Principal, authorization_id: str) -> CredentialModel:
    """A live authorization of this user; `~` is the account's API key, as on Heroku."""
    if authorization_id == DEFAULT_ID:
        return credentials.api_key_item(principal.user)
    try:
        return credentials.owned(principal, authorization_id, (credentials.AUTHORIZATION,))
    except NotFound:
        raise AuthorizationNotFound() from None


def revoke(principal: Principal, authorization_id: str, requester: Requester) -> CredentialModel:
    if authorization_id == DEFAULT_ID:
        raise Forbidden("The API key cannot be deleted: regenerate it in your account settings.")
    item = find(principal, authorization_id)
    credentials.end(item, requester, events.SESSION_REVOKED)
    return item
