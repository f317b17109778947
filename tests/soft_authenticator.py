"""A software WebAuthn authenticator for the API tests: it takes the options' JSON forms and
answers in the JSON forms a browser's `toJSON()` gives, signing with a P-256 key it keeps.

Settable: the origin and relying party id it signs for (to play a phishing page), whether it
says the user was verified, and its signature counter (to play a cloned key). One instance
holds one credential.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor

UP, UV, AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    def __init__(self, origin: str = "http://localhost:8000", rp_id: str | None = None, *,
                 user_verified: bool = True, sign_count: int = 0) -> None:
        self.origin = origin
        self.rp_id = rp_id
        self.user_verified = user_verified
        self.sign_count = sign_count
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.user_handle: bytes | None = None

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor.encode({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _auth_data(self, rp_id: str, attested: bool) -> bytes:
        flags = UP | (UV if self.user_verified else 0) | (AT if attested else 0)
        data = hashlib.sha256((self.rp_id or rp_id).encode()).digest() + bytes([flags]) + struct.pack(">I", self.sign_count)
        if attested:
            data += bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose()
        return data

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()

    def create(self, public_key: dict, *, resident: bool = True) -> dict:
        """navigator.credentials.create() answered: a RegistrationResponseJSON."""
        self.user_handle = unb64(public_key["user"]["id"])
        client_data = self._client_data("webauthn.create", public_key["challenge"])
        attestation = cbor.encode({"fmt": "none", "attStmt": {}, "authData": self._auth_data(public_key["rp"]["id"], True)})
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(attestation),
                             "transports": ["usb"]},
                "clientExtensionResults": {"credProps": {"rk": resident}}}

    def get(self, public_key: dict) -> dict:
        """navigator.credentials.get() answered: an AuthenticationResponseJSON (the counter
        moves on by one first, as a real key's does)."""
        self.sign_count += 1
        client_data = self._client_data("webauthn.get", public_key["challenge"])
        auth_data = self._auth_data(public_key.get("rpId") or "localhost", False)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                             "signature": b64(signature),
                             "userHandle": b64(self.user_handle) if self.user_handle is not None else None},
                "clientExtensionResults": {}}
