"""Hypothesis: the parsers and normalisers of client input never fail unexpectedly."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.auth import emails, passwords, tokens
from chalicelib.errors import InvalidRequest, WeakPassword
from chalicelib import errors
from chalicelib.factors.recovery import codes as recovery
from chalicelib.factors.sms import numbers as sms
from chalicelib.factors.totp import codes as totp

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
        e164, _region = sms.parse(raw, country)
    except errors.PhoneNotAllowed as refused:
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


# --- request bodies (chalicelib/api/http.py), with the hostile bodies of tests/hostile.py ------

from types import SimpleNamespace  # noqa: E402

from hypothesis import example, note  # noqa: E402

from chalicelib.api import http  # noqa: E402
from chalicelib.errors import PayloadTooLarge  # noqa: E402
from tests import hostile  # noqa: E402

BODIES = settings(SETTINGS, derandomize=True, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
_UTF16_DECOY = next(b for b in hostile.KNOWN_NASTY if b.kind == "utf-16-plausible-deep")


@BODIES
@given(hostile.hostile_bodies())
@example(_UTF16_DECOY)
def test_parse_json_refuses_exactly_what_the_contract_refuses(body):
    """Refused (InvalidRequest, nothing else) when the body is not UTF-8 JSON text, nests
    deeper than 32 levels (as any reader could see it: UTF-16 and UTF-32 included), or holds
    a lone surrogate; read otherwise. Whatever is read nests at most 32 levels and holds no
    lone surrogate."""
    note(repr(body))
    reading = hostile.read(body.raw)
    try:
        value = http.parse_json(body.raw)
    except InvalidRequest as refusal:
        assert refusal.status == 400 and refusal.code == "invalid_request"
        assert reading.too_deep or reading.lone_surrogate or not reading.is_json, (reading, refusal.message)
        return
    assert not reading.too_deep, f"read a body {reading.depth} levels deep"
    assert not hostile.holds_lone_surrogate(value)
    assert reading.is_json, "read a body that is not UTF-8 JSON text"
    assert json.dumps(value, allow_nan=True) == json.dumps(reading.value, allow_nan=True)


@BODIES
@given(hostile.hostile_bodies())
@example(_UTF16_DECOY)
def test_body_is_an_object_or_a_refusal(body):
    note(repr(body))
    reading = hostile.read(body.raw)
    try:
        data = http.body(SimpleNamespace(raw_body=body.raw, headers={"content-type": "application/json"}))
    except PayloadTooLarge:
        assert reading.too_large
        return
    except InvalidRequest:
        assert not reading.too_large and reading.refused_when_read
        return
    assert isinstance(data, dict)
    assert not reading.too_large and not reading.refused_when_read, reading


@BODIES
@given(hostile.hostile_values())
def test_python_values_the_clients_send_are_read_back_or_refused(value):
    """What json.dumps makes of a value (ASCII escapes, and UTF-8 with lone surrogates spelled
    as their CESU-8 bytes) is read back as the same value, unless too deep or not Unicode."""
    note(repr(value)[:300])
    deep = hostile.nesting_depth(json.dumps(value, allow_nan=True)) > hostile.DEPTH_LIMIT
    lone = hostile.holds_lone_surrogate(value)
    for raw in (json.dumps(value, allow_nan=True).encode(),
                json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")):
        try:
            read_back = http.parse_json(raw)
        except InvalidRequest:
            assert deep or lone
            continue
        assert not deep and not lone
        assert json.dumps(read_back, allow_nan=True) == json.dumps(value, allow_nan=True)
