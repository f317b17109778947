"""The TOTP verifier against RFC 6238's Appendix B and the drift window."""
from __future__ import annotations

import base64

import pytest

from chalicelib.factors.totp import codes as totp
from tests import rfc6238

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
# RFC 6238 Appendix B, SHA1 column.
VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize("at,code", VECTORS)
def test_rfc6238_appendix_b_sha1(at, code):
    assert totp.code_at(RFC_SECRET, totp.current_step(at), digits=8) == code
    assert totp.match(RFC_SECRET, code, at, digits=8) == totp.current_step(at)
    assert rfc6238.totp(RFC_SECRET, at, digits=8) == code  # the tests' own phone agrees


@pytest.mark.parametrize("at,code", VECTORS)
def test_six_digit_codes_are_the_last_six(at, code):
    assert totp.code_at(RFC_SECRET, totp.current_step(at)) == code[-6:]
    assert totp.match(RFC_SECRET, code[-6:], at) == totp.current_step(at)


def test_one_step_of_drift_either_way_and_no_more():
    secret = totp.new_secret()
    now = 1_800_000_015.0
    step = totp.current_step(now)
    for offset, accepted in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        code = rfc6238.totp(secret, now + offset * 30)
        found = totp.match(secret, code, now)
        assert (found == step + offset) if accepted else (found is None), offset


def test_a_step_at_or_before_the_last_accepted_is_refused():
    secret = totp.new_secret()
    now = 1_800_000_015.0
    step = totp.current_step(now)
    code = rfc6238.totp(secret, now)
    assert totp.match(secret, code, now, after_step=step - 1) == step
    assert totp.match(secret, code, now, after_step=step) is None  # replay
    older = rfc6238.totp(secret, now - 30)
    assert totp.match(secret, older, now, after_step=step) is None  # older than the last used


@pytest.mark.parametrize("junk", ["", "12345", "1234567", "abcdef", "12 456", "١٢٣٤٥٦"])
def test_malformed_codes_never_match(junk):
    assert totp.match(totp.new_secret(), junk, 1_800_000_015.0) is None


def test_secrets_are_160_bits_and_unique():
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20
    assert len({totp.new_secret() for _ in range(200)}) == 200


def test_otpauth_uri_has_the_parameters_every_app_honours():
    uri = totp.otpauth_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ada@example.com", "twostep")
    assert uri.startswith("otpauth://totp/twostep:ada%40example.com?")
    assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri and "issuer=twostep" in uri
    # pyotp leaves out SHA1/6/30 because they are the defaults every app assumes
    assert "algorithm" not in uri or "algorithm=SHA1" in uri
    assert "digits" not in uri or "digits=6" in uri
    assert "period" not in uri or "period=30" in uri
