"""The recovery codes' format: ten codes of 16 characters of Crockford's base32 (80 bits),
shown as `xxxx-xxxx-xxxx-xxxx` and read back forgivingly. Pure."""
from __future__ import annotations

import secrets

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32, lowercase: no i l o u
LENGTH = 16
COUNT = 10
LOW = 3
_READS_AS = {"o": "0", "i": "1", "l": "1"}


def generate() -> list[str]:
    codes: set[str] = set()
    while len(codes) < COUNT:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        codes.add("-".join(raw[i:i + 4] for i in range(0, LENGTH, 4)))
    return sorted(codes, key=lambda _: secrets.randbits(32))


def normalise(value: str) -> str | None:
    """Any case, with or without dashes and spaces; o reads as 0, i and l as 1."""
    raw = "".join(_READS_AS.get(c, c) for c in value.lower() if c not in "- \t")
    if len(raw) != LENGTH or any(c not in ALPHABET for c in raw):
        return None
    return raw
