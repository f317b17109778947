"""Local stand-in for CloudFront + API Gateway, as one WSGI app.

`/api/*`, `/oauth/*` and `/account` go to the Chalice app through chalice.local's
LocalGateway; every other path is the single-page front end from `frontend/`.

What the deployed edge does and this reproduces:
- unknown API paths and methods answer in the API's error shapes (API.md), not in API
  Gateway's `{"message": "Missing Authentication Token"}` 403;
- every response, static ones included, carries the security headers;
- requests run concurrently, as in separate Lambda containers: the Chalice app gets a
  per-thread `current_request` exactly as `chalice local` arranges it;
- the client address reaches the app as the last (here: only) `X-Forwarded-For` entry,
  and as `CloudFront-Viewer-Address` (`ip:port`, what CloudFront sends when its origin
  request policy asks for it). LocalGateway always sets `requestContext.identity.sourceIp`
  to 127.0.0.1, so headers are the only place the real address can be; client-sent values
  of both are replaced, so they cannot be spoofed locally.
"""
from __future__ import annotations

import base64
import json
import logging
import mimetypes
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import LocalChalice, LocalGateway, LocalGatewayException, RouteMatcher
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from chalicelib.api.headers import security_headers
from chalicelib.api.heroku import is_heroku_path  # its errors are `{"id", "message"}`
from chalicelib.errors import TwostepError, contract_body, heroku_body

log = logging.getLogger("local.gateway")

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}

# API Gateway's own payload limit; the app refuses far smaller bodies itself (413).
MAX_BODY_BYTES = 10 * 1024 * 1024

# Hop-by-hop headers a WSGI app must not set (PEP 3333).
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer"}

StartResponse = Callable[..., Any]


def is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path == "/api" or is_heroku_path(path)


def error_body(path: str, code: str, message: str) -> dict[str, Any]:
    """What API Gateway answers itself, in the shape of the path (chalicelib/errors.py)."""
    error = TwostepError(message, code=code)
    return heroku_body(error) if is_heroku_path(path) else contract_body(error)


