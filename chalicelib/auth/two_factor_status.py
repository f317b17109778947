"""The `two_factor` block of GET /api/account."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib import clock

if TYPE_CHECKING:
    from chalicelib.store.models import UserModel


def status(user: UserModel) -> dict[str, Any]:
    if user.two_factor_enabled_at is None:
        return {"enabled": False, "enabled_at": None, "phone": None,
                "recovery_codes_remaining": 0, "recovery_codes_low": False}
    from chalicelib.factors import recovery, sms  # only accounts with two-factor need them

    current = recovery.current_set(user.user_id)
    remaining = int(current.remaining or 0) if current is not None else 0
    return {
        "enabled": True,
        "enabled_at": clock.rfc3339(user.two_factor_enabled_at),
        "phone": sms.status(user),
        "recovery_codes_remaining": remaining,
        "recovery_codes_low": remaining <= recovery.LOW,
    }
