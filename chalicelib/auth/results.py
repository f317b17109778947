"""What a login step answers, whichever step it was (the password, the second factor)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoginResult:
    status: str  # "authenticated" or "two_factor_required"
    user: Any  # the UserModel
    cookie: str | None = None
    api_key: str | None = None
    login_token: str | None = None
    methods: list[str] = field(default_factory=list)
    phone_hint: str | None = None
    extra: dict = field(default_factory=dict)