class Gateway:
    """The WSGI app; see the module docstring."""

    def __init__(self, chalice_app: Chalice, frontend_dir: Path, local: bool = True) -> None:
        config = Config.create(chalice_stage="local", app_name="twostep", lambda_timeout=60)
        _make_thread_safe(chalice_app)
        self._app = chalice_app
        self._local_gateway = LocalGateway(chalice_app, config)
        self._routes = RouteMatcher(list(chalice_app.routes))
        self._frontend = frontend_dir.resolve()
        self._headers = security_headers(local)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        started = time.perf_counter()
        try:
            response = self._dispatch(request)
        except Exception:  # the edge never shows a stack trace; the log keeps it
            log.exception("gateway error on %s %s", request.method, request.path)
            response = self._json(
                request.path, 500, error_body(request.path, "internal_error", "Something went wrong.")
            )
        for name, value in self._headers.items():
            if name not in response.headers:
                response.headers[name] = value
        elapsed_ms = (time.perf_counter() - started) * 1000
        # Path only: query strings of API calls and all bodies, cookies and
        # Authorization headers stay out of the log.
        log.info("%s %s %s %.0fms", request.method, request.path, response.status_code, elapsed_ms)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        if is_api_path(request.path):
            return self._api(request)
        return self._static(request)

    # --- API ---------------------------------------------------------------------------

    def _api(self, request: Request) -> Response:
        path = request.path
        try:
            route = self._routes.match_route(path).route
        except ValueError:
            return self._json(path, 404, error_body(path, "not_found", "No such endpoint."))
        methods = self._app.routes[route]
        if request.method not in methods and request.method != "OPTIONS":
            response = self._json(
                path, 405,
                error_body(path, "method_not_allowed", f"{request.method} is not allowed here."),
            )
            response.headers["Allow"] = ", ".join(sorted(methods))
            return response
        request.max_content_length = MAX_BODY_BYTES
        try:
            body = request.get_data(cache=False) or None
        except RequestEntityTooLarge:
            return self._json(
                path, 413, error_body(path, "payload_too_large", "The request body is too large.")
            )
        try:
            result = self._local_gateway.handle_request(
                method=request.method,
                path=self._path_with_query(request),
                headers=self._forwarded_headers(request),
                body=body,
            )
        except LocalGatewayException as exc:  # a Chalice authorizer said no
            code = "unauthenticated" if exc.CODE == 401 else "forbidden"
            return self._json(path, exc.CODE, error_body(path, code, "Not allowed."))
        return self._from_lambda(result)

    @staticmethod
    def _path_with_query(request: Request) -> str:
        query = request.query_string.decode("latin-1")
        return f"{request.path}?{query}" if query else request.path

    @staticmethod
    def _forwarded_headers(request: Request) -> dict[str, str]:
        """Request headers as API Gateway passes them: lower-case names, repeats joined."""
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        address = request.remote_addr or "127.0.0.1"
        headers["x-forwarded-for"] = address
        headers["cloudfront-viewer-address"] = f"{address}:{request.environ.get('REMOTE_PORT', 0)}"
        headers["x-forwarded-proto"] = request.scheme
        return headers

    @staticmethod
    def _from_lambda(result: dict[str, Any]) -> Response:
        body = result.get("body") or b""
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body)
        elif isinstance(body, str):
            body = body.encode("utf-8")
        headers = Headers()
        for name, value in (result.get("headers") or {}).items():
            if name.lower() not in HOP_BY_HOP:
                headers.add(name, str(value))
        for name, values in (result.get("multiValueHeaders") or {}).items():
            if name.lower() not in HOP_BY_HOP:
                headers.remove(name)
                for value in values:
                    headers.add(name, str(value))
        if body and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        return Response(body, status=int(result["statusCode"]), headers=headers)

    # --- static front end ---------------------------------------------------------------

    def _static(self, request: Request) -> Response:
        path = request.path
        if request.method not in ("GET", "HEAD"):
            response = self._json(
                path, 405,
                error_body(path, "method_not_allowed", f"{request.method} is not allowed here."),
            )
            response.headers["Allow"] = "GET, HEAD"
            return response
        if ".." in path.split("/"):
            return self._json(path, 404, error_body(path, "not_found", "No such file."))
        file = self._resolve(path)
        if file is None:
            if Path(path).suffix:
                return self._json(path, 404, error_body(path, "not_found", "No such file."))
            file = self._frontend / "index.html"  # a client-side route of the single-page app
            if not file.is_file():
                return self._json(path, 404, error_body(path, "not_found", "No front end built."))
        content_type = CONTENT_TYPES.get(file.suffix.lower()) or (
            mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        )
        response = Response(file.read_bytes(), status=200, content_type=content_type)
        # Static files may be cached but must be revalidated, so a deploy shows at once.
        response.headers["Cache-Control"] = "no-cache"
        return response

    def _resolve(self, path: str) -> Path | None:
        """The file under frontend/ for `path`, or None; never a file outside frontend/."""
        relative = path.lstrip("/")
        if not relative or "\x00" in relative or "\\" in relative:
            return None
        candidate = (self._frontend / relative).resolve()
        if not candidate.is_relative_to(self._frontend):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    @staticmethod
    def _json(path: str, status: int, body: dict[str, Any]) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")


def _make_thread_safe(chalice_app: Chalice) -> None:
    """Give the app a per-thread `current_request`, as `chalice local` does.

    Chalice keeps the request on the app object, which is safe in Lambda (one request per
    container at a time) but not in a threaded server. chalice.local swaps in its
    LocalChalice class for this; a subclass of our own leaves its shared class alone.
    """
    if not isinstance(chalice_app, LocalChalice):
        chalice_app.__class__ = type("ThreadLocalChalice", (LocalChalice, type(chalice_app)), {})


def make_app(chalice_app: Chalice, frontend_dir: str | Path, local: bool = True) -> Gateway:
    return Gateway(chalice_app, Path(frontend_dir), local=local)
