"""Reading fields of a request body: the checks every handler and factor shares, with the
contract's error (400 `invalid_request`) naming the field. Pure: no web framework here."""
from __future__ import annotations

from typing import Any

from chalicelib.errors import InvalidRequest

MAX_PASSWORD = 4096


def string(data: dict[str, Any], name: str, *, max_length: int = 1024, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required.")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string.")
    if len(value) > max_length:
        raise InvalidRequest(f"{name} is too long (at most {max_length} characters).")
    if required and value == "":
        raise InvalidRequest(f"{name} is required.")
    return value


def boolean(data: dict[str, Any], name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be true or false.")
    return value


def password(data: dict[str, Any]) -> str:
    return string(data, "password", max_length=MAX_PASSWORD)  # type: ignore[return-value]
