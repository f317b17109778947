"""Recovery code format and the input normalisations (API.md "Values")."""
from __future__ import annotations

import math
import re

import pytest

from chalicelib.factors.recovery import codes as recovery

FORMAT = re.compile(r"^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$")


def test_a_set_is_ten_unique_codes_of_crockford_base32():
    codes = recovery.generate()
    assert len(codes) == 10 == len(set(codes))
    for code in codes:
        assert FORMAT.match(code), code
        assert not set(code) & set("ilou")
    assert recovery.ALPHABET == "0123456789abcdefghjkmnpqrstvwxyz"
    assert len(recovery.ALPHABET) == 32
    assert math.log2(32) * recovery.LENGTH == 80


def test_sets_differ_and_use_the_whole_alphabet():
    seen = "".join("".join(recovery.generate()) for _ in range(50)).replace("-", "")
    assert set(seen) == set(recovery.ALPHABET)


@pytest.mark.parametrize("typed", [
    "abcd-efgh-jkmn-pq01",
    "ABCD-EFGH-JKMN-PQ01",
    "abcdefghjkmnpq01",
    "abcd efgh jkmn pq01",
    " abcd-efgh-jkmn-pqoi ",
    "abcd-efgh-jkmn-pqOl",
])
def test_input_is_normalised(typed):
    assert recovery.normalise(typed) == "abcdefghjkmnpq01"


@pytest.mark.parametrize("junk", ["", "abcd", "abcd-efgh-jkmn-pq0", "abcd-efgh-jkmn-pq012", "abcd-efgh-jkmn-pqu1",
                                  "ábcd-efgh-jkmn-pq01", "abcd_efgh_jkmn_pq01"])
def test_what_is_not_a_code_is_refused(junk):
    assert recovery.normalise(junk) is None
