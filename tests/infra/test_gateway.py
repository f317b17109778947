"""local/gateway.py: API routing, error shapes, the single-page fallback, headers, safety."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from chalice import Chalice, Response
from werkzeug.test import Client

from chalicelib.api.headers import CONTENT_SECURITY_POLICY
from local.gateway import make_app

INDEX = b"<!doctype html><title>twostep</title>"


def tiny_app() -> Chalice:
    app = Chalice(app_name="gateway-test")

    @app.route("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.route("/api/echo", methods=["POST"])
    def echo() -> dict[str, object]:
        request = app.current_request
        return {
            "body": request.json_body,
            "query": request.query_params,
            "forwarded_for": request.headers.get("x-forwarded-for"),
            "viewer": request.headers.get("cloudfront-viewer-address"),
        }

    @app.route("/api/cookies")
    def cookies() -> Response:
        return Response(body="", status_code=204, headers={"Set-Cookie": ["a=1", "b=2"]})

    @app.route("/api/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    @app.route("/account")
    def account() -> dict[str, str]:
        return {"email": "a@example.com"}

    return app


@pytest.fixture
def frontend(tmp_path: Path) -> Path:
    root = tmp_path / "frontend"
    (root / "js").mkdir(parents=True)
    (root / "css").mkdir()
    (root / "index.html").write_bytes(INDEX)
    (root / "js" / "app.js").write_text("export {};")
    (root / "css" / "site.css").write_text("body {}")
    (tmp_path / "secret.txt").write_text("outside")
    return root


@pytest.fixture
def client(frontend: Path) -> Client:
    return Client(make_app(tiny_app(), frontend, local=True))


def assert_security_headers(headers: object) -> None:
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY  # type: ignore[index]
    assert headers["X-Frame-Options"] == "DENY"  # type: ignore[index]
    assert headers["X-Content-Type-Options"] == "nosniff"  # type: ignore[index]
    assert headers["Referrer-Policy"] == "no-referrer"  # type: ignore[index]


def test_api_route(client: Client) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert_security_headers(response.headers)


def test_api_body_query_and_client_address(client: Client) -> None:
    response = client.post(
        "/api/echo?x=1",
        data=json.dumps({"a": 1}),
        headers={
            "Content-Type": "application/json",
            "X-Forwarded-For": "6.6.6.6",
            "CloudFront-Viewer-Address": "6.6.6.6:1",
        },
        environ_base={"REMOTE_ADDR": "203.0.113.9", "REMOTE_PORT": 4242},
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "body": {"a": 1},
        "query": {"x": "1"},
        "forwarded_for": "203.0.113.9",
        "viewer": "203.0.113.9:4242",
    }


def test_oversized_body_is_a_contract_413(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("local.gateway.MAX_BODY_BYTES", 10)
    response = client.post("/api/echo", data="x" * 11, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_multi_value_headers_survive(client: Client) -> None:
    response = client.get("/api/cookies")
    assert response.status_code == 204
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_unknown_api_path_is_a_contract_404(client: Client) -> None:
    for path in ("/api/nope", "/api/health/extra", "/api"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"
        assert_security_headers(response.headers)


def test_unknown_heroku_path_uses_herokus_shape(client: Client) -> None:
    response = client.get("/oauth/authorizations")
    assert response.status_code == 404
    body = response.get_json()
    assert body["id"] == "not_found" and body["message"]


def test_heroku_account_route(client: Client) -> None:
    assert client.get("/account").get_json() == {"email": "a@example.com"}
    response = client.delete("/account")
    assert response.status_code == 405
    assert response.get_json()["id"] == "method_not_allowed"


def test_wrong_method_on_api_route_is_a_contract_405(client: Client) -> None:
    response = client.delete("/api/health")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"


def test_an_app_crash_is_chalices_500_without_a_trace(client: Client) -> None:
    response = client.get("/api/boom")
    assert response.status_code == 500
    assert b"secret detail" not in response.data and b"Traceback" not in response.data


def test_a_gateway_crash_is_a_contract_500(
    frontend: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = make_app(tiny_app(), frontend)

    def broken(_: Path) -> bytes:
        raise OSError("disk detail")

    monkeypatch.setattr(Path, "read_bytes", broken)
    with caplog.at_level(logging.ERROR, logger="local.gateway"):
        response = Client(gateway).get("/login")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert b"disk detail" not in response.data and b"Traceback" not in response.data
    assert_security_headers(response.headers)
    assert any(r.exc_info for r in caplog.records)  # the trace goes to the log instead


@pytest.mark.parametrize("path", ["/", "/login", "/settings/security"])
def test_single_page_fallback(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.data == INDEX
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert_security_headers(response.headers)


def test_head_of_a_page(client: Client) -> None:
    response = client.head("/login")
    assert response.status_code == 200
    assert response.data == b""


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/js/app.js", "text/javascript; charset=utf-8"), ("/css/site.css", "text/css; charset=utf-8")],
)
def test_static_files(client: Client, path: str, content_type: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert_security_headers(response.headers)


def test_missing_file_with_an_extension_is_404(client: Client) -> None:
    response = client.get("/js/missing.js")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert_security_headers(response.headers)


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/../../etc/passwd", "/js/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"],
)
def test_path_traversal_is_refused(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"outside" not in response.data and b"root:" not in response.data


def test_post_to_a_static_path_is_a_contract_405(client: Client) -> None:
    response = client.post("/login", data="x")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert_security_headers(response.headers)


def test_hsts_outside_local_mode(frontend: Path) -> None:
    response = Client(make_app(tiny_app(), frontend, local=False)).get("/api/health")
    assert "Strict-Transport-Security" in response.headers


def test_log_line_has_no_query_string(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="local.gateway"):
        client.post("/api/echo?token=abc", data="{}", headers={"Content-Type": "application/json"})
    (line,) = [r.getMessage() for r in caplog.records if r.name == "local.gateway"]
    assert line.startswith("POST /api/echo 200 ")
    assert "abc" not in line
