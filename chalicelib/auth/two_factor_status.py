"""The `two_factor` block of GET /api/account."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.factors import recovery, sms
from chalicelib.store.models import UserModel


def status(user: UserModel) -> dict[str, Any]:
    enabled = user.two_factor_enabled_at is not None
    remaining = 0
    if enabled:
        current = recovery.current_set(user.user_id)
        remaining = int(current.remaining or 0) if current is not None else 0
    return {
        "enabled": enabled,
        "enabled_at": clock.rfc3339(user.two_factor_enabled_at),
        "phone": sms.status(user) if enabled else None,
        "recovery_codes_remaining": remaining,
        "recovery_codes_low": enabled and remaining <= recovery.LOW,
    }
