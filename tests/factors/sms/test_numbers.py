"""Which numbers may receive codes (SECURITY.md, "SMS codes")."""
from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.factors import sms
from chalicelib.factors.sms import numbers


@pytest.mark.parametrize("raw,country,e164", [
    ("+1 415 555 0100", None, "+14155550100"),
    ("+44 7400 123456", None, "+447400123456"),
    ("07400 123456", "GB", "+447400123456"),
    ("(415) 555-0100", "us", "+14155550100"),
])
def test_mobile_numbers_are_accepted(raw, country, e164):
    assert numbers.parse(raw, country) == (e164, "US" if e164.startswith("+1") else "GB")


def test_an_allow_list_of_countries_refuses_the_others():
    numbers.check_country("GB", frozenset({"GB", "DE"}))
    numbers.check_country("US", frozenset())  # empty: every country
    with pytest.raises(errors.PhoneNotAllowed) as caught:
        numbers.check_country("US", frozenset({"GB", "DE"}))
    assert caught.value.code == "phone_not_allowed" and "country" in caught.value.message


def test_the_allow_list_setting_is_iso_codes_or_a_configuration_error(monkeypatch):
    from chalicelib.config import ConfigError, settings

    monkeypatch.setenv("TWOSTEP_AWS_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("TWOSTEP_SMS_COUNTRIES", " gb, De ")
    assert settings().sms_countries == frozenset({"GB", "DE"})
    monkeypatch.setenv("TWOSTEP_SMS_COUNTRIES", "GB,Britain")
    with pytest.raises(ConfigError):
        settings()


@pytest.mark.parametrize("raw,reason", [
    ("+44 56 1234 5678", "VoIP"),
    ("+1 900 555 0100", "Premium-rate"),
    ("+44 20 7946 0958", "landline"),
    ("+1 800 555 0100", "Toll-free"),
    ("+44 12", "not a valid"),
    ("hello", "not a valid"),
    ("+999 1234 5678", "not a valid"),
])
def test_other_numbers_are_refused_naming_the_reason(raw, reason):
    with pytest.raises(errors.PhoneNotAllowed) as caught:
        numbers.parse(raw, None)
    assert caught.value.code == "phone_not_allowed"
    assert reason.lower() in caught.value.message.lower()


def test_a_bad_country_is_an_invalid_request():
    with pytest.raises(errors.PhoneNotAllowed) as caught:
        numbers.parse("07400 123456", "Britain")
    assert caught.value.code == "invalid_request"


def test_the_hint_shows_the_last_two_digits_only():
    assert numbers.hint("+447400123456") == "+•• ••• ••• ••56"


def test_codes_are_six_digits_from_secrets():
    codes = {sms.new_code() for _ in range(2000)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 1900
