"""The shapes of what a browser sends for WebAuthn (`PublicKeyCredential.toJSON()`), checked
before anything is read or verified: a malformed or oversized answer is a 400 naming the
field, never a 5xx. Pure: no fido2 here."""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from chalicelib.errors import InvalidRequest

_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
MAX_ID = 1400  # base64url of WebAuthn's largest credential id (1023 bytes)
MAX_PART = 16 * 1024  # client data, authenticator data, attestation object, signature

_ASSERTION = {"clientDataJSON": MAX_PART, "authenticatorData": MAX_PART, "signature": 1024}
_ATTESTATION = {"clientDataJSON": MAX_PART, "attestationObject": 48 * 1024}


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64(value: Any, name: str, limit: int, *, required: bool = True) -> bytes | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidRequest(f"{name} must be a base64url string.")
    if len(value) > limit:
        raise InvalidRequest(f"{name} is too long.")
    if not _B64URL.match(value):
        raise InvalidRequest(f"{name} must be a base64url string.")
    try:
        return b64decode(value.rstrip("="))
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{name} must be a base64url string.") from None


def _credential(raw: Any, name: str, parts: dict[str, int]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{name} must be an object (PublicKeyCredential.toJSON()).")
    if raw.get("type") != "public-key":
        raise InvalidRequest(f'{name}.type must be "public-key".')
    raw_id = _b64(raw.get("rawId", raw.get("id")), f"{name}.rawId", MAX_ID)
    if not raw_id:
        raise InvalidRequest(f"{name}.rawId is required.")
    response = raw.get("response")
    if not isinstance(response, dict):
        raise InvalidRequest(f"{name}.response must be an object.")
    for part, limit in parts.items():
        _b64(response.get(part), f"{name}.response.{part}", limit)
    extensions = raw.get("clientExtensionResults", {})
    if not isinstance(extensions, dict):
        raise InvalidRequest(f"{name}.clientExtensionResults must be an object.")
    return raw


def assertion(raw: Any, name: str = "webauthn") -> dict[str, Any]:
    """An AuthenticationResponseJSON in a shape fido2 can read."""
    checked = _credential(raw, name, _ASSERTION)
    _b64(checked["response"].get("userHandle"), f"{name}.response.userHandle", 128, required=False)
    return checked


def registration(raw: Any, name: str = "credential") -> dict[str, Any]:
    """A RegistrationResponseJSON in a shape fido2 can read."""
    return _credential(raw, name, _ATTESTATION)


def raw_id(checked: dict[str, Any]) -> bytes:
    return b64decode(str(checked.get("rawId", checked.get("id"))).rstrip("="))


def user_handle(checked: dict[str, Any]) -> bytes | None:
    handle = checked["response"].get("userHandle")
    return b64decode(handle.rstrip("=")) if handle else None
