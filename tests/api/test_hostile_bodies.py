"""Hostile bodies (tests/hostile.py) at every route the app registers, in process.

For every path in `app.app.routes` (path parameters filled with "x") and every method that
can carry a body (POST, PUT, PATCH, DELETE), Hypothesis sends deep, wide, odd-Unicode,
invalid-UTF-8, odd-number, duplicate-key, non-object and malformed bodies: as
application/json anonymously and with a signed-in browser cookie (plus X-Requested-With),
as Heroku's application/vnd.heroku+json (`version=3`) anonymously and with a bearer key on
the root Heroku paths, and with each CORS-safelisted type (text/plain, form, multipart, no
Content-Type at all) with the cookie and no CSRF header, as a cross-site page would send it.

Every answer: below 500, no stack trace, the security headers, and at 4xx the error shape
of its path (`{"error": {code, message}}` under /api, Heroku's `{id, message}` at the root).

The order in which the request layer refuses a body (app.py's middleware `_contract`, then
Chalice, then the handler), and so which earlier refusal legitimately stands in for a 400:
1. 403 when the request did not come through our edge (an origin secret is configured;
   never here, as in local mode);
2. 413 for a body over 64 KiB, whatever its type;
3. 415 for a non-empty body (whitespace counts) not sent as the path's JSON type; a request
   with no body at all is never refused for its type;
4. 405 (Chalice) for a method the path does not have;
5. in the handler: authentication (401) and, for a cookie, the CSRF header (403) come before
   the body is read, on every route that needs a signed-in person;
6. the body is read: 400 invalid_request when it is not UTF-8 JSON, nests deeper than 32
   levels, holds a lone surrogate, or is not an object; then the fields.
A few operations never read a body (POST /api/logout, DELETE /api/account/sessions/{id},
the Heroku DELETEs): there one the request layer let through is ignored.

Which of 5 or 6 comes first for a route and a caller is not written down here but measured:
before any example, the same route and caller get a body that is not JSON at all (`{`).
Where that is 400 invalid_request the route reads its body, and every body the contract
refuses (too deep, a lone surrogate, not UTF-8 JSON, not an object) must be exactly that 400;
where it is anything else the answer was decided before the body was read, and every
hostile body must get that same answer (same status, same code).

A failing request is written to test-artifacts/hostile-failures/ (method, path, headers and
the exact body bytes) so that it can be replayed.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests import hostile
from tests.api.conftest import STRONG_PASSWORD
from tests.leakcheck import remember

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FAILURES = ARTIFACTS / "hostile-failures"
COUNT_FILE = ARTIFACTS / "hostile-api-requests.txt"
_sent = {"requests": 0}
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
JSON = "application/json"
HEROKU_JSON = "application/vnd.heroku+json; version=3"
SAFELISTED = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None)
SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")
NOT_JSON = b"{"

EXAMPLES = settings(max_examples=12, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
FEW_EXAMPLES = settings(EXAMPLES, max_examples=4)


def _routes() -> dict[str, list[str]]:
    from app import app

    return {path: sorted(methods) for path, methods in app.routes.items()}


ROUTES = _routes()
OPERATIONS = [(path, method) for path, methods in ROUTES.items() for method in methods if method in BODY_METHODS]
MISSING_METHODS = [(path, method) for path, methods in ROUTES.items() for method in BODY_METHODS
                   if method not in methods]
EVERY_OPERATION = [(path, method) for path, methods in ROUTES.items() for method in methods]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def is_heroku(path: str) -> bool:
    return path.startswith("/oauth/") or path == "/account"


def fields_of(path: str, method: str) -> tuple[str, ...]:
    """The request fields the OpenAPI document names for an operation (or every field)."""
    from chalicelib.api.openapi import DOCUMENT

    schema = (DOCUMENT["paths"].get(path, {}).get(method.lower(), {}).get("requestBody", {})
              .get("content", {}).get(JSON, {}).get("schema", {}))
    if "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return tuple(schema.get("properties", ())) or hostile.FIELDS


# --- the wire --------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    body: Any
    text: str
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Wire:
    """Requests exactly as given: the body's bytes and the Content-Type (or none) untouched."""

    client: Any
    ip: str = field(default_factory=lambda: f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::7")

    def send(self, method: str, path: str, raw: bytes | None, content_type: str | None,
             extra: dict[str, str] | None = None) -> tuple[Answer, dict[str, str]]:
        headers = {"user-agent": "pytest-hostile", "x-forwarded-for": self.ip}
        if content_type is not None:
            headers["content-type"] = content_type
        headers.update(extra or {})
        response = self.client.http.request(method, path, headers=headers, body=raw)
        _sent["requests"] += 1
        text = response.body.decode("utf-8", "replace") if isinstance(response.body, bytes) else response.body
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return Answer(response.status_code, parsed, text or "", dict(response.headers)), headers


@dataclass
class Person:
    """A signed-in browser (its cookie) and, for the Heroku paths, its API key."""

    api: Any
    email: str
    cookie: str
    api_key: str | None = None

    def sign_in_again(self) -> None:
        answer = self.api.post("/api/login", {"email": self.email, "password": STRONG_PASSWORD})
        assert answer.status == 200 and answer.cookie, answer.body
        self.cookie = answer.cookie


CALLERS = {
    "anonymous": lambda person: {},
    "cookie": lambda person: {"cookie": person.cookie, "x-requested-with": "twostep"},
    "bearer": lambda person: {"authorization": f"Bearer {person.api_key}"},
    "cross-site": lambda person: {"cookie": person.cookie},  # a cookie and no CSRF header
}


def callers_for(path: str) -> list[tuple[str, str]]:
    """(caller, content type) pairs that send a body as JSON to a path."""
    pairs = [("anonymous", JSON), ("cookie", JSON)]
    if is_heroku(path):
        pairs += [("anonymous", HEROKU_JSON), ("bearer", HEROKU_JSON)]
    return pairs


# --- checks ----------------------------------------------------------------------------------

def error_code(answer: Answer, path: str) -> str | None:
    if not isinstance(answer.body, dict):
        return None
    if is_heroku(path):
        return answer.body.get("id")
    error = answer.body.get("error")
    return error.get("code") if isinstance(error, dict) else None


def code_for(path: str, code: str) -> str:
    """A contract code as a path speaks it (Heroku's ids at the root)."""
    return {"invalid_request": "bad_request"}.get(code, code) if is_heroku(path) else code


def assert_well_formed(answer: Answer, path: str) -> None:
    assert answer.status < 500, f"a server error: {answer.status} {answer.text[:500]}"
    assert "Traceback" not in answer.text and 'File "' not in answer.text
    for name in SECURITY_HEADERS:
        assert answer.header(name), f"no {name} header"
    if answer.status < 400:
        return
    assert (answer.header("Content-Type") or "").startswith("application/json"), answer.headers
    body = answer.body
    assert isinstance(body, dict), f"an error that is not a JSON object: {answer.text[:300]!r}"
    if is_heroku(path):
        assert set(body) <= {"id", "message", "resource"} and "id" in body and "message" in body, body
        assert isinstance(body["id"], str) and body["id"] and isinstance(body["message"], str) and body["message"]
    else:
        assert set(body) == {"error"}, body
        error = body["error"]
        assert isinstance(error, dict) and set(error) == {"code", "message"}, body
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]


