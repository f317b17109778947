"""Bearer secrets: session cookies, API keys, authorizations, login tokens.

A token is `<id>.<secret>`: the id (128 bits) is the item's key and may be shown (session
lists use it); the secret (256 bits) is never stored, only its SHA-256. A fast hash is
right here: the secret is random, not a password, so there is nothing to brute-force.
Bearer tokens (authorizations, the API key) also keep their redacted form, as Heroku shows
tokens in its listings: eight characters of the id and the last four of the secret (24
bits, leaving 232 unknown).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_PART = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# Heroku's CLI reads a redacted token as prefix, exactly ten asterisks, suffix (it finds the
# token it holds among listed ones by that prefix and suffix, e.g. at logout).
REDACTION = "*" * 10
SHOWN_PREFIX = 8  # of the id, which lists show anyway
SHOWN_SUFFIX = 4  # of the secret: 24 of its 256 bits


def new_token() -> tuple[str, str]:
    """Return (id, token)."""
    token_id = secrets.token_urlsafe(16)
    return token_id, f"{token_id}.{secrets.token_urlsafe(32)}"


def parse(token: str | None) -> tuple[str, str] | None:
    """Split a presented token into (id, secret), or None when it is not one of ours."""
    if not token or len(token) > 200:
        return None
    token_id, dot, secret = token.partition(".")
    if not dot or not _PART.match(token_id) or not _PART.match(secret):
        return None
    return token_id, secret


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def matches(token: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(token), stored_digest)


def redacted(token: str) -> str:
    """How a token is shown after the answer that made it: Heroku's shape."""
    return token[:SHOWN_PREFIX] + REDACTION + token[-SHOWN_SUFFIX:]

