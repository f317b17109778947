"""Heroku-style OAuth authorizations: bearer tokens with an expiry, made in one request from
the password (and, when two-factor is on, a code), the way Heroku's CLI logs in.

An authorization is a credential item of kind `authorization` (sessions.py): valid on /api
too, listed and revoked with the browser sessions, and ended when two-factor is enabled
(the session epoch). Nothing here is new policy: the password step is the login's
(`login.check_password`: the per-email throttle, the dummy hash), the code is checked and
spent by the login's second-factor step (`second_factor.verify_code`: the account's one
counter, the backoff, the lock, single-use codes) in the same transaction that saves the
authorization, and both write the same security-log events as a login.
"""
from __future__ import annotations

from dataclasses import dataclass


from chalicelib.auth import login, second_factor, sessions
from chalicelib.auth.sessions import Principal
from chalicelib.context import Client
from chalicelib.errors import Forbidden, NotFound, TwostepError
from chalicelib import events
from chalicelib.store.models import SessionModel, UserModel, commit

DEFAULT_LIFETIME = 30 * 24 * 3600  # what Heroku's CLI asks for
MAX_LIFETIME = 365 * 24 * 3600
SCOPES = ("global",)  # twostep has no narrower resources to scope a token to
DEFAULT_ID = "~"  # Heroku's name for the account's API key as an authorization
EVENT_CLIENT = "authorization"


class TwoFactorRequired(TwostepError):
    status = 403
    code = "two_factor_required"
    message = ("Two-factor authentication is on for this account: send a code from your "
               "authenticator app, or a recovery code, in the Heroku-Two-Factor-Code header.")


class AuthorizationNotFound(NotFound):
    resource = "authorization"
    message = "No such authorization."


@dataclass
class Created:
    item: SessionModel
    token: str  # shown once, in the answer that makes it
    user: UserModel


def create(raw_email: str, password: str, code: str | None, client: Client, *,
           description: str, lifetime: int) -> Created:
    """A new authorization, or InvalidCredentials / TwoFactorRequired / LoginCodeInvalid /
    TwoFactorLocked / RateLimited, exactly as the login would answer."""
    user, reset = login.check_password(raw_email, password, client)
    item, token = sessions.build(user, sessions.AUTHORIZATION, client, description=description, lifetime=lifetime)
    detail = {"client": EVENT_CLIENT, "authorization": item.id}
    save = lambda tx: tx.save(item, condition=SessionModel.id.does_not_exist())  # noqa: E731
    try:
        if user.two_factor_enabled_at is None:
            commit([save, reset, events.logged(user.user_id, events.LOGIN, client, detail)])
        elif not code:
            commit([reset])  # the password was right: its failures are behind us
            raise TwoFactorRequired()
        else:
            try:
                second_factor.verify_code(user, code, client, lambda current: [save, reset], detail)
            except TwostepError:
                _forget_password_failures(reset)  # the password was right, whatever became of the code
                raise
    except Exception as exc:
        login.give_back_on_fault(raw_email, exc)  # a right password is never left counted by a fault
        raise
    return Created(item=item, token=token, user=user)


def _forget_password_failures(reset) -> None:
    try:
        commit([reset])
    except Exception:  # noqa: BLE001 - the code's own answer is what the caller gets
        pass


def listing(principal: Principal) -> list[SessionModel]:
    return sessions.live(principal.user, (sessions.AUTHORIZATION,))


def find(principal: Principal, authorization_id: str) -> SessionModel:
    """A live authorization of this user; `~` is the account's API key, as on Heroku."""
    if authorization_id == DEFAULT_ID:
        return sessions.api_key_item(principal.user)
    try:
        return sessions.owned(principal, authorization_id, (sessions.AUTHORIZATION,))
    except NotFound:
        raise AuthorizationNotFound() from None


def revoke(principal: Principal, authorization_id: str, client: Client) -> SessionModel:
    if authorization_id == DEFAULT_ID:
        raise Forbidden("The API key cannot be deleted: regenerate it in your account settings.")
    item = find(principal, authorization_id)
    sessions.end(item, client, events.SESSION_REVOKED)
    return item