def outcome(answer: Answer, path: str) -> tuple[int, str | None]:
    return answer.status, error_code(answer, path)


def record(method: str, path: str, headers: dict[str, str], raw: bytes | None, answer: Answer | None) -> str:
    """Write a failing request where it can be replayed from; the file's name."""
    FAILURES.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(method.encode() + path.encode() + (raw or b"")).hexdigest()[:12]
    (FAILURES / f"{digest}.body").write_bytes(raw or b"")
    safe = {k: ("<cookie>" if k == "cookie" else "<key>" if k == "authorization" else v) for k, v in headers.items()}
    (FAILURES / f"{digest}.json").write_text(json.dumps({
        "method": method, "path": path, "headers": safe, "body_file": f"{digest}.body",
        "body_length": len(raw or b""), "status": answer and answer.status, "answer": answer and answer.text[:2000],
    }, indent=2))
    return str(FAILURES / digest)


class Exchange:
    """One request and its answer, checked; a failed check records the request."""

    def __init__(self, wire: Wire, method: str, path: str, raw: bytes | None, content_type: str | None,
                 extra: dict[str, str]) -> None:
        self.method, self.path, self.raw = method, path, raw
        self.answer, self.headers = wire.send(method, path, raw, content_type, extra)

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            where = record(self.method, self.path, self.headers, self.raw, self.answer)
            caller = ("cookie" if "cookie" in self.headers else
                      "bearer" if "authorization" in self.headers else "anonymous")
            raise AssertionError(
                f"{what}\n  {self.method} {self.path} content-type={self.headers.get('content-type')!r} "
                f"caller={caller}"
                f"\n  body: {self.raw[:160]!r}{'...' if self.raw and len(self.raw) > 160 else ''} "
                f"({len(self.raw or b'')} bytes)\n  answer: {self.answer.status} {self.answer.text[:300]}"
                f"\n  recorded: {where}.json")

    def well_formed(self) -> "Exchange":
        try:
            assert_well_formed(self.answer, self.path)
        except AssertionError as exc:
            self.check(False, f"malformed answer: {exc}")
        return self

    @property
    def outcome(self) -> tuple[int, str | None]:
        return outcome(self.answer, self.path)


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def count_requests():
    """How many requests this module made, in test-artifacts/hostile-api-requests.txt."""
    yield
    ARTIFACTS.mkdir(exist_ok=True)
    COUNT_FILE.write_text(f"{_sent['requests']}\n")


