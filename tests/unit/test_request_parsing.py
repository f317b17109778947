"""The request layer's readers (chalicelib/api/http.py): `parse_json` and its depth and
surrogate checks, and `media_type_error`, on examples and on generated bodies.

The contract: a body is read only when sent as application/json (a utf-8 charset allowed;
Heroku's own type, optionally `version=3`, only where the caller allows it); a request with
a body of any other type, or none, is 415; a request without a body is never refused for
its type. JSON text is UTF-8 (RFC 8259, section 8.1). Nesting deeper than 32 levels, a lone
surrogate in any string, and text that is not JSON are 400 invalid_request, which here is
`InvalidRequest` and never any other exception.
"""
from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from chalice.app import CaseInsensitiveMapping
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.api import http
from chalicelib.errors import InvalidRequest, PayloadTooLarge
from tests import hostile

JSON = "application/json"
HEROKU = "application/vnd.heroku+json"
PROPERTY = settings(max_examples=400, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def request(raw: bytes | None, content_type: str | None = None, **headers: str) -> SimpleNamespace:
    """The two attributes the request layer reads, as Chalice's Request offers them."""
    if content_type is not None:
        headers["content-type"] = content_type
    return SimpleNamespace(raw_body=raw, headers=CaseInsensitiveMapping(headers))


def refused(raw: bytes) -> bool:
    try:
        http.parse_json(raw)
    except InvalidRequest:
        return True
    return False


def nested(depth: int, kinds: str = "[") -> bytes:
    return json.dumps(hostile.deep_value(depth, kinds)).encode()


# --- depth ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kinds", ["[", "{", "[{", "{[["])
def test_depth_32_is_read_and_33_refused(kinds):
    assert http.parse_json(nested(32, kinds)) == hostile.deep_value(32, kinds)
    assert not http._too_deep(nested(32, kinds))
    assert http._too_deep(nested(33, kinds))
    with pytest.raises(InvalidRequest, match="deeper than 32"):
        http.parse_json(nested(33, kinds))


def test_depth_counts_the_deepest_branch_not_the_total():
    wide = json.dumps([hostile.deep_value(31) for _ in range(200)]).encode()  # 32 deep, many times over
    assert http.parse_json(wide)
    assert refused(json.dumps([0] * 50 + [hostile.deep_value(32)]).encode())


@pytest.mark.parametrize("depth", [64, 1000, 5000, 30000])
def test_thousands_of_levels_are_refused_without_recursing(depth):
    for raw in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"0" + b"}" * depth, b"[" * depth):
        assert http._too_deep(raw)
        assert refused(raw)


@pytest.mark.parametrize("raw", [
    json.dumps({"a": "[" * 40 + "]" * 40}).encode(),
    json.dumps({"a": "{" * 100}).encode(),
    b'{"a": "\\"' + b"[" * 40 + b'"}',                      # an escaped quote, then brackets: still a string
    b'{"a": "\\\\\\"' + b"{" * 40 + b'", "b": 1}',          # \\ then \" then braces
    b'{"a": "\\\\", "b": "' + b"[" * 40 + b'"}',            # a string ending in an escaped backslash
    json.dumps({"[" * 40: "]" * 40}).encode(),              # brackets in a key
    json.dumps(["\\" * 9 + "[" * 50]).encode(),
])
def test_brackets_inside_strings_are_not_nesting(raw):
    assert not http._too_deep(raw)
    assert http.parse_json(raw) == json.loads(raw)


@pytest.mark.parametrize("raw", [
    b'{"a": "\\\\", "b": ' + b"[" * 33 + b"]" * 33 + b"}",  # `\\"` ends the string: the brackets count
    b'["\\"", ' + b"[" * 33 + b"]" * 33 + b"]",
    b'["' + b"\\\\" * 20 + b'", ' + b"{" * 20 + b"[" * 13 + b"]" * 13 + b"}" * 20 + b"]",
])
def test_brackets_after_a_string_with_escapes_still_count(raw):
    assert http._too_deep(raw)
    assert refused(raw)


@pytest.mark.parametrize("raw", [b"]" * 40 + b"[" * 40, b"}" * 100, b"}{" * 40, b"[]" * 2000 + b"]"])
def test_unbalanced_brackets_are_invalid(raw):
    assert refused(raw)


