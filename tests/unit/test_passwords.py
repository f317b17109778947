"""Password policy and Argon2id parameters (SECURITY.md, "Passwords")."""
from __future__ import annotations

import base64
import gzip

import pytest

from chalicelib.auth import passwords
from chalicelib.config import settings
from chalicelib.errors import WeakPassword


@pytest.fixture(autouse=True)
def local_env(monkeypatch):
    monkeypatch.setenv("TWOSTEP_STAGE", "local")
    monkeypatch.setenv("TWOSTEP_AWS_ENDPOINT", "http://127.0.0.1:9")
    for name in ("TWOSTEP_ARGON2_MEMORY_KIB", "TWOSTEP_ARGON2_TIME_COST", "TWOSTEP_ARGON2_PARALLELISM",
                 "TWOSTEP_MIN_PASSWORD_LENGTH", "TWOSTEP_MAX_PASSWORD_LENGTH"):
        monkeypatch.delenv(name, raising=False)


def test_argon2id_at_least_the_stated_parameters_with_a_16_byte_salt():
    encoded = passwords.hash_password("a perfectly fine passphrase")
    prefix, variant, version, params, salt, digest = encoded.split("$")
    assert variant == "argon2id" and version == "v=19"
    assert params == "m=19456,t=2,p=1"
    assert len(base64.b64decode(salt + "==")) == 16


def test_configuration_cannot_lower_the_parameters(monkeypatch):
    monkeypatch.setenv("TWOSTEP_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("TWOSTEP_ARGON2_TIME_COST", "1")
    cfg = settings()
    assert (cfg.argon2_memory_kib, cfg.argon2_time_cost, cfg.argon2_parallelism) == (19456, 2, 1)


def test_raised_parameters_ask_for_a_rehash(monkeypatch):
    encoded = passwords.hash_password("a perfectly fine passphrase")
    assert not passwords.needs_rehash(encoded)
    monkeypatch.setenv("TWOSTEP_ARGON2_MEMORY_KIB", "32768")
    assert passwords.needs_rehash(encoded)


def test_minimum_length_counts_code_points():
    with pytest.raises(WeakPassword, match="at least 8"):
        passwords.check_policy("seven77", "a@example.com")
    passwords.check_policy("wq8#kz!p", "a@example.com")  # 8 ASCII characters
    passwords.check_policy("жёлтыйёж", "a@example.com")  # 8 code points, 16 bytes
    passwords.check_policy("🔑🔒🚪🧱🌵🐙🦑🐢", "a@example.com")  # 8 emoji, 32 bytes
    with pytest.raises(WeakPassword):
        passwords.check_policy("🔑🔒🚪🧱🌵🐙🦑", "a@example.com")  # 7 emoji, 28 bytes


def test_minimum_length_is_configurable_upward_only(monkeypatch):
    monkeypatch.setenv("TWOSTEP_MIN_PASSWORD_LENGTH", "12")
    with pytest.raises(WeakPassword, match="at least 12"):
        passwords.check_policy("elevenchars", "a@example.com")
    monkeypatch.setenv("TWOSTEP_MIN_PASSWORD_LENGTH", "4")
    with pytest.raises(WeakPassword, match="at least 8"):
        passwords.check_policy("fivech", "a@example.com")


def test_long_passwords_are_allowed_and_never_truncated():
    long = "x7Q!" * 32  # 128 characters
    passwords.check_policy(long, "a@example.com")
    passwords.check_policy("y" * 200 + "Z9!", "a@example.com")
    encoded = passwords.hash_password(long + "tail")
    assert passwords.verify(encoded, long + "tail")
    assert not passwords.verify(encoded, long)
    assert not passwords.verify(encoded, long + "tai")


def test_nfkc_normalisation_before_hashing():
    encoded = passwords.hash_password("ﬁne ｐａｓｓｗｏｒｄ ①")  # ligature, full-width, circled digit
    assert passwords.verify(encoded, "fine password 1")


def test_the_common_list_is_zxcvbns_and_has_at_least_ten_thousand_entries():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    shipped = gzip.decompress(passwords.COMMON_PASSWORDS_FILE.read_bytes()).decode().splitlines()
    assert len(shipped) >= 10_000
    assert shipped == FREQUENCY_LISTS["passwords"]


@pytest.mark.parametrize("common", ["password", "iloveyou", "baseball1", "PASSWORD", "Sunshine"])
def test_common_passwords_are_refused_in_any_case(common):
    padded = common if len(common) >= 8 else common + "1"
    with pytest.raises(WeakPassword, match="commonly used"):
        passwords.check_policy(padded, "someone@example.com")


def test_a_password_containing_the_email_is_refused():
    with pytest.raises(WeakPassword, match="email"):
        passwords.check_policy("XX ada.lovelace@example.com XX", "ada.lovelace@example.com")
    with pytest.raises(WeakPassword, match="email"):
        passwords.check_policy("Ada.Lovelace-rocks", "ada.lovelace@example.com")


def test_no_composition_rules():
    passwords.check_policy("all lowercase words here", "a@example.com")
    passwords.check_policy("2839471029384756", "a@example.com")


def test_wrong_and_garbage_hashes_do_not_verify():
    encoded = passwords.hash_password("a perfectly fine passphrase")
    assert not passwords.verify(encoded, "a perfectly fine passphrasE")
    assert not passwords.verify("not-a-hash", "anything")