@pytest.fixture
def wire(stack):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        yield Wire(client)


@pytest.fixture
def person(api, request) -> Person:
    account = api.signup()
    person = Person(api=api, email=account.email, cookie=account.cookie)
    params = getattr(request.node, "callspec", None)
    if params is not None and is_heroku(params.params.get("path", "")):
        person.api_key = api.api_key(account)
        remember(person.api_key)
    return person


def keep_signed_in(person: Person, exchange: Exchange) -> None:
    """POST /api/logout ends the session it is sent with: sign in again for the next one."""
    cookie = exchange.answer.header("Set-Cookie") or ""
    if "Max-Age=0" in cookie:
        person.sign_in_again()


@pytest.fixture
def baselines(wire, person, request) -> dict[tuple[str, str], tuple[int, str | None]]:
    """For each (caller, content type) of this route: the answer to a body that is not JSON."""
    path, method = request.node.callspec.params["path"], request.node.callspec.params["method"]
    found = {}
    for caller, content_type in callers_for(path):
        exchange = Exchange(wire, method, concrete(path), NOT_JSON, content_type, CALLERS[caller](person))
        exchange.well_formed()
        keep_signed_in(person, exchange)
        found[(caller, content_type)] = exchange.outcome
    return found


def reads_its_body(path: str, baseline: tuple[int, str | None]) -> bool:
    return baseline == (400, code_for(path, "invalid_request"))


# --- the tests -------------------------------------------------------------------------------

def send_json(wire: Wire, person: Person, method: str, path: str, body: hostile.Body, reading: hostile.Reading,
              baselines: dict) -> None:
    url = concrete(path)
    for caller, content_type in callers_for(path):
        exchange = Exchange(wire, method, url, body.raw, content_type, CALLERS[caller](person)).well_formed()
        keep_signed_in(person, exchange)
        baseline = baselines[(caller, content_type)]
        if reading.too_large:
            exchange.check(exchange.outcome == (413, code_for(path, "payload_too_large")), "over 64 KiB and not 413")
        elif reading.empty or reading.blank:
            exchange.check(exchange.answer.status != 415, "no body, yet refused for its type")
        elif reads_its_body(path, baseline):
            if reading.must_be_refused:
                exchange.check(exchange.outcome == baseline,
                               f"{'deeper than 32 levels' if reading.too_deep else 'a lone surrogate'} "
                               "and not 400 invalid_request")
            elif reading.refused_when_read:
                exchange.check(exchange.outcome == baseline,
                               "not UTF-8 JSON text (or not an object) and not 400 invalid_request")
        else:
            # Decided before the body is read (authentication, or an operation with no body).
            exchange.check(exchange.outcome == baseline,
                           f"answered {exchange.outcome}, where a body that is not JSON gets {baseline}")


