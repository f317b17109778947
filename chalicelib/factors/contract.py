"""The contract every kind of second factor meets, so that a new kind is one package.

A factor has two halves.

**Login** (auth/second_factor.py drives it). After the password the login token offers the
methods whose `offered(user)` is true. A method with a challenge (`challenge_status` set)
is first asked for one at `POST /api/login/challenge` (an SMS code sent, a security key's
request options); what it must remember goes on the login attempt under its method name
(`LoginAttemptModel.challenges`), spent with the token. Then `POST /api/login/verify` sends
the answer in the method's `field`: `value(raw)` checks its shape (a string of a code, or a
structured value such as a WebAuthn assertion, an object), `reads(...)` names the items to
fetch for it (in the same call as the user), and `check(...)` answers None (or a `Refusal`
saying why) for a wrong value, or a `Proof`: the conditional writes that spend it, which
the flow commits in one transaction with the token's own single use, the new credential and
the security log. A factor writes nothing itself at login.

**Enrolment** (auth/two_factor.py drives it), for kinds that make two-factor (`enrols`):
`begin(user, fields)` after the password (its fields checked first by `begin_fields`) (the QR code, a key's creation options), then
`finish(user, data)` with the proof (the first code, the key's answer), which answers an
`Enrolment`: the writes that store the factor. The flow adds its id to the account's one
list of factor ids (`UserModel.factor_ids`), or, for the first factor of any kind, turns
two-factor on with it. `listing(user_id)` shows the account's factors of the kind;
removal is the flow's (the last factor of every kind together cannot be removed).

Recovery options (recovery codes, the SMS phone) have a login half only: they do not make
two-factor and have their own pages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from chalicelib import events
from chalicelib.errors import InvalidRequest
from chalicelib.store import keys

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

# What the person gives at login, so a client can draw the field without knowing the kind.
INPUTS = ("code", "recovery_code", "credential")


@dataclass
class Proof:
    ops: list[TxOp]
    detail: dict[str, Any] = field(default_factory=dict)  # for the security log; never a secret
    answer: dict[str, Any] = field(default_factory=dict)  # extra fields for the login answer
    # What must still hold of the user item when the value is spent (the phone an SMS code
    # was sent to is still the account's), checked in the same transaction.
    user_condition: Any = None
    # Further events the login writes with it (a recovery code used), as (type, detail).
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Refusal:
    """A value examined and refused, with what the security log should say of it (a key's
    reason, a counter that went backwards) and further events; counted like a wrong code."""

    detail: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Enrolment:
    """A proven new factor: its id (`<kind>#<id>`, its item's sort key), its name, and the
    writes that store it (and spend the proof); `detail` goes in the security log."""

    factor_id: str
    name: str
    ops: list[TxOp]
    detail: dict[str, Any] = field(default_factory=dict)
    answer: dict[str, Any] = field(default_factory=dict)  # extra fields for the answer (the new key)


class Factor:
    """Defaults for every part of the contract; a kind overrides what it has."""

    method: str = ""  # its name in `methods`, in /api/methods and in the factor ids
    label: str = ""  # for people: "Authenticator app"
    field: str = ""  # the request field at /api/login/verify
    input: str = "code"  # one of INPUTS
    lockable: bool = True  # locked with the account's second factor after 100 failures
    max_length: int = 32  # of a string value
    challenge_status: int | None = None  # the challenge's HTTP status; None: no challenge step
    enrols: bool = False  # makes two-factor (and counts for the last-factor rule)
    noun: str = "factor"  # names the password re-entry's action: "<noun>_setup", "<noun>_removed"
    added_event: str = events.FACTOR_ADDED
    removed_event: str = events.FACTOR_REMOVED
    not_found: str = "No such two-factor method."

    # --- login ---------------------------------------------------------------------------
    def value(self, raw: Any) -> Any:
        """The request's value in its checked shape, or InvalidRequest."""
        if not isinstance(raw, str) or not raw or len(raw) > self.max_length:
            raise InvalidRequest(f"{self.field} must be a short string.")
        return raw

    def offered(self, user: Any) -> bool:
        """Whether the second step offers it to this account: by default, whether the
        account has a factor of this kind."""
        return any(keys.kind_of(factor_id) == self.method for factor_id in user.factor_ids_of())

    def challenge(self, user: Any, login: Any, requester: Any) -> dict[str, Any]:
        """The challenge's answer body; what the check will need goes on the login attempt
        (`LoginAttemptModel.challenges[method]`, written with a condition on the token)."""
        raise NotImplementedError

    def recognises(self, value: Any) -> bool:
        """Whether `value` has this factor's shape, so that a code sent without naming its
        kind (Heroku's `Heroku-Two-Factor-Code` header) reaches the right factor."""
        return False

    def reads(self, user_id: str, factor_ids: set[str], value: Any) -> list[ItemKey]:
        """The items `check` needs for this value (none when it cannot be one of ours)."""
        return []

    def check(self, user: Any, value: Any, login: Any, items: list[Any]) -> Proof | Refusal | None:
        """`items` are the reads, in order (None where missing). `login` is the login
        attempt, or None for a code sent with the password itself. A wrong value is None,
        or a Refusal that says why."""
        return None

    # --- enrolment (kinds that enrol) ----------------------------------------------------
    def begin_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        """The first step's own fields, checked before the password is (so that a malformed
        request costs no password attempt)."""
        return {}

    def begin(self, user: Any, data: dict[str, Any], requester: Any) -> dict[str, Any]:
        raise InvalidRequest(f"{self.method} is not added this way.")

    def finish(self, user: Any, data: dict[str, Any], requester: Any) -> Enrolment:
        raise InvalidRequest(f"{self.method} is not added this way.")

    def listing(self, user_id: str) -> list[dict[str, Any]]:
        return []

    def describe(self) -> dict[str, Any]:
        """How /api/methods shows it, for clients that draw the second step from it."""
        return {"method": self.method, "label": self.label, "field": self.field, "input": self.input,
                "challenge": self.challenge_status is not None, "enrols": self.enrols}


_OVERRIDDEN_WHEN = {
    "challenge": lambda f: f.challenge_status is not None,
    "begin": lambda f: f.enrols,
    "finish": lambda f: f.enrols,
    "listing": lambda f: f.enrols,
    "check": lambda f: True,
}


def problems(factor: Any) -> list[str]:
    """What keeps `factor` from meeting the contract (empty when it does)."""
    found = []
    if not isinstance(factor, Factor):
        return [f"{factor!r} is not a chalicelib.factors.contract.Factor"]
    for name in ("method", "field", "noun"):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(getattr(factor, name) or "")):
            found.append(f"{name} must be a snake_case name")
    if not factor.label:
        found.append("label is empty")
    if factor.input not in INPUTS:
        found.append(f"input must be one of {INPUTS}")
    if factor.challenge_status is not None and factor.challenge_status not in (200, 202):
        found.append("challenge_status must be 200 or 202")
    for event in (factor.added_event, factor.removed_event):
        if event not in events.CATALOGUE:
            found.append(f"{event!r} is not in the events catalogue")
    for name, needed in _OVERRIDDEN_WHEN.items():
        if needed(factor) and getattr(type(factor), name) is getattr(Factor, name):
            found.append(f"{name}() must be implemented")
    return found