# --- lone surrogates -------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b'{"\\udfff": 1}',                               # a key
    b'{"password": "\\ud800"}',                      # a value
    b'{"a": [[["x", "\\udc00"]]]}',                  # nested lists
    b'{"a": {"b": {"\\uDBFF": [1]}}}',               # a key deep in objects, upper-case hex
    b'["\\ud83d"]',                                  # a high surrogate at the end of a string
    b'["\\ud83dA"]',                                 # a high surrogate before a plain letter
    b'["\\ude00\\ud83d"]',                           # a pair in the wrong order
    b'["\\ud800\\ud800"]',                           # two highs
    b'"\\udfff"',                                    # the whole body
    '{"a": "\ud800"}'.encode("utf-8", "surrogatepass"),  # encoded in the bytes (CESU-8), not escaped
])
def test_lone_surrogates_are_refused_wherever_they_are(raw):
    with pytest.raises(InvalidRequest):
        http.parse_json(raw)


@pytest.mark.parametrize("raw, value", [
    (b'{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}),
    (b'{"\\uD83D\\uDE00": "\\udbff\\udfff"}', {"\U0001f600": "\U0010ffff"}),
    ('{"a": "\U0001f600"}'.encode(), {"a": "\U0001f600"}),
    (b'{"a": "\\\\ud800"}', {"a": "\\ud800"}),        # an escaped backslash: six plain characters
    (b'{"a": "\\ufffe\\uffff\\u0000"}', {"a": "\ufffe\uffff\x00"}),
])
def test_valid_pairs_and_other_odd_text_are_read(raw, value):
    assert http.parse_json(raw) == value


# --- encodings and malformed text ------------------------------------------------------------

@pytest.mark.parametrize("raw", hostile.INVALID_UTF8, ids=lambda b: b.hex())
@pytest.mark.parametrize("template", [b'{"a": "x%sy"}', b'{"%s": 1}', b'{"a": 1}%s', b'["%s"]'])
def test_invalid_utf8_is_an_invalid_request(raw, template):
    with pytest.raises(InvalidRequest):
        http.parse_json(template % raw)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16", "utf-32-le", "utf-32-be", "utf-32"])
def test_text_that_is_not_utf8_is_an_invalid_request(encoding):
    """JSON between systems is UTF-8 (RFC 8259 8.1); the contract allows charset=utf-8 only.
    These bytes are not UTF-8 (`é` is not, in any of these), so they are not JSON text."""
    raw = '{"email": "\u00e9@example.com", "password": "correct horse battery staple"}'.encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    with pytest.raises(InvalidRequest):
        http.parse_json(raw)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("decoy", ['"\u2200"', '"\\""'], ids=["for-all-sign", "escaped-quote"])
def test_depth_is_refused_in_every_encoding_the_reader_accepts(encoding, decoy):
    """Whatever encodings `parse_json` reads, a body nested deeper than 32 is never parsed.
    (In UTF-16 and UTF-32 one byte of `\u2200` is 0x22, a `"`; an escaped quote `\\"` is
    `\\`, 0x00, `"`, where a byte-level scanner pairs the backslash with the 0x00.)"""
    raw = ('{"a": %s, "b": %s, "c": "d"}' % (decoy, "[" * 40 + "]" * 40)).encode(encoding)
    with pytest.raises(InvalidRequest):
        http.parse_json(raw)


@pytest.mark.parametrize("text", hostile.MALFORMED)
def test_malformed_text_is_an_invalid_request_or_json(text):
    raw = text.encode()
    try:
        value = http.parse_json(raw)
    except InvalidRequest:
        return
    assert value == json.loads(raw)


@pytest.mark.parametrize("literal", hostile.NUMBER_LITERALS)
def test_odd_numbers_are_read_or_refused_never_crash(literal):
    raw = b'{"expires_in": ' + literal.encode() + b"}"
    try:
        value = http.parse_json(raw)
    except InvalidRequest:
        return
    assert set(value) == {"expires_in"}


def test_integers_past_pythons_digit_limit_are_invalid_requests():
    with pytest.raises(InvalidRequest):
        http.parse_json(b'{"expires_in": ' + b"1" * 4301 + b"}")


# --- time ------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    hostile.SLOW_SCAN_BODY.raw,                                 # an endless string of escaped quotes
    b'"' + b"\\\\" * 32767,                                     # an endless string of escaped backslashes
    b'"' * 65536,
    b'["' + b"a" * 65530 + b'"]',
    b"[" * 65536,
    b'{"a":' * 13107,
], ids=["escaped-quotes", "escaped-backslashes", "quotes", "long-string", "openers", "keys"])
def test_a_64_kib_body_is_read_or_refused_in_well_under_a_second(raw):
    """A body at the size limit costs a request no more than a moment, whatever it holds (one
    Lambda runs 20 s at most; a scan that backtracks is quadratic in the body's length)."""
    assert len(raw) <= hostile.BODY_LIMIT
    started = time.perf_counter()
    try:
        http.parse_json(raw)
    except InvalidRequest:
        pass
    assert time.perf_counter() - started < 1.0


