"""How domain objects look in API answers: one function per shape."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib import clock

if TYPE_CHECKING:
    from chalicelib.auth.results import LoginResult


def user_body(user: Any) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "email": user.email,
        "created_at": clock.rfc3339(user.created_at),
        "two_factor_enabled": user.two_factor_enabled_at is not None,
    }


def login_body(result: LoginResult) -> dict[str, Any]:
    if result.status == "two_factor_required":
        return {
            "status": result.status,
            "login_token": result.login_token,
            "methods": result.methods,
            "phone_hint": result.phone_hint,
        }
    body: dict[str, Any] = {"status": result.status, "user": user_body(result.user)}
    if result.api_key is not None:
        body["api_key"] = result.api_key
    body.update(result.extra)
    return body
