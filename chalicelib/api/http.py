"""What every handler shares: reading the request, authenticating it, answering in the
contract's shape. Domain errors become the API's error body here, in one place."""
from __future__ import annotations

import functools
import hmac
import json
import logging
import re
from typing import TYPE_CHECKING, Any, Callable

from chalice import Blueprint, Response

from chalicelib.config import settings
from chalicelib.context import Requester
from chalicelib.errors import (
    Forbidden,
    InternalError,
    InvalidRequest,
    PayloadTooLarge,
    ServiceUnavailable,
    TwostepError,
    UnsupportedMediaType,
    contract_body,
)
from chalicelib.fields import boolean, password, string  # noqa: F401 - the handlers' field checks

if TYPE_CHECKING:  # the domain is imported by the handlers that use it, to keep cold starts light
    from chalicelib.auth import credentials

log = logging.getLogger("twostep.api")

MAX_BODY = 64 * 1024
MAX_DEPTH = 32
COOKIE = "twostep_session"
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "twostep"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Chalice's own content-type check is switched off (`*/*`): it reads a missing type as JSON,
# matches `*/*` inside a parameter, and refuses requests without a body for their type.
# `media_type_error` (called by app.py for every request) decides instead.
ANY_CONTENT_TYPE = ["*/*"]
JSON = "application/json"
HEROKU_JSON = "application/vnd.heroku+json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    if body is None:
        return Response(body="", status_code=status, headers=all_headers)
    return Response(body=json.dumps(body), status_code=status, headers=all_headers)


def error_response(exc: TwostepError) -> Response:
    return json_response(contract_body(exc), exc.status, exc.headers())


