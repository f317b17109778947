"""The catalogue of security events: every type the security log can hold, once.

Each type says how a person reads it (the front end's label, held to this by
tests/unit/test_events.py) and whether the owner is to be told when it happens (`notify`:
the email notices hang on that flag). Code names a type through this module's constants,
never a string of its own, and writes it through `build`/`record`/`logged`, which refuse a
type that is not here.

A change and its event are written in the same transaction wherever there is one
(`logged(...)` is a write for `commit`), so the log says a change happened if and only if it
did. `record` writes at once, for what has no transaction of its own (a failure, a view).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.context import Requester


@dataclass(frozen=True)
class EventType:
    name: str
    label: str  # how the security log reads it
    notify: bool  # whether the owner is told (by mail) when it happens


_TYPES = (
    EventType("signup", "Account created", False),
    EventType("login", "Logged in", False),
    EventType("login_failed", "Failed login: wrong password", False),
    EventType("password_failed", "Wrong password entered to confirm an action", False),
    EventType("logout", "Logged out", False),
    EventType("two_factor_failed", "Wrong two-factor code entered", False),
    EventType("two_factor_locked", "Authenticator app and SMS codes locked after too many wrong codes", True),
    EventType("two_factor_enabled", "Two-factor authentication turned on", True),
    EventType("two_factor_disabled", "Two-factor authentication turned off", True),
    EventType("authenticator_added", "Authenticator app added", True),
    EventType("authenticator_removed", "Authenticator app removed", True),
    # a kind of factor that names no events of its own (every kind twostep ships names its own)
    EventType("factor_added", "Two-factor method added", True),
    EventType("factor_removed", "Two-factor method removed", True),
    EventType("security_key_added", "Security key or passkey added", True),
    EventType("security_key_removed", "Security key or passkey removed", True),
    EventType("security_key_cloned", "Security key refused: its signature counter went back (a copy of it may exist)",
              True),
    EventType("passkey_failed", "Passkey sign-in refused", False),
    EventType("recovery_codes_viewed", "Recovery codes viewed", True),
    EventType("recovery_code_used", "Recovery code used", True),
    EventType("recovery_codes_regenerated", "New recovery codes generated", True),
    EventType("phone_added", "Phone number added", True),
    EventType("phone_verified", "Phone number verified", True),
    EventType("phone_verify_failed", "Wrong phone verification code entered", False),
    EventType("phone_removed", "Phone number removed", True),
    EventType("sms_sent", "Code sent by text message", False),
    EventType("sms_failed", "Text message could not be sent", False),
    EventType("api_key_revealed", "API key revealed", True),
    EventType("api_key_regenerated", "API key regenerated", True),
    EventType("session_revoked", "Session revoked", False),
)
CATALOGUE: dict[str, EventType] = {t.name: t for t in _TYPES}

SIGNUP = "signup"
LOGIN = "login"
LOGIN_FAILED = "login_failed"
PASSWORD_FAILED = "password_failed"
LOGOUT = "logout"
TWO_FACTOR_FAILED = "two_factor_failed"
TWO_FACTOR_LOCKED = "two_factor_locked"
TWO_FACTOR_ENABLED = "two_factor_enabled"
TWO_FACTOR_DISABLED = "two_factor_disabled"
AUTHENTICATOR_ADDED = "authenticator_added"
AUTHENTICATOR_REMOVED = "authenticator_removed"
FACTOR_ADDED = "factor_added"
FACTOR_REMOVED = "factor_removed"
SECURITY_KEY_ADDED = "security_key_added"
SECURITY_KEY_REMOVED = "security_key_removed"
SECURITY_KEY_CLONED = "security_key_cloned"
PASSKEY_FAILED = "passkey_failed"
RECOVERY_CODES_VIEWED = "recovery_codes_viewed"
RECOVERY_CODE_USED = "recovery_code_used"
RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
PHONE_ADDED = "phone_added"
PHONE_VERIFIED = "phone_verified"
PHONE_VERIFY_FAILED = "phone_verify_failed"
PHONE_REMOVED = "phone_removed"
SMS_SENT = "sms_sent"
SMS_FAILED = "sms_failed"
API_KEY_REVEALED = "api_key_revealed"
API_KEY_REGENERATED = "api_key_regenerated"
SESSION_REVOKED = "session_revoked"


class UnknownEventType(ValueError):
    """A programming error: a type written that the catalogue does not hold."""


def _checked(type_: str) -> str:
    if type_ not in CATALOGUE:
        raise UnknownEventType(f"{type_!r} is not in chalicelib/events.py's catalogue")
    return type_


def build(user_id: str, type_: str, requester: Requester, detail: dict[str, Any] | None = None):
    """One event, not yet written. `detail` never holds a password, code, secret, token or key."""
    from chalicelib.store import events as stored

    return stored.build(user_id, _checked(type_), requester, detail)


def logged(user_id: str, type_: str, requester: Requester, detail: dict[str, Any] | None = None):
    """The event as a write of the change's own transaction (for `store.db.commit`)."""
    event = build(user_id, type_, requester, detail)
    return lambda tx: tx.save(event)


def record(user_id: str, type_: str, requester: Requester, detail: dict[str, Any] | None = None) -> None:
    """Write one event at once, for what has no transaction of its own."""
    build(user_id, type_, requester, detail).save()


def recent(user_id: str, limit: int = 100) -> list[dict[str, Any]]:
    from chalicelib.store import events as stored

    return stored.recent(user_id, limit)
