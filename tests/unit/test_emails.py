"""Email keys: the domain through UTS #46 (non-transitional), the local part NFKC and lower
case, control, format and `:` characters refused, and the key accounts had before."""
from __future__ import annotations

import pytest

from chalicelib.auth import emails
from chalicelib.errors import InvalidRequest


@pytest.mark.parametrize("typed, key", [
    # UTS #46 test vectors: the same domain in Unicode, mixed case, and its A-label
    ("ada@bücher.de", "ada@xn--bcher-kva.de"),
    ("Ada@BÜCHER.DE", "ada@xn--bcher-kva.de"),
    ("ada@xn--bcher-kva.de", "ada@xn--bcher-kva.de"),
    ("ada@XN--BCHER-KVA.de", "ada@xn--bcher-kva.de"),
    # non-transitional: ß is a letter of its own, not "ss"; ς stays ς
    ("ada@straße.de", "ada@xn--strae-oqa.de"),
    ("ada@faß.de", "ada@xn--fa-hia.de"),
    ("ada@ελλάς.gr", "ada@xn--hxarsa0b.gr"),  # final sigma kept (σ would be hxarsa5b)
    # NFKC before everything: full-width letters and the ideographic full stop
    ("ａｄａ@ｂüｃｈｅｒ。de", "ada@xn--bcher-kva.de"),
    # the local part is lower-cased, never case-folded
    ("Straße@example.com", "straße@example.com"),
    ("  Ada@Example.COM ", "ada@example.com"),
])
def test_domains_go_through_uts46_to_their_ascii_form(typed, key):
    assert emails.normalise(typed) == key
    assert emails.normalise(key) == key


def test_strasse_and_strasse_with_eszett_are_two_addresses():
    assert emails.normalise("a@straße.de") != emails.normalise("a@strasse.de")


@pytest.mark.parametrize("bad", [
    "ada:x@example.com",          # Heroku's Basic auth splits at the first colon
    "ada@exa:mple.com",
    "ada\u200b@example.com",      # zero-width space (format)
    "ada\u202e@example.com",      # right-to-left override (format)
    "ada\x00@example.com",        # control
    "ada@exa\u00admple.com",      # soft hyphen (format)
    "ada@-bad-.xn--zz",           # not an A-label
    "ada@xn--zz.com",
    "ada@bücher..de",
    "ada@.de", "@example.com", "ada@", "ada", "a@b@example.com",
])
def test_control_format_colon_and_broken_domains_are_refused(bad):
    with pytest.raises(InvalidRequest):
        emails.normalise(bad)


def test_the_keys_an_account_had_before_are_named_only_where_they_differ():
    assert emails.legacy_keys("Ada@Bücher.de") == ["ada@bücher.de"]
    assert emails.legacy_keys("ada@XN--BCHER-KVA.de") == ["ada@bücher.de"]  # typed as its A-label
    assert emails.legacy_keys("ada@example.com") == []
    assert emails.legacy_keys("not an address") == []
