"""Password policy and hashing (SECURITY.md, "Passwords").

Argon2id through argon2-cffi at no less than m=19456 KiB, t=2, p=1 with a 16-byte salt.
Passwords are NFKC-normalised before hashing and length is counted in code points; nothing
is ever truncated. The common-password list is zxcvbn's (see scripts/build_common_passwords.py).
"""
from __future__ import annotations

import gzip
import secrets
import unicodedata
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chalicelib.config import Settings, settings
from chalicelib.errors import WeakPassword

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Loaded on first use (signup, password change), not on the login path."""
    text = gzip.decompress(COMMON_PASSWORDS_FILE.read_bytes()).decode("utf-8")
    return frozenset(line for line in text.splitlines() if line)


def check_policy(password: str, email: str, cfg: Settings | None = None) -> None:
    """Raise WeakPassword naming the rule broken; no composition rules (NIST 800-63B)."""
    cfg = cfg or settings()
    pw = normalise(password)
    length = len(pw)  # code points, after NFKC
    if length < cfg.min_password_length:
        raise WeakPassword(f"Use at least {cfg.min_password_length} characters.")
    if length > cfg.max_password_length:
        raise WeakPassword(f"Use at most {cfg.max_password_length} characters.")
    folded = pw.casefold()
    if folded in common_passwords():
        raise WeakPassword("This password is on a list of commonly used passwords. Choose another.")
    local_part = email.split("@", 1)[0]
    if email in folded or (len(local_part) >= 4 and local_part in folded):
        raise WeakPassword("The password must not contain your email address.")


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hasher(cfg: Settings | None = None) -> PasswordHasher:
    cfg = cfg or settings()
    return _hasher(cfg.argon2_memory_kib, cfg.argon2_time_cost, cfg.argon2_parallelism)


def hash_password(password: str) -> str:
    return hasher().hash(normalise(password))


def verify(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=4)
def _dummy_hash(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return _hasher(memory_kib, time_cost, parallelism).hash(secrets.token_urlsafe(16))


def verify_dummy(password: str) -> None:
    """Spend the same work as a real verification, for an email with no account."""
    cfg = settings()
    verify(_dummy_hash(cfg.argon2_memory_kib, cfg.argon2_time_cost, cfg.argon2_parallelism), password)
