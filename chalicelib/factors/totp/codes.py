"""TOTP codes (RFC 6238): SHA1, 6 digits, 30 s, one step of drift either way. Pure maths.

Codes are made by pyotp and compared with `hmac.compare_digest`, every candidate step
compared so that timing does not tell which matched.
"""
from __future__ import annotations

import hmac

import pyotp

from chalicelib.factors.contract import digits as typed_digits

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1


def new_secret() -> str:
    """160 bits from `secrets`, base32 (pyotp.random_base32 uses SystemRandom)."""
    return pyotp.random_base32(length=32)


def current_step(now: float) -> int:
    return int(now // STEP_SECONDS)


def code_at(secret: str, step: int, digits: int = DIGITS) -> str:
    return pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS).generate_otp(step)


def match(secret: str, code: str, now: float, after_step: int = -1, digits: int = DIGITS) -> int | None:
    """The step (now, one before or one after) whose code this is, if later than `after_step`."""
    if typed_digits(code, digits) != code:
        return None
    now_step = current_step(now)
    found = None
    for step in (now_step, now_step - DRIFT_STEPS, now_step + DRIFT_STEPS):
        if hmac.compare_digest(code_at(secret, step, digits), code) and step > after_step and found is None:
            found = step
    return found


def otpauth_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)
