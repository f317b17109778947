"""Sessions, authorizations and the API key: making them, checking them, ending them.

Every credential records the user's `session_epoch` when it is made. Raising the epoch on the
user item (one conditional write) ends every credential made before, which is how enabling
two-factor "ends every other session" without touching each item. Revoked items are kept
(marked `revoked_at`) until their TTL, so that the server can answer `session_revoked`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import clock, events
from chalicelib.auth import tokens
from chalicelib.config import settings
from chalicelib.context import Requester
from chalicelib.errors import NotFound, SessionRevoked, Unauthenticated
from chalicelib.store import db
from chalicelib.store.models import CredentialModel, UserModel

BROWSER = "browser"
AUTHORIZATION = "authorization"
API_KEY = "api_key"
LISTED_KINDS = (BROWSER, AUTHORIZATION)
# last_seen_at is refreshed at most this often, so that reads stay reads: a minute for
# sessions and authorizations (their idle limit needs it), five for the API key, which
# scripts may call many times a second.
TOUCH_INTERVAL = 60
API_KEY_TOUCH_INTERVAL = 5 * 60
# A revoked item is kept this long so the server can say `session_revoked`.
REVOKED_KEEP_SECONDS = 7 * 24 * 3600


@dataclass
class Principal:
    user: UserModel
    session: CredentialModel
    via: str  # "cookie" or "bearer"


def build(user: UserModel, kind: str, requester: Requester, *, description: str | None = None,
          lifetime: float | None = None) -> tuple[CredentialModel, str]:
    """A new credential item (not yet saved) and the token to hand out once."""
    cfg = settings()
    now = clock.now()
    token_id, token = tokens.new_token()
    if lifetime is None and kind == BROWSER:
        lifetime = cfg.session_absolute_seconds
    item = CredentialModel(
        token_id,
        kind=kind,
        user_id=user.user_id,
        email=user.email,
        token_hash=tokens.digest(token),
        epoch=user.session_epoch,
        created_at=now,
        last_seen_at=now,
        expires_at=db.ttl(now + lifetime) if lifetime else None,
        user_agent=(requester.user_agent or "")[:256] or None,
        ip=requester.ip,
        description=description,
        redacted_token=None if kind == BROWSER else tokens.redacted(token),
    )
    return item, token


def _expired(item: CredentialModel, now: float) -> bool:
    if not db.alive(item, now, required=False):
        return True
    if item.kind == BROWSER and item.last_seen_at + settings().session_idle_seconds <= now:
        return True
    return False


def authenticate(token: str | None, via: str) -> Principal:
    """Check a presented cookie (via="cookie") or bearer token (via="bearer")."""
    parsed = tokens.parse(token)
    if parsed is None:
        raise Unauthenticated()
    item = db.get(CredentialModel, parsed[0])
    if item is None or not tokens.matches(token, item.token_hash):
        raise Unauthenticated()
    allowed = (BROWSER,) if via == "cookie" else (API_KEY, AUTHORIZATION)
    if item.kind not in allowed:
        raise Unauthenticated()
    if item.revoked_at is not None:
        raise SessionRevoked()
    now = clock.now()
    if _expired(item, now):
        raise Unauthenticated("This session has expired. Please log in again.")
    user = db.get(UserModel, item.email)
    if user is None or user.user_id != item.user_id:
        raise Unauthenticated()
    if item.kind == API_KEY:
        if user.api_key_id != item.id:
            raise SessionRevoked()
    elif item.epoch != user.session_epoch:
        raise SessionRevoked()
    interval = API_KEY_TOUCH_INTERVAL if item.kind == API_KEY else TOUCH_INTERVAL
    if now - item.last_seen_at >= interval:
        _touch(item, now)  # every credential shows when it was last used
    return Principal(user=user, session=item, via=via)


def api_key_item(user: UserModel) -> CredentialModel:
    """The credential item of the account's current API key."""
    item = db.get(CredentialModel, user.api_key_id)
    if item is None:
        raise NotFound("The account has no API key.")
    return item


def _touch(item: CredentialModel, now: float) -> None:
    """At most one write per interval however many requests race: the condition admits only
    the first that finds the old time."""
    try:
        item.update(actions=[CredentialModel.last_seen_at.set(now)],
                    condition=CredentialModel.revoked_at.does_not_exist()
                    & (CredentialModel.last_seen_at == item.last_seen_at))
    except UpdateError:
        pass  # revoked, or touched by a request racing this one: this one was already checked


def revoke_op(item: CredentialModel) -> db.Write:
    """The write that ends a credential (kept, marked revoked, until its TTL)."""
    now = clock.now()
    return db.update(item, [CredentialModel.revoked_at.set(now),
                            CredentialModel.expires_at.set(db.ttl(now + REVOKED_KEEP_SECONDS))],
                     CredentialModel.id.exists())


def end(item: CredentialModel, requester: Requester, event_type: str) -> None:
    """End one credential and log it (`logout` or `session_revoked`), in one transaction."""
    detail = None if event_type == events.LOGOUT else {"kind": item.kind, "id": item.id}
    db.commit_or([revoke_op(item), events.logged(item.user_id, event_type, requester, detail)],
                 lambda failed: NotFound("No such session."))


def log_out(principal: Principal, requester: Requester) -> None:
    """POST /api/logout with a cookie: this browser session ends."""
    end(principal.session, requester, events.LOGOUT)


def revoke_owned(principal: Principal, session_id: str, requester: Requester) -> CredentialModel:
    """DELETE /api/account/sessions/{id}: one of this user's sessions or authorizations ends."""
    item = owned(principal, session_id)
    end(item, requester, events.SESSION_REVOKED)
    return item


def owned(principal: Principal, session_id: str, kinds: tuple[str, ...] = LISTED_KINDS) -> CredentialModel:
    """A live credential of this user of one of `kinds`, or NotFound (another user's looks
    the same)."""
    item = db.get(CredentialModel, session_id)
    if item is None or item.user_id != principal.user.user_id or item.kind not in kinds or not _live(item, principal.user):
        raise NotFound("No such session.")
    return item


def _live(item: CredentialModel, user: UserModel) -> bool:
    return item.revoked_at is None and item.epoch == user.session_epoch and not _expired(item, clock.now())


def live(user: UserModel, kinds: tuple[str, ...] = LISTED_KINDS) -> list[CredentialModel]:
    """The user's live credentials of `kinds`, newest first."""
    items = CredentialModel.by_user.query(user.user_id, scan_index_forward=False)
    return [item for item in items if item.kind in kinds and _live(item, user)]


def listing(principal: Principal) -> list[dict[str, Any]]:
    return [
        {
            "id": item.id,
            "kind": item.kind,
            "created_at": clock.rfc3339(item.created_at),
            "last_seen_at": clock.rfc3339(item.last_seen_at),
            "expires_at": clock.rfc3339(item.expires_at.timestamp()) if item.expires_at else None,
            "user_agent": item.user_agent,
            "ip": item.ip,
            "current": item.id == principal.session.id,
        }
        for item in live(principal.user)
    ]