# --- body() ----------------------------------------------------------------------------------

def test_body_sizes():
    assert http.body(request(b"")) == {}
    assert http.body(request(b" \r\n\t")) == {}
    at_limit = hostile.KNOWN_NASTY[[b.kind for b in hostile.KNOWN_NASTY].index("exactly-64KiB")]
    assert http.body(request(at_limit.raw)) == at_limit.value
    with pytest.raises(PayloadTooLarge):
        http.body(request(at_limit.raw + b" "))
    for top in (b"[]", b"null", b'"x"', b"0", b"true"):
        with pytest.raises(InvalidRequest, match="object"):
            http.body(request(top))


# --- media types -----------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", 'Application/JSON;charset="UTF-8"',
    "application/json;charset=utf8", "APPLICATION/JSON ; CHARSET=UTF-8",
])
def test_json_is_accepted(content_type):
    assert http.media_type_error(request(b"{}", content_type), (JSON,)) is None
    assert http.media_type_error(request(b"{}", content_type), (JSON, HEROKU)) is None


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain; charset=utf-8", "text/plain; x=*/*", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/json; x=*/*", "application/json, text/plain", "*/*",
    "application/*", "application/json; charset=utf-16", "application/json; charset=latin-1",
    "application/json;", "application/json; charset", "application/jsonp", "application/json+x", "text/json",
    "application/octet-stream", "", " ", "application/json\x00", "application/vnd.api+json",
    "application/json; version=3",
])
def test_other_types_are_refused(content_type):
    error = http.media_type_error(request(b"{}", content_type), (JSON, HEROKU))
    assert error is not None and (error.status, error.code) == (415, "unsupported_media_type")


def test_a_body_without_a_type_is_refused():
    error = http.media_type_error(request(b"{}"), (JSON,))
    assert error is not None and error.status == 415
    assert http.media_type_error(request(b" "), (JSON,)) is not None  # whitespace is a body too


@pytest.mark.parametrize("content_type", ["application/vnd.heroku+json", "application/vnd.heroku+json; version=3",
                                          "Application/Vnd.Heroku+JSON;version=3; charset=utf-8"])
def test_herokus_type_only_where_it_is_allowed(content_type):
    assert http.media_type_error(request(b"{}", content_type), (JSON, HEROKU)) is None
    error = http.media_type_error(request(b"{}", content_type), (JSON,))
    assert error is not None and error.status == 415


@pytest.mark.parametrize("content_type", ["application/vnd.heroku+json; version=2",
                                          "application/vnd.heroku+json; version=3; x=*/*"])
def test_herokus_type_with_other_parameters_is_refused(content_type):
    assert http.media_type_error(request(b"{}", content_type), (JSON, HEROKU)) is not None


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=x", "*/*", "",
                                          "application/x-www-form-urlencoded", "application/vnd.heroku+json"])
@pytest.mark.parametrize("raw", [None, b""])
def test_a_request_without_a_body_is_never_refused_for_its_type(content_type, raw):
    assert http.media_type_error(request(raw, content_type), (JSON,)) is None


@PROPERTY
@given(raw=st.binary(max_size=64), content_type=st.one_of(st.none(), st.text(max_size=60)))
def test_media_type_error_never_raises(raw, content_type):
    error = http.media_type_error(request(raw, content_type), (JSON, HEROKU))
    assert error is None or error.status == 415
    if not raw:
        assert error is None


# --- properties ------------------------------------------------------------------------------

@PROPERTY
@given(raw=st.one_of(st.binary(max_size=2000), hostile.hostile_raw()))
@example(raw=b"\xff\xfe")
@example(raw=b"\xfe\xff\x00[")
@example(raw=b"\x00\x00\xfe\xff")
@example(raw=b"\xef\xbb\xbf")
@example(raw=b"[" * 100000)
def test_parse_json_returns_a_value_or_refuses(raw):
    try:
        http.parse_json(raw)
    except InvalidRequest as refusal:
        assert refusal.status == 400 and refusal.code == "invalid_request" and refusal.message
