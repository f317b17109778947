"""The contract's general rules: error shape, body limits, media types, security headers."""
from __future__ import annotations

import json

from chalicelib.api.headers import security_headers

SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


def assert_error_shape(answer, status, code):
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error"}
    assert answer.body["error"]["code"] == code
    assert isinstance(answer.body["error"]["message"], str) and answer.body["error"]["message"]
    assert "Traceback" not in json.dumps(answer.body)


def test_malformed_json_and_wrong_shapes_are_invalid_requests(api):
    assert_error_shape(api.post("/api/login", raw="{not json"), 400, "invalid_request")
    assert_error_shape(api.post("/api/login", raw="[1, 2]"), 400, "invalid_request")
    assert_error_shape(api.post("/api/login", raw='"text"'), 400, "invalid_request")
    assert_error_shape(api.post("/api/login", raw=b"\xff\xfe"), 400, "invalid_request")
    assert_error_shape(api.post("/api/login", {"email": None, "password": "x"}), 400, "invalid_request")
    assert_error_shape(api.post("/api/login", {"email": "a@b.co", "password": {"x": 1}}), 400, "invalid_request")
    assert_error_shape(api.post("/api/login", {"email": "a" * 400 + "@b.co", "password": "x"}), 400, "invalid_request")


def test_bodies_over_64_kib_are_refused_with_413(api):
    big = json.dumps({"email": "a@example.com", "password": "x" * (64 * 1024)})
    assert_error_shape(api.post("/api/login", raw=big), 413, "payload_too_large")
    assert_error_shape(api.post("/api/signup", raw=big), 413, "payload_too_large")


def test_a_body_of_exactly_64_kib_is_read(api):
    body = json.dumps({"email": "a@example.com", "pad": ""})
    body = body.replace('""', '"' + "p" * (64 * 1024 - len(body)) + '"')
    assert len(body.encode()) == 64 * 1024
    answer = api.post("/api/login", raw=body)
    assert_error_shape(answer, 400, "invalid_request")  # read and parsed: password is missing


def test_wrong_media_type_is_415(api):
    answer = api.call("POST", "/api/login", raw="email=a", headers={"content-type": "application/x-www-form-urlencoded"})
    assert_error_shape(answer, 415, "unsupported_media_type")


def test_wrong_method_is_405_with_allow(api):
    answer = api.call("DELETE", "/api/health")
    assert_error_shape(answer, 405, "method_not_allowed")
    assert "GET" in answer.headers.get("Allow", "")
    assert_error_shape(api.get("/api/signup"), 405, "method_not_allowed")


def test_every_answer_carries_the_security_headers(api):
    answers = [
        api.get("/api/health"),
        api.get("/api/account"),
        api.post("/api/login", raw="{"),
        api.call("PUT", "/api/health"),
    ]
    for answer in answers:
        for name in SECURITY_HEADERS:
            assert name in answer.headers, (name, answer.status)
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        csp = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "Strict-Transport-Security" not in answer.headers  # local mode is plain HTTP


def test_hsts_outside_local_mode():
    assert "Strict-Transport-Security" in security_headers(local=False)
    assert security_headers(local=False)["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in security_headers(local=True)


def test_the_client_address_comes_from_our_edge(api):
    account = api.signup()
    for headers, expected in (
        ({"cloudfront-viewer-address": "203.0.113.9:46532"}, "203.0.113.9"),
        ({"cloudfront-viewer-address": "[2001:db8::5]:443"}, "2001:db8::5"),
        ({"x-forwarded-for": "198.51.100.1, 198.51.100.2"}, "198.51.100.2"),
    ):
        api.call("POST", "/api/login", {"email": account.email, "password": "wrong password here"}, headers=headers)
        newest = api.get("/api/account/events", cookie=account.cookie).body["events"][0]
        assert newest["type"] == "login_failed"
        assert newest["ip"] == expected


def test_with_an_origin_secret_only_requests_from_our_edge_are_served(api, monkeypatch):
    monkeypatch.setenv("TWOSTEP_ORIGIN_SECRET", "s" * 40)
    around = api.get("/api/health")
    assert (around.status, around.error_code) == (403, "forbidden")
    assert api.get("/api/health", headers={"x-origin-verify": "s" * 39 + "t"}).status == 403
    through = api.get("/api/health", headers={"x-origin-verify": "s" * 40})
    assert through.status == 200


def test_viewer_headers_are_trusted_only_through_our_edge(api, monkeypatch):
    account = api.signup()
    monkeypatch.setenv("TWOSTEP_ORIGIN_SECRET", "s" * 40)
    edge = {"x-origin-verify": "s" * 40, "cloudfront-viewer-address": "203.0.113.9:443"}
    api.call("POST", "/api/login", {"email": account.email, "password": "wrong password here"}, headers=edge)
    newest = api.get("/api/account/events", cookie=account.cookie, headers={"x-origin-verify": "s" * 40})
    assert newest.body["events"][0]["ip"] == "203.0.113.9"