def route(bp: Blueprint, path: str, methods: list[str] | None = None, *,
          errors: Callable[[TwostepError], Response] = error_response) -> Callable:
    """`bp.route` whose view may raise TwostepError, answered by `errors` (the contract's
    shape unless a blueprint speaks another); anything else is a logged 500 with no detail
    in the body (the log line holds the exception, never the request body)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            try:
                return view(*args, **kwargs)
            except TwostepError as exc:
                if isinstance(exc, ServiceUnavailable) and exc.__cause__ is not None:
                    from chalicelib import aws

                    log.warning("a service behind us failed in %s: %s", view.__name__, aws.fault_name(exc.__cause__))
                return errors(exc)
            except Exception as exc:  # noqa: BLE001 - the contract forbids stack traces in answers
                from chalicelib import aws

                if aws.unavailable(exc):
                    log.warning("a service behind us failed in %s: %s", view.__name__, aws.fault_name(exc))
                    return errors(ServiceUnavailable())
                log.exception("unhandled error in %s", view.__name__)
                return errors(InternalError())

        return bp.route(path, methods=methods or ["GET"], content_types=ANY_CONTENT_TYPE)(wrapped)

    return decorator


def media_type_error(request: Any, allowed: tuple[str, ...]) -> TwostepError | None:
    """UnsupportedMediaType for a request that has a body not sent as one of `allowed`: a
    charset parameter of utf-8 is fine (and Heroku's `version=3` on its own type), anything
    else, or no Content-Type at all, is not. What a cross-site page can send without a CORS
    preflight (text/plain, forms, multipart, no type) so never reaches a handler. Chalice's
    own check reads a missing type as JSON and matches `*/*` inside a parameter, so it
    cannot be the one."""
    if not (request.raw_body or b""):
        return None
    raw = request.headers.get("content-type")
    if raw is None:
        return UnsupportedMediaType()
    kind, *parameters = [part.strip() for part in raw.split(";")]
    kind = kind.lower()
    if kind not in allowed:
        return UnsupportedMediaType()
    for parameter in parameters:
        name, equals, value = (p.strip().strip('"').lower() for p in parameter.partition("="))
        fine = (name == "charset" and value in ("utf-8", "utf8")) or (
            kind == HEROKU_JSON and name == "version" and value == "3")
        if not equals or not fine:
            return UnsupportedMediaType()
    return None


_SPECIAL = re.compile(r'[\[\]{}"\\]')


def _too_deep(text: str | bytes) -> bool:
    """Whether JSON text nests arrays and objects deeper than MAX_DEPTH, read before it is
    parsed (the parser recurses, and a few thousand levels crash it). One pass over the
    characters that matter: brackets, quotes and backslashes, strings skipped (a backslash
    in a string takes the next character with it). Linear in the body, whatever it holds."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    depth = 0
    in_string = False
    escaped_at = -1
    for found in _SPECIAL.finditer(text):
        at = found.start()
        if at == escaped_at:
            continue
        char = text[at]
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(data: Any) -> bool:
    """Whether any string (keys too) holds a lone surrogate, which no UTF-8 text can carry:
    JSON's \\uXXXX escapes can spell one, and it fails later wherever text is encoded."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body, or InvalidRequest: not UTF-8 (RFC 8259: JSON between systems
    is UTF-8; `json.loads` would also guess UTF-16 and UTF-32), not JSON, nested deeper than
    MAX_DEPTH, or holding a lone surrogate. A leading byte order mark is passed over."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("The body is not UTF-8 text.") from None
    text = text.removeprefix("\ufeff")
    if _too_deep(text):
        raise InvalidRequest(f"The body nests deeper than {MAX_DEPTH} levels.")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidRequest("The body is not valid JSON.") from None
    if _has_lone_surrogate(data):
        raise InvalidRequest("The body holds text that is not valid Unicode (a lone surrogate).")
    return data


_PARSED = "_twostep_json"


def unreadable(request: Any) -> TwostepError | None:
    """InvalidRequest for a body that is not a readable JSON object (parse_json), whichever
    route it is sent to, even one that never reads it: checked once for every request, before any
    handler, and the value kept for `body()`."""
    raw = request.raw_body or b""
    if not raw.strip():
        return None
    try:
        data = parse_json(raw)
    except InvalidRequest as exc:
        return exc
    if not isinstance(data, dict):
        return InvalidRequest("The body must be a JSON object.")
    setattr(request, _PARSED, data)
    return None


def body(request: Any) -> dict[str, Any]:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge()
    if not raw.strip():
        return {}
    data = getattr(request, _PARSED) if hasattr(request, _PARSED) else parse_json(raw)
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return data


def from_our_edge(request: Any) -> bool:
    """Whether the request came through our own edge. In AWS CloudFront adds X-Origin-Verify
    with the deployment's secret; without a secret configured (local mode, where the local
    gateway is the only way in) every request counts as ours."""
    secret = settings().origin_secret
    if secret is None:
        return True
    return hmac.compare_digest(request.headers.get("x-origin-verify", "").encode(), secret.encode())


def requester(request: Any) -> Requester:
    """Who is asking. Our own edge names the viewer: CloudFront's `CloudFront-Viewer-Address`
    in AWS (forwarded by the origin request policy) and the local gateway's X-Forwarded-For,
    which it overwrites; API Gateway's source IP is the last resort. Headers are trusted only
    on requests that came through our edge, so nobody can choose the address we record."""
    headers = request.headers
    ip = None
    if from_our_edge(request):
        viewer = headers.get("cloudfront-viewer-address")
        if viewer:
            ip = viewer.rsplit(":", 1)[0].strip("[]")
        if not ip:
            forwarded = headers.get("x-forwarded-for")
            ip = forwarded.split(",")[-1].strip() if forwarded else None
    if not ip:
        ip = ((request.context or {}).get("identity") or {}).get("sourceIp")
    return Requester(ip=(ip or None) and ip[:64], user_agent=(headers.get("user-agent") or None))


def bearer_token(request: Any) -> str | None:
    value = request.headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def cookie_token(request: Any) -> str | None:
    raw = request.headers.get("cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def authenticate(request: Any) -> credentials.Principal:
    """A bearer token wins over a cookie; cookie-authenticated changes need the CSRF header."""
    from chalicelib.auth import credentials

    token = bearer_token(request)
    if token is not None:
        return credentials.authenticate(token, via="bearer")
    principal = credentials.authenticate(cookie_token(request), via="cookie")
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise Forbidden("Missing the X-Requested-With: twostep header.")
    return principal


def session_cookie(token: str) -> str:
    cfg = settings()
    parts = [f"{COOKIE}={token}", "Path=/api", "HttpOnly", "SameSite=Strict", f"Max-Age={cfg.session_absolute_seconds}"]
    if not cfg.local:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie() -> str:
    cfg = settings()
    parts = [f"{COOKIE}=", "Path=/api", "HttpOnly", "SameSite=Strict", "Max-Age=0"]
    if not cfg.local:
        parts.append("Secure")
    return "; ".join(parts)
