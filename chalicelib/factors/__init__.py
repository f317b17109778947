"""The registry of second factors: the one list the login, enrolment, the methods listing
and the account's factor ids know them by. Each kind is a package here (its login step,
enrolment, pure parts and request checks) exposing `FACTOR`, an instance of
`contract.Factor`; adding a kind is adding its package and its line in `BUILT_IN`.

Packages are imported on first use, not with this module, so that a request pays only for
the factors it touches (segno and phonenumbers stay off the login path).
"""
from __future__ import annotations

import importlib

from chalicelib.factors.contract import Factor, problems

# In the order the second step offers them; the first is what an unnamed code is taken for.
BUILT_IN = (
    "chalicelib.factors.totp",
    "chalicelib.factors.recovery",
    "chalicelib.factors.sms",
    "chalicelib.factors.webauthn",
)

_registered: list[Factor] = []  # kinds registered at run time (tests register their own)
_loaded: list[Factor] | None = None


class ContractBroken(TypeError):
    """A factor does not meet the contract (factors/contract.py)."""


def _checked(factor: Factor, taken: set[str]) -> Factor:
    found = problems(factor)
    if factor.method in taken:
        found.append(f"the method {factor.method!r} is taken")
    if found:
        raise ContractBroken(f"{type(factor).__name__}: " + "; ".join(found))
    return factor


def _built_in() -> list[Factor]:
    global _loaded
    if _loaded is None:
        taken: set[str] = set()
        loaded = []
        for name in BUILT_IN:
            factor = _checked(importlib.import_module(name).FACTOR, taken)
            taken.add(factor.method)
            loaded.append(factor)
        _loaded = loaded
    return _loaded


def all_factors() -> list[Factor]:
    return [*_built_in(), *_registered]


def register(factor: Factor) -> Factor:
    """Add a kind at run time; ContractBroken says what it lacks."""
    _registered.append(_checked(factor, {f.method for f in all_factors()}))
    return factor


def unregister(method: str) -> None:
    _registered[:] = [f for f in _registered if f.method != method]


def get(method: str) -> Factor | None:
    return next((f for f in all_factors() if f.method == method), None)


def enrolling() -> list[Factor]:
    """The kinds that make two-factor (and count for the last-factor rule)."""
    return [f for f in all_factors() if f.enrols]
