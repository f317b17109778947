"""Tokens, emails and the backoff curve."""
from __future__ import annotations

import base64

import pytest

from chalicelib.auth import emails, tokens
from chalicelib.errors import InvalidRequest
from chalicelib.throttle import PASSWORD, Backoff


def test_tokens_carry_at_least_128_bits_and_are_stored_as_sha256():
    token_id, token = tokens.new_token()
    ident, secret = tokens.parse(token)
    assert ident == token_id
    assert len(base64.urlsafe_b64decode(ident + "==")) == 16
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert len(tokens.digest(token)) == 64
    assert tokens.matches(token, tokens.digest(token))
    assert not tokens.matches(token + "x", tokens.digest(token))
    assert len({tokens.new_token()[1] for _ in range(1000)}) == 1000


@pytest.mark.parametrize("junk", [None, "", "abc", "a.b", "x" * 300, "ééééééééééééééééééééééé.ééééééééééééééééééééééééé",
                                  "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA.", "AAAAAAAAAAAAAAAAAAAAAA.B B"])
def test_parse_rejects_what_is_not_a_token(junk):
    assert tokens.parse(junk) is None


def test_emails_are_normalised_case_insensitively():
    assert emails.normalise("  Ada@Example.COM ") == "ada@example.com"
    assert emails.normalise("ａｄａ@example.com") == "ada@example.com"  # full-width (NFKC)


@pytest.mark.parametrize("bad", ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com",
                                 "ada@@example.com", "a@b.c\x00", "a" * 65 + "@example.com",
                                 "a@" + "b" * 250 + ".com"])
def test_bad_emails_are_refused(bad):
    with pytest.raises(InvalidRequest):
        emails.normalise(bad)


def test_password_backoff_curve():
    assert [PASSWORD.delay(n) for n in range(0, 5)] == [0, 0, 0, 0, 0]
    assert [PASSWORD.delay(n) for n in range(5, 11)] == [1, 2, 4, 8, 16, 32]
    assert PASSWORD.delay(14) == 512
    assert PASSWORD.delay(15) == 900
    assert PASSWORD.delay(1000) == 900


def test_second_factor_style_backoff():
    policy = Backoff(free=3)
    assert [policy.delay(n) for n in (2, 3, 4, 5)] == [0, 1, 2, 4]


@pytest.mark.parametrize("ip, network", [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),   # an IPv4 client seen through a dual stack
    (None, "unknown"),
    ("not an address", "not an address"),
])
def test_per_address_caps_count_ipv6_by_its_64(ip, network):
    from chalicelib.context import Requester

    assert Requester(ip=ip).network == network
