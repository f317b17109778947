"""The Heroku Platform API subset that Heroku's own CLI needs (`heroku login -i`,
`auth:whoami`, `2fa`, `auth:token`, `logout`), at the root of the host and in Heroku's
shapes: errors are `{"id", "message"}` (plus `resource` on a 404), tokens are shown in full
only in the 201 that makes them and redacted (prefix, ten asterisks, suffix) after.

Only bearer tokens open these paths, never the browser's cookie: the browser app does not
use them, so they need no CSRF defence.
"""
from __future__ import annotations

import base64
import binascii
import math
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response

from chalicelib import clock, fields
from chalicelib.api import http
from chalicelib.errors import InvalidRequest, NoSuchSession, TwostepError, Unauthenticated, heroku_body, heroku_status

if TYPE_CHECKING:  # the domain is imported by the handlers that use it, to keep cold starts light
    from chalicelib.auth import credentials

bp = Blueprint(__name__)

TWO_FACTOR_HEADER = "heroku-two-factor-code"
MAX_DESCRIPTION = 256

def is_heroku_path(path: str) -> bool:
    """Whether a path is this subset's (and so answers errors in Heroku's shape)."""
    return path.startswith("/oauth/") or path == "/account"


def error_response(exc: TwostepError) -> Response:
    return http.json_response(heroku_body(exc), heroku_status(exc), exc.headers())


def route(path: str, methods: list[str] | None = None):
    return http.route(bp, path, methods, errors=error_response)


def _authenticate() -> credentials.Principal:
    from chalicelib.auth import credentials

    return credentials.authenticate(http.bearer_token(bp.current_request), via="bearer")


def _basic_credentials(request: Any) -> tuple[str, str]:
    scheme, _, encoded = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        raise Unauthenticated("Log in with your email and password (HTTP Basic authentication).")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise Unauthenticated("The Basic credentials are not valid base64 of email:password.") from None
    email, colon, password = decoded.partition(":")
    if not colon:
        raise Unauthenticated("The Basic credentials are not valid base64 of email:password.")
    if len(email) > 320 or len(password) > fields.MAX_PASSWORD:
        raise InvalidRequest("The email or the password is too long.")
    return email, password


def _lifetime(data: dict[str, Any]) -> int:
    """What the client asked for (Heroku's CLI asks for 30 days), capped by the deployment's
    TWOSTEP_AUTHORIZATION_SECONDS."""
    from chalicelib.auth import authorizations
    from chalicelib.config import settings

    value = data.get("expires_in")
    if value is None:
        value = authorizations.DEFAULT_LIFETIME
    elif isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= authorizations.MAX_LIFETIME:
        raise InvalidRequest(f"expires_in must be a number of seconds from 1 to {authorizations.MAX_LIFETIME}.")
    return min(value, settings().authorization_seconds)


def _check_scope(data: dict[str, Any]) -> None:
    from chalicelib.auth import authorizations

    scope = data.get("scope")
    if scope is None:
        return
    if not isinstance(scope, list) or not all(isinstance(s, str) for s in scope) or len(scope) > 10:
        raise InvalidRequest("scope must be a list of strings.")
    if not set(scope) <= set(authorizations.SCOPES):
        raise InvalidRequest("Only the global scope is supported.")


def _user_body(user: Any) -> dict[str, Any]:
    return {"id": user.user_id, "email": user.email}


def authorization_body(item: Any, user: Any, token: str | None = None) -> dict[str, Any]:
    """An authorization in Heroku's shape; `token` only in the answer that makes it."""
    from chalicelib.auth import authorizations

    expires_in = None
    if item.expires_at is not None:
        expires_in = max(0, math.ceil(item.expires_at.timestamp() - clock.now()))
    created_at = clock.rfc3339(item.created_at)
    return {
        "id": item.id,
        "description": item.description,
        "scope": list(authorizations.SCOPES),
        "created_at": created_at,
        "updated_at": created_at,
        "access_token": {
            "id": item.id,
            "token": token or item.redacted_token,
            "expires_in": expires_in,
        },
        "refresh_token": None,
        "client": None,
        "grant": None,
        "session": None,
        "user": _user_body(user),
    }


@route("/oauth/authorizations", methods=["POST"])
def create_authorization():
    from chalicelib.auth import authorizations

    request = bp.current_request
    data = http.body(request)
    description = http.string(data, "description", max_length=MAX_DESCRIPTION, required=False)
    lifetime = _lifetime(data)
    _check_scope(data)
    email, password = _basic_credentials(request)
    code = (request.headers.get(TWO_FACTOR_HEADER) or "").strip() or None
    created = authorizations.create(email, password, code, http.requester(request),
                                    description=description or "Authorization", lifetime=lifetime)
    return http.json_response(authorization_body(created.item, created.user, created.token), 201)


@route("/oauth/authorizations")
def list_authorizations():
    from chalicelib.auth import authorizations

    principal = _authenticate()
    items = authorizations.listing(principal)
    return http.json_response([authorization_body(item, principal.user) for item in items])


@route("/oauth/authorizations/{authorization_id}")
def show_authorization(authorization_id: str):
    from chalicelib.auth import authorizations

    principal = _authenticate()
    item = authorizations.find(principal, authorization_id[:64])
    return http.json_response(authorization_body(item, principal.user))


@route("/oauth/authorizations/{authorization_id}", methods=["DELETE"])
def delete_authorization(authorization_id: str):
    from chalicelib.auth import authorizations

    request = bp.current_request
    principal = _authenticate()
    item = authorizations.revoke(principal, authorization_id[:64], http.requester(request))
    return http.json_response(authorization_body(item, principal.user))


@route("/oauth/sessions/{session_id}", methods=["DELETE"])
def delete_session(session_id: str):
    """Heroku's SSO sessions, which `heroku logout` ends first; twostep has none (the CLI
    then deletes its authorization), and Heroku's CLI accepts this 404."""
    _authenticate()
    raise NoSuchSession()


@route("/account")
def account():
    user = _authenticate().user
    created_at = clock.rfc3339(user.created_at)
    return http.json_response({
        **_user_body(user),
        "two_factor_authentication": user.two_factor_enabled_at is not None,
        "created_at": created_at,
        "updated_at": clock.rfc3339(max(user.created_at, user.two_factor_enabled_at or 0)),
    })