def send_safelisted(wire: Wire, person: Person, method: str, path: str, body: hostile.Body,
                    reading: hostile.Reading) -> None:
    for content_type in SAFELISTED:
        exchange = Exchange(wire, method, concrete(path), body.raw, content_type,
                            CALLERS["cross-site"](person)).well_formed()
        if reading.too_large:
            exchange.check(exchange.outcome == (413, code_for(path, "payload_too_large")), "over 64 KiB and not 413")
        elif reading.empty:
            exchange.check(exchange.answer.status != 415, "no body, yet refused for its type")
        else:
            exchange.check(exchange.outcome == (415, code_for(path, "unsupported_media_type")),
                           f"a body sent as {content_type!r} and not 415")


@pytest.mark.parametrize("path, method", OPERATIONS)
@EXAMPLES
@given(data=st.data())
def test_hostile_bodies(path, method, data, wire, person, baselines):
    body = data.draw(hostile.hostile_bodies(fields_of(path, method)), label="body")
    note(repr(body))
    reading = hostile.read(body.raw)
    send_json(wire, person, method, path, body, reading, baselines)
    send_safelisted(wire, person, method, path, body, reading)


@pytest.mark.parametrize("path, method", MISSING_METHODS)
@FEW_EXAMPLES
@given(data=st.data())
def test_hostile_bodies_to_methods_a_path_does_not_have(path, method, data, wire, person):
    """A method the path does not have is 405 with Allow, in the path's error shape, whatever
    the body: the method is refused before the body is looked at, as the gateway does."""
    body = data.draw(hostile.hostile_bodies(), label="body")
    note(repr(body))
    for caller, content_type in callers_for(path) + [("cross-site", t) for t in SAFELISTED]:
        exchange = Exchange(wire, method, concrete(path), body.raw, content_type,
                            CALLERS[caller](person)).well_formed()
        exchange.check(exchange.outcome == (405, code_for(path, "method_not_allowed")), "not 405")
        exchange.check(set(ROUTES[path]) <= {m.strip() for m in (exchange.answer.header("Allow") or "").split(",")},
                       "no Allow header naming the path's methods")


@pytest.mark.parametrize("content_type", SAFELISTED + ("application/json", "*/*", "application/vnd.heroku+json",
                                                       "application/octet-stream"))
def test_a_request_without_a_body_is_never_refused_for_its_type(wire, person, content_type):
    for path, method in EVERY_OPERATION:
        exchange = Exchange(wire, method, concrete(path), None, content_type, CALLERS["cookie"](person)).well_formed()
        keep_signed_in(person, exchange)
        exchange.check(exchange.answer.status != 415, "no body, yet refused for its type")


def test_a_body_at_the_size_limit_is_answered_in_moments(wire):
    """The slowest 64 KiB body the parser has met is still answered within two seconds (a
    Lambda runs 20 s at most)."""
    import time

    for raw in (hostile.SLOW_SCAN_BODY.raw, b"[" * hostile.BODY_LIMIT):
        started = time.perf_counter()
        exchange = Exchange(wire, "POST", "/api/login", raw, JSON, {}).well_formed()
        elapsed = time.perf_counter() - started
        exchange.check(exchange.outcome == (400, "invalid_request"), "not 400 invalid_request")
        exchange.check(elapsed < 2.0, f"took {elapsed:.1f} s")
