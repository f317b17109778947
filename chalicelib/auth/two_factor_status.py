"""The `two_factor` block of GET /api/account."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.store.models import UserModel

RECOVERY_CODES_LOW = 3


def status(user: UserModel) -> dict[str, Any]:
    enabled = user.two_factor_enabled_at is not None
    return {
        "enabled": enabled,
        "enabled_at": clock.rfc3339(user.two_factor_enabled_at),
        "phone": None,
        "recovery_codes_remaining": 0,
        "recovery_codes_low": False,
    }
