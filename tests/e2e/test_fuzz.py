"""Property-based fuzzing of every endpoint with Schemathesis against the real local stack.

Every operation of the OpenAPI document is called with generated valid and invalid input,
anonymously, with a browser cookie (plus the CSRF header) and with a bearer API key. Each
answer must not be a 5xx, must be declared by the document and match its schema (every error
in the contract's `{"error": {code, message}}` shape), with JSON as its content type.

Beside the bodies the document's schemas make, the fuzzing phase sends the hostile bodies of
tests/hostile.py (deep, wide, odd Unicode, invalid UTF-8, odd numbers, duplicate keys,
non-object tops, malformed text) as application/json, to every operation: through the
`before_generate_body` hook where the document declares a body, and `before_generate_case`
where it declares none, for the methods that carry a body (the request layer sizes and types
a body on every route). Both are registered on this schema only, and each makes about half
of what the fuzzing phase draws hostile; the phase draws twice MAX_EXAMPLES, so the
schema-made requests stay as many as before and the hostile ones come on top (the coverage
phase is unchanged). The statuses they bring (400, 413, and 401/404 before a
body is read) are all within each operation's declared `4XX`, so every check still runs as
it is; one more, `hostile_refusal`, fails a hostile body the contract refuses (nested deeper
than 32 levels, a lone surrogate, not UTF-8 JSON) that is answered with a 2xx.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from chalicelib.api.openapi import DOCUMENT
from tests import hostile
from tests.e2e.helpers import Person

MAX_EXAMPLES = 12  # schema-made examples per operation in the fuzzing phase
HOSTILE_EXAMPLES = MAX_EXAMPLES  # and as many more, about, that carry a hostile body
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
COUNT_FILE = ARTIFACTS / "fuzz-requests.txt"
HOSTILE_COUNT_FILE = ARTIFACTS / "fuzz-hostile-requests.txt"
_requests_made = {"count": 0, "hostile": 0}


@pytest.fixture(scope="session")
def credentials(live_stack):
    browser = Person(live_stack.base_url).signup()
    cookie = browser.http.cookies.get("twostep_session")
    keyed = Person(live_stack.base_url).signup().enable_two_factor()
    yield {
        "anonymous": {},
        "cookie": {"Cookie": f"twostep_session={cookie}", "X-Requested-With": "twostep"},
        "bearer": {"Authorization": f"Bearer {keyed.api_key}"},
    }
    COUNT_FILE.parent.mkdir(exist_ok=True)
    COUNT_FILE.write_text(f"{_requests_made['count']}\n")
    HOSTILE_COUNT_FILE.write_text(f"{_requests_made['hostile']}\n")


schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                max_examples=MAX_EXAMPLES + HOSTILE_EXAMPLES, deterministic=True)


def _fields(operation) -> tuple[str, ...]:
    """The request fields the document names for an operation, for the hostile bodies to use."""
    body = DOCUMENT["paths"][operation.path][operation.method.lower()].get("requestBody")
    schema = body["content"]["application/json"]["schema"] if body else {}
    if "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return tuple(schema.get("properties", ())) or hostile.FIELDS


class HostileBody(bytes):
    """A hostile body's bytes (sent as they are: Schemathesis passes bytes to `data=`), with
    what the contract makes of them."""

    reading: hostile.Reading
    kind: str


def _as_sent(body: hostile.Body) -> HostileBody:
    sent = HostileBody(body.raw)
    sent.reading, sent.kind = hostile.read(body.raw), body.kind
    return sent


@schema.hook("before_generate_body")
def hostile_bodies_beside_the_schemas(context, strategy):
    return strategy | hostile.hostile_bodies(_fields(context.operation)).map(_as_sent)


@schema.hook("before_generate_case")
def hostile_bodies_where_none_is_declared(context, strategy):
    if context.operation.body or context.operation.method.upper() not in ("POST", "PUT", "PATCH", "DELETE"):
        return strategy

    def attach(pair):
        case, body = pair
        if body is not None:
            case.body, case.media_type = body, "application/json"
        return case

    return st.tuples(strategy, st.none() | hostile.hostile_bodies().map(_as_sent)).map(attach)


def error_shape(ctx, response, case):
    """Every 4xx carries the contract's error body (Heroku's `{id, message}` on its subset at
    the root); no answer leaks a stack trace."""
    if response.status_code >= 400 and not case.path.startswith("/api/"):
        body = response.json()
        assert set(body) <= {"id", "message", "resource"}, body
        assert isinstance(body.get("id"), str) and isinstance(body.get("message"), str)
    elif response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert isinstance(body["error"].get("code"), str) and isinstance(body["error"].get("message"), str)
    assert "Traceback" not in response.text


def count(ctx, response, case):
    _requests_made["count"] += 1
    if isinstance(case.body, HostileBody):
        _requests_made["hostile"] += 1


def hostile_refusal(ctx, response, case):
    """An operation that reads a body never accepts a hostile one the contract refuses: deeper
    than 32 levels, with a lone surrogate, anything but UTF-8 JSON text, or not an object.
    (Operations that declare no body ignore one; tests/api/test_hostile_bodies.py checks that
    they answer it as they answer a body that is not JSON at all.)"""
    if (isinstance(case.body, HostileBody) and case.operation.body
            and case.body.reading.refused_when_read):
        reading = case.body.reading
        assert not 200 <= response.status_code < 300, (
            f"{case.body.kind}: depth {reading.depth}, lone surrogate {reading.lone_surrogate}, "
            f"UTF-8 JSON {reading.is_json}, answered {response.status_code}")


def fuzz(case, base_url, auth):
    if case.path == "/api/logout" or case.path.startswith("/api/account/sessions/"):
        auth = {}  # would end the shared session and turn the rest of the run into 401s
    # positive_data_acceptance is left out: schema-valid input may still break a rule a schema
    # cannot state (a common password, a wrong code), and the contract answers 400 for it.
    excluded = [positive_data_acceptance]
    if auth:
        # ignored_auth adds an invalid credential of the other scheme beside our valid one and
        # takes the 200 for acceptance; the anonymous run keeps the check.
        excluded.append(ignored_auth)
    case.call_and_validate(base_url=base_url, headers=auth, session=requests.Session(),
                           additional_checks=[error_shape, hostile_refusal, count], excluded_checks=excluded)


@schema.parametrize()
def test_fuzz_anonymous(case, live_stack, credentials):
    fuzz(case, live_stack.base_url, credentials["anonymous"])


@schema.parametrize()
def test_fuzz_with_a_browser_cookie(case, live_stack, credentials):
    fuzz(case, live_stack.base_url, credentials["cookie"])


@schema.parametrize()
def test_fuzz_with_a_bearer_api_key(case, live_stack, credentials):
    fuzz(case, live_stack.base_url, credentials["bearer"])
