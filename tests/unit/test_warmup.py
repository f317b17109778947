"""chalicelib/warmup.py: on Lambda the cyclic collector waits for the first response, then
what the warm-up built is frozen out of it; everywhere else the collector is left alone.
Each case runs in a fresh interpreter, since the collector's state is the process's."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = r"""
import gc, json, sys
import app
after_import = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
original = app._contract
if sys.argv[1] == "fail":
    def broken(event, get_response):
        raise RuntimeError("the first request fails")
    app._contract = broken
event = {
    "resource": "/api/health", "path": "/api/health", "httpMethod": "GET",
    "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com"}, "multiValueHeaders": {},
    "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
    "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/api/health", "httpMethod": "GET", "path": "/v1/api/health",
                       "stage": "v1", "requestId": "r1", "identity": {"sourceIp": "130.176.0.1"}},
}
class Context:
    function_name = "twostep"; memory_limit_in_mb = 1024; aws_request_id = "r1"
    def get_remaining_time_in_millis(self): return 20000
first = app.app(event, Context())["statusCode"]
after_first = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
if sys.argv[1] == "fail":
    app._contract = original
second = app.app(event, Context())["statusCode"]
after_second = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
print(json.dumps({"import": after_import, "first": [first, after_first], "second": [second, after_second]}))
"""


def probe(lambda_name: str | None, mode: str = "ok") -> dict:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "TWOSTEP_STAGE": "prod",
           "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_EC2_METADATA_DISABLED": "true",
           **{name: "unused" for name in (
               "TWOSTEP_USERS_TABLE", "TWOSTEP_SESSIONS_TABLE", "TWOSTEP_FACTORS_TABLE",
               "TWOSTEP_RECOVERY_CODES_TABLE", "TWOSTEP_EPHEMERAL_TABLE", "TWOSTEP_EVENTS_TABLE",
               "TWOSTEP_KMS_KEY_ID", "TWOSTEP_HMAC_KEY_ID")}}
    if lambda_name:
        env["AWS_LAMBDA_FUNCTION_NAME"] = lambda_name
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_on_lambda_the_collector_waits_for_the_first_response_then_freezes_the_warm_up() -> None:
    seen = probe("twostep-prod-APIHandler")
    assert seen["import"] == {"enabled": False, "frozen": 0}
    status, state = seen["first"]
    assert status == 200
    # thousands of modules' objects, the app's routes and settings: frozen, collector back on
    assert state["enabled"] and state["frozen"] > 10_000
    status, state = seen["second"]
    assert status == 200 and state["enabled"]
    # frozen once, not per request (frozen objects can still be freed, so the count may drop)
    assert state["frozen"] <= seen["first"][1]["frozen"]


def test_a_failing_first_request_still_gives_the_collector_back() -> None:
    seen = probe("twostep-prod-APIHandler", "fail")
    assert seen["import"]["enabled"] is False
    status, state = seen["first"]
    assert status == 500 and state["enabled"] and state["frozen"] > 0
    assert seen["second"][0] == 200


@pytest.mark.parametrize("lambda_name", [None, ""])
def test_off_lambda_nothing_changes(lambda_name: str | None) -> None:
    seen = probe(lambda_name)
    for step in (seen["import"], seen["first"][1], seen["second"][1]):
        assert step == {"enabled": True, "frozen": 0}
