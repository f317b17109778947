"""Chromium's virtual authenticators, through the DevTools protocol's WebAuthn domain.

This is the browser's own WebAuthn stack (navigator.credentials, its origin and relying party
checks, CTAP2) with a software authenticator behind it, and it works headless; Playwright's
`context.credentials` would be a JavaScript stand-in. One authenticator holds at most one
credential per account (the server's excludeCredentials refuses a second), so a second key
is a second authenticator. Binary fields in CDP are standard base64.
"""
from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Page

_COMMON = {"protocol": "ctap2", "hasUserVerification": True, "isUserVerified": True,
           "automaticPresenceSimulation": True}
# A USB security key that keeps no discoverable credentials (a second factor only), and a
# platform authenticator (Touch ID, Windows Hello) that holds passkeys.
SECURITY_KEY = {**_COMMON, "transport": "usb", "hasResidentKey": False}
PLATFORM = {**_COMMON, "transport": "internal", "hasResidentKey": True}


class Authenticators:
    """The virtual authenticators of one page (its tab); each call is one CDP command."""

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})

    def add(self, options: dict[str, Any]) -> str:
        return self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]

    def remove(self, authenticator: str) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})

    def credentials(self, authenticator: str) -> list[dict[str, Any]]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]

    def add_credential(self, authenticator: str, credential: dict[str, Any]) -> None:
        self.cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": credential})

    def remove_credential(self, authenticator: str, credential_id: str) -> None:
        self.cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator, "credentialId": credential_id})

    @contextlib.contextmanager
    def emptied(self, authenticator: str) -> Iterator[None]:
        """The authenticator without its credentials for a while: the browser's prompt then
        fails with NotAllowedError, as when the person cancels it. They come back after."""
        kept = self.credentials(authenticator)
        for credential in kept:
            self.remove_credential(authenticator, credential["credentialId"])
        try:
            yield
        finally:
            for credential in kept:
                self.add_credential(authenticator, credential)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def stranger_passkey(rp_id: str = "localhost") -> dict[str, Any]:
    """A discoverable credential for `rp_id` that no server has seen: a fresh P-256 key (PKCS#8),
    a random credential id and a user handle of some account id's shape."""
    key = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    return {"credentialId": b64(secrets.token_bytes(32)), "isResidentCredential": True, "rpId": rp_id,
            "privateKey": b64(pkcs8), "userHandle": b64(secrets.token_hex(16).encode()), "signCount": 0}
