"""Hypothesis: the parsers and normalisers of client input never fail unexpectedly."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.auth import emails, passwords, tokens
from chalicelib.errors import InvalidRequest, WeakPassword
from chalicelib.factors import recovery, sms, totp

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
anything = st.text(max_size=300)


@pytest.fixture(autouse=True)
def local_env(monkeypatch):
    monkeypatch.setenv("TWOSTEP_STAGE", "local")
    monkeypatch.setenv("TWOSTEP_AWS_ENDPOINT", "http://127.0.0.1:9")


@SETTINGS
@given(anything)
def test_email_normalisation_returns_a_key_or_refuses(raw):
    try:
        email = emails.normalise(raw)
    except InvalidRequest:
        return
    assert email == email.strip().lower() and "@" in email and len(email) <= 254
    assert emails.normalise(email) == email  # idempotent


@SETTINGS
@given(anything)
def test_recovery_code_normalisation(raw):
    code = recovery.normalise(raw)
    assert code is None or (len(code) == 16 and set(code) <= set(recovery.ALPHABET))


@SETTINGS
@given(st.lists(st.sampled_from(recovery.ALPHABET + "OILoil- "), max_size=30).map("".join))
def test_recovery_code_normalisation_near_the_alphabet(raw):
    code = recovery.normalise(raw)
    assert code is None or recovery.normalise(code) == code


@SETTINGS
@given(anything, st.floats(min_value=0, max_value=2 ** 40, allow_nan=False))
def test_totp_matching_never_raises(code, now):
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    step = totp.match(secret, code, now)
    assert step is None or abs(step - totp.current_step(now)) <= 1


@SETTINGS
@given(anything, st.one_of(st.none(), st.text(max_size=5)))
def test_phone_parsing_accepts_mobiles_or_names_the_reason(raw, country):
    try:
        e164 = sms.parse(raw, country)
    except sms.PhoneNotAllowed as refused:
        assert refused.message
        return
    assert e164.startswith("+") and e164[1:].isdigit()


@SETTINGS
@given(st.text(max_size=300), st.emails())
def test_password_policy_accepts_or_names_the_rule(password, email):
    try:
        passwords.check_policy(password, email.lower())
    except WeakPassword as refused:
        assert refused.message


@SETTINGS
@given(st.one_of(st.none(), anything))
def test_token_parsing(raw):
    parsed = tokens.parse(raw)
    assert parsed is None or f"{parsed[0]}.{parsed[1]}" == raw
