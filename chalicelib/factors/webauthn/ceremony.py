"""The WebAuthn ceremonies, through Yubico's fido2: creation and request options in the
WebAuthn Level 3 JSON forms (base64url, as `PublicKeyCredential.parseCreationOptionsFromJSON`
takes them), and the checks of what the browser answers (`toJSON()`'s forms).

fido2 checks the client data's type, challenge and origin, the relying party id's hash, user
presence always and user verification when the state requires it, and the signature. The
origin is matched exactly against the deployment's one origin (fido2's default would accept
any port and any subdomain of the relying party). Attestation is `none`: the key's maker is
not asked for. This module is the only one that imports fido2 (and with it cryptography), and
it is imported only on the paths that use keys.
"""
from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass
from typing import Any

from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialDescriptor,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from chalicelib.config import settings


TRANSPORTS = frozenset({"usb", "nfc", "ble", "smart-card", "hybrid", "internal"})


class Refused(ValueError):
    """What the browser sent does not prove what it must (the reason is for the log);
    `cloned` when it was signed by what may be a copy of the key (its counter went back)."""

    def __init__(self, reason: str, *, cloned: bool = False) -> None:
        super().__init__(reason)
        self.cloned = cloned


@dataclass(frozen=True)
class Registered:
    credential: str  # the attested credential data (id, public key), base64url: not secret
    credential_id: bytes
    sign_count: int
    user_verified: bool
    transports: list[str]


@dataclass(frozen=True)
class Asserted:
    sign_count: int
    user_verified: bool


def _server() -> Fido2Server:
    cfg = settings()
    return _server_for(cfg.rp_id or "", cfg.webauthn_origin or "", cfg.issuer)


@functools.lru_cache(maxsize=4)
def _server_for(rp_id: str, origin: str, name: str) -> Fido2Server:
    """One server per relying party for the container's life (making one costs about
    1.4 ms: fido2's dataclasses)."""
    return Fido2Server({"id": rp_id, "name": name}, attestation="none",
                       verify_origin=lambda given: hmac.compare_digest(str(given), origin))


def _descriptor(credential_id: bytes, transports: list[str] | None = None) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(type="public-key", id=credential_id, transports=transports or None)


def _public_key(options: Any) -> dict[str, Any]:
    return dict(options)["publicKey"]


def creation_options(user_id: str, email: str, existing: list[tuple[bytes, list[str]]],
                     passkey: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(PublicKeyCredentialCreationOptionsJSON, the state to keep). A passkey is a
    discoverable credential with user verification; a security key need be neither."""
    options, state = _server().register_begin(
        {"id": user_id.encode(), "name": email, "displayName": email},
        [_descriptor(credential_id, transports) for credential_id, transports in existing],
        resident_key_requirement=ResidentKeyRequirement.REQUIRED if passkey else ResidentKeyRequirement.DISCOURAGED,
        user_verification=UserVerificationRequirement.REQUIRED if passkey else UserVerificationRequirement.PREFERRED,
        extensions={"credProps": True},
    )
    return _public_key(options), _plain(state)


def request_options(allowed: list[tuple[bytes, list[str]]] | None,
                    user_verification: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(PublicKeyCredentialRequestOptionsJSON, the state to keep): for the account's own
    keys after the password (`allowed`), or for any discoverable credential (None)."""
    options, state = _server().authenticate_begin(
        None if allowed is None else [_descriptor(credential_id, transports) for credential_id, transports in allowed],
        user_verification=UserVerificationRequirement.REQUIRED if user_verification
        else UserVerificationRequirement.PREFERRED,
    )
    return _public_key(options), _plain(state)


def registered(state: dict[str, Any], response: dict[str, Any], passkey: bool) -> Registered:
    try:
        parsed = RegistrationResponse.from_dict(response)  # parsed once, checked by fido2
        auth_data = _server().register_complete(state, parsed)
    except Exception as exc:  # noqa: BLE001 - fido2 raises several types for a bad answer
        raise Refused(_reason(exc)) from None
    data = auth_data.credential_data
    if data is None:
        raise Refused("no credential in the answer")
    if passkey:
        props = (parsed.client_extension_results or {}).get("credProps") or {}
        if props.get("rk") is False:
            raise Refused("not a discoverable credential")
    return Registered(websafe_encode(bytes(data)), bytes(data.credential_id), int(auth_data.counter),
                      bool(auth_data.is_user_verified()), _transports(response))


def _transports(response: dict[str, Any]) -> list[str]:
    """The transports the browser reports (fido2 does not read them), kept to hint the
    browser at login; only the names WebAuthn defines."""
    given = (response.get("response") or {}).get("transports")
    return sorted({t for t in given if t in TRANSPORTS}) if isinstance(given, list) else []


def _plain(state: Any) -> dict[str, Any]:
    """fido2's state with its enums as plain strings, to be stored as it is."""
    return {key: None if value is None else str(getattr(value, "value", value)) for key, value in dict(state).items()}


def asserted(state: dict[str, Any], credential: str, response: dict[str, Any]) -> Asserted:
    """The assertion checked against one stored credential (`Registered.credential`)."""
    try:
        stored = AttestedCredentialData(websafe_decode(credential))
        parsed = AuthenticationResponse.from_dict(response)  # parsed once, checked by fido2
        _server().authenticate_complete(state, [stored], parsed)
        auth_data = parsed.response.authenticator_data
    except Exception as exc:  # noqa: BLE001
        raise Refused(_reason(exc)) from None
    return Asserted(int(auth_data.counter), bool(auth_data.is_user_verified()))


def credential_id_of(stored: str) -> bytes:
    return bytes(AttestedCredentialData(websafe_decode(stored)).credential_id)


def _reason(exc: Exception) -> str:
    """A short reason for the security log: fido2's own words for the checks it makes,
    never the values it compared."""
    text = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
    return text[:80] or type(exc).__name__
