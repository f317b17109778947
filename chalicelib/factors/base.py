"""The contract every second factor meets, so that a new kind is a new module.

At login a factor first names the items it must read for what the person typed (`reads`),
which the flow fetches in the same call as the user; then it is asked to `check` the value
against them. It answers None for a wrong code, or a `Proof`: the conditional writes that
spend the code (made atomic with the login token's own single use by the login flow, in one
DynamoDB transaction) and what the security log and the answer should say about it. A factor
writes nothing itself at login: the flow commits, so that a code and a token are spent
together, in three DynamoDB calls whatever the factor (token, reads, commit).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from chalicelib.store.models import EphemeralModel, UserModel

_SEPARATORS = re.compile(r"[\s-]")


def digits(value: str, count: int = 6) -> str | None:
    """The code as typed without spaces or dashes, if it is exactly `count` ASCII digits
    (str.isdigit alone would let other scripts' digits through)."""
    code = _SEPARATORS.sub("", value)
    if len(code) != count or not (code.isascii() and code.isdigit()):
        return None
    return code


TxOp = Callable[[Any], None]  # receives a pynamodb TransactWrite and adds its writes
ItemKey = tuple[type, str, "str | None"]  # (model, hash key, range key) to read


@dataclass
class Proof:
    ops: list[TxOp]
    detail: dict[str, Any] = field(default_factory=dict)  # for the security log; never a secret
    answer: dict[str, Any] = field(default_factory=dict)  # extra fields for the login answer
    # What must still hold of the user item when the code is spent (the phone an SMS code
    # was sent to is still the account's), checked in the same transaction.
    user_condition: Any = None


class LoginFactor(Protocol):
    method: str  # the name in `methods`: "totp", "recovery_code", "sms"
    field: str  # the request field at /api/login/verify
    lockable: bool  # locked with the account's second factor after 100 failures
    max_length: int

    def offered(self, user: UserModel) -> bool: ...

    def recognises(self, value: str) -> bool:
        """Whether `value` has this factor's shape, so that a code sent without naming its
        kind (Heroku's `Heroku-Two-Factor-Code` header) reaches the right factor."""
        ...

    def reads(self, user_id: str, authenticator_ids: set[str], value: str) -> list[ItemKey]:
        """The items `check` needs for this value (none when it cannot be one of ours)."""
        ...

    def check(self, user: UserModel, value: str, login: EphemeralModel | None,
              items: list[Any]) -> Proof | None:
        """`items` are the reads, in order (None where missing). `login` is the login
        attempt, or None for a code sent with the password itself."""
        ...
