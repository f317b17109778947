"""infra/waf.yaml, the edge's web ACL (its own stack in us-east-1, where CloudFront's web ACLs
live), and infra/deploy.sh, which deploys it before the main stack and passes its ARN on.

deploy.sh is run for real here against a stand-in `aws` (first on PATH, logging every call,
answering from canned outputs): nothing reaches AWS."""
from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import textwrap
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from chalicelib.api.openapi import PATHS, SCHEMAS
from tests.infra.packaging import REPO, load_template, packaged_template
from tests.infra.test_edge import CONTRACT_CODES

WAF = REPO / "infra" / "waf.yaml"
DEPLOY = REPO / "infra" / "deploy.sh"
WAF_WINDOWS = {60, 120, 300, 600}  # AWS WAF's only evaluation windows
WAF_MIN_LIMIT = 10  # AWS WAF's lowest rate limit
# What makes an operation a credential check: it reads one of these, or HTTP Basic.
CREDENTIAL_FIELDS = {"password", "code", "sms_code", "recovery_code", "login_token"}
# Ordinary reads and pages, which only the general per-IP limit may count.
NOT_CREDENTIALS = ["/", "/index.html", "/js/main.js", "/css/app.css", "/settings", "/api/health",
                   "/api/openapi.json", "/api/account", "/api/account/sessions", "/api/account/sessions/x",
                   "/api/account/events", "/api/logout", "/account", "/oauth/sessions/x", "/api/methods",
                   "/api/account/factors"]
FAKE_ARN = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/twostep-prod-waf/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


@pytest.fixture(scope="module")
def waf() -> dict[str, Any]:
    return load_template(WAF)


@pytest.fixture(scope="module")
def acl(waf: dict[str, Any]) -> dict[str, Any]:
    (resource,) = waf["Resources"].values()
    assert resource["Type"] == "AWS::WAFv2::WebACL"
    return resource["Properties"]


def rules(acl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in acl["Rules"]}


def rate(rule: dict[str, Any]) -> dict[str, Any]:
    return rule["Statement"]["RateBasedStatement"]


def general_and_credentials(acl: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    (general,) = [r for r in acl["Rules"] if "ScopeDownStatement" not in rate(r)]
    (credentials,) = [r for r in acl["Rules"] if "ScopeDownStatement" in rate(r)]
    return general, credentials


# --- the template ---------------------------------------------------------------------------

def test_cfn_lint_passes() -> None:
    # Deployed as it is (no `package` step, unlike edge.yaml): so no YAML anchors either,
    # which cfn-lint warns CloudFormation would reject.
    matches = lint_file(WAF)
    assert [str(m) for m in matches] == []


def test_a_cloudfront_web_acl_that_allows_by_default_with_metrics(waf: dict[str, Any], acl: dict[str, Any]) -> None:
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert acl["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    assert "${Stage}" in acl["VisibilityConfig"]["MetricName"]["Fn::Sub"]
    assert waf["Parameters"]["Stage"]["AllowedValues"] == ["dev", "prod"]
    (logical_id,) = waf["Resources"]
    assert waf["Outputs"]["WebAclArn"]["Value"] == {"Fn::GetAtt": [logical_id, "Arn"]}


def test_every_rule_is_rate_based_per_client_ip(waf: dict[str, Any], acl: dict[str, Any]) -> None:
    params = waf["Parameters"]
    assert len(rules(acl)) == len(acl["Rules"]) == 2
    assert len({r["Priority"] for r in acl["Rules"]}) == len(acl["Rules"])
    metric_names = set()
    for rule in acl["Rules"]:
        statement = rate(rule)
        assert statement["AggregateKeyType"] == "IP", rule["Name"]
        # CloudFront gives WAF the viewer's own address; a forwarded header is the client's to write.
        assert "ForwardedIPConfig" not in statement and "CustomKeys" not in statement
        limit = params[statement["Limit"]["Ref"]]
        assert limit["Type"] == "Number" and limit["MinValue"] >= WAF_MIN_LIMIT
        assert limit["MinValue"] <= limit["Default"] <= limit["MaxValue"]
        window = params[statement["EvaluationWindowSec"]["Ref"]]
        assert set(window["AllowedValues"]) <= WAF_WINDOWS and window["Default"] in window["AllowedValues"]
        assert set(rule["Action"]) == {"Block"}, rule["Name"]
        visibility = rule["VisibilityConfig"]
        assert visibility["CloudWatchMetricsEnabled"] is True
        assert "${Stage}" in visibility["MetricName"]["Fn::Sub"]
        metric_names.add(visibility["MetricName"]["Fn::Sub"])
    assert len(metric_names) == len(acl["Rules"])


def test_one_rule_counts_every_path_and_a_stricter_one_the_credential_paths(
        waf: dict[str, Any], acl: dict[str, Any]) -> None:
    params = waf["Parameters"]
    general, credentials = general_and_credentials(acl)
    general_default = params[rate(general)["Limit"]["Ref"]]["Default"]
    credential_default = params[rate(credentials)["Limit"]["Ref"]]["Default"]
    assert credential_default < general_default
    # Sized for a platform's shared addresses (offices, carrier NAT), not for one person.
    assert general_default >= 1000 and credential_default >= 100
    # The stricter rule comes first: a request it blocks is not counted again.
    assert credentials["Priority"] < general["Priority"]


def test_blocked_requests_get_a_429_in_the_apis_error_shape(acl: dict[str, Any]) -> None:
    gateway = packaged_template("prod")["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    throttled = json.loads(
        gateway["x-amazon-apigateway-gateway-responses"]["THROTTLED"]["responseTemplates"]["application/json"])
    for rule in acl["Rules"]:
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429, rule["Name"]
        headers = {h["Name"].lower(): h["Value"] for h in response["ResponseHeaders"]}
        assert int(headers["retry-after"]) > 0
        assert headers["cache-control"] == "no-store"
        assert "content-type" not in headers  # WAF refuses it; ContentType below sets it
        body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
        assert body["ContentType"] == "APPLICATION_JSON"
        error = json.loads(body["Content"])
        assert set(error) == {"error"} and set(error["error"]) == {"code", "message"}
        assert error["error"]["code"] == "rate_limited" == throttled["error"]["code"]
        assert error["error"]["code"] in CONTRACT_CODES
        assert error["error"]["message"] == "Too many requests from your network. Try again later."


# --- what the credential rule counts: WAF's byte matching, replayed ---------------------------

def transform(value: str, kind: str) -> str:
    if kind == "URL_DECODE":
        return urllib.parse.unquote(value)
    if kind == "NORMALIZE_PATH":  # multiple slashes, ./ and ../ (WAF keeps a leading ../)
        normalised = posixpath.normpath(re.sub("/+", "/", value))
        return normalised + ("/" if value.endswith("/") and normalised != "/" else "")
    raise AssertionError(f"no model of the {kind} transformation here")


def matches(statement: dict[str, Any], path: str) -> bool:
    if "OrStatement" in statement:
        return any(matches(s, path) for s in statement["OrStatement"]["Statements"])
    byte_match = statement["ByteMatchStatement"]
    assert byte_match["FieldToMatch"] == {"UriPath": {}}
    for step in sorted(byte_match["TextTransformations"], key=lambda t: t["Priority"]):
        path = transform(path, step["Type"])
    needle, where = byte_match["SearchString"], byte_match["PositionalConstraint"]
    return {"STARTS_WITH": path.startswith(needle), "EXACTLY": path == needle}[where]


def credential_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI document that checks a credential."""
    found = []
    for path, operations in PATHS.items():
        for method, op in operations.items():
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
            basic = any("basic" in s for s in op.get("security", []))
            if basic or CREDENTIAL_FIELDS & set(schema.get("properties", {})):
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return found


def test_every_credential_route_is_in_the_strict_rule(acl: dict[str, Any]) -> None:
    _, credentials = general_and_credentials(acl)
    scope = rate(credentials)["ScopeDownStatement"]
    operations = credential_operations()
    assert {p for _, p in operations} >= {"/api/signup", "/api/login", "/api/login/verify", "/api/login/sms",
                                          "/api/login/challenge", "/api/account/factors/x",
                                          "/oauth/authorizations", "/api/account/two-factor/disable"}
    missed = [(m, p) for m, p in operations if not matches(scope, p)]
    assert missed == [], "credential routes the per-IP credential limit does not count"
    # Spelt otherwise, the same route is still counted.
    for disguised in ("/api/%6Cogin", "/api//login", "/api/./login/verify", "/api/x/../signup", "/oauth/authorizations/"):
        assert matches(scope, disguised), disguised


def test_the_strict_rule_leaves_ordinary_requests_alone(acl: dict[str, Any]) -> None:
    _, credentials = general_and_credentials(acl)
    scope = rate(credentials)["ScopeDownStatement"]
    assert [p for p in NOT_CREDENTIALS if matches(scope, p)] == []


# --- infra/deploy.sh --------------------------------------------------------------------------

FAKE_AWS = textwrap.dedent('''\
    """A stand-in for the AWS CLI: logs its arguments, answers from canned outputs."""
    import json, os, sys

    args = sys.argv[1:]
    with open(os.environ["FAKE_AWS_LOG"], "a") as log:
        log.write(json.dumps(args) + "\\n")

    def opt(name):
        return args[args.index(name) + 1] if name in args else None

    command = tuple(args[:2])
    if command == ("sts", "get-caller-identity"):
        print("123456789012")
    elif command == ("cloudformation", "describe-stacks"):
        query = opt("--query")
        if query is None:  # does the main stack exist yet? Not on a first deploy.
            sys.exit(255)
        if "WebAclArn" in query:
            ok = (opt("--region") == "us-east-1" and opt("--stack-name") == os.environ["FAKE_WAF_STACK"]
                  and not os.environ.get("FAKE_NO_ACL"))
            print(os.environ["FAKE_ARN"] if ok else "None")
        else:
            print({"FrontendBucketName": "bucket", "DistributionId": "E123",
                   "SiteURL": "https://d.example"}[query.split("'")[1]])
    elif command == ("cloudfront", "create-invalidation"):
        print("I123")
    elif command not in {("s3api", "head-bucket"), ("cloudformation", "package"),
                         ("cloudformation", "deploy"), ("s3", "sync"), ("sns", "set-sms-attributes")}:
        sys.exit(f"fake aws: unexpected {args}")
''')


def run_deploy(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(f"#!{sys.executable}\n{FAKE_AWS}")
    aws.chmod(0o755)
    log = tmp_path / "aws.log"
    log.touch()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWOSTEP_"))}
    full_env = {
        **base,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PY": shutil.which("true") or "/bin/true",  # packaging is test_package.py's business
        "AWS_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TWOSTEP_SMS_MONTHLY_SPEND_LIMIT": "10",
        "TWOSTEP_ORIGIN_SECRET": "a" * 64,
        "FAKE_AWS_LOG": str(log), "FAKE_ARN": FAKE_ARN, "FAKE_WAF_STACK": "twostep-prod-waf",
        **env,
    }
    done = subprocess.run(["bash", str(DEPLOY), "prod"], env=full_env, capture_output=True, text=True, timeout=60)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return done, calls


def option(call: list[str], name: str) -> str | None:
    return call[call.index(name) + 1] if name in call else None


def overrides(call: list[str]) -> dict[str, str]:
    values = call[call.index("--parameter-overrides") + 1:]
    values = values[:next((i for i, v in enumerate(values) if v.startswith("--")), len(values))]
    return dict(v.split("=", 1) for v in values)


def deploys(calls: list[list[str]]) -> list[list[str]]:
    return [c for c in calls if c[:2] == ["cloudformation", "deploy"]]


def test_deploy_script_parses() -> None:
    done = subprocess.run(["bash", "-n", str(DEPLOY)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def test_deploy_script_names_the_web_acl_stack_in_us_east_1() -> None:
    text = DEPLOY.read_text()
    assert re.search(r"aws cloudformation deploy --region us-east-1 \\\n\s+--template-file infra/waf\.yaml", text)
    assert "WebAclArn=$WEB_ACL_ARN" in text
    assert text.index("infra/waf.yaml") < text.index('--template-file "$OUT/packaged.yaml"')


def test_deploy_puts_the_web_acl_in_us_east_1_first_and_passes_its_arn(tmp_path: Path, waf: dict[str, Any]) -> None:
    done, calls = run_deploy(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (web_acl, main) = deploys(calls)
    assert option(web_acl, "--region") == "us-east-1"
    assert option(web_acl, "--template-file") == "infra/waf.yaml"
    assert option(web_acl, "--stack-name") == "twostep-prod-waf"
    assert overrides(web_acl) == {"Stage": "prod"}  # the template's defaults otherwise
    # The main stack: in its own region (AWS_REGION), after the web ACL, with its ARN.
    assert option(main, "--region") is None and option(main, "--stack-name") == "twostep-prod"
    assert overrides(main)["WebAclArn"] == FAKE_ARN
    assert set(overrides(main)) <= set(packaged_template("prod")["Parameters"])
    read_arn = [c for c in calls if c[:2] == ["cloudformation", "describe-stacks"] and "WebAclArn" in str(c)]
    assert read_arn and calls.index(read_arn[0]) < calls.index(main)
    assert option(read_arn[0], "--region") == "us-east-1"


def test_deploy_passes_the_web_acl_settings_on(tmp_path: Path, waf: dict[str, Any]) -> None:
    done, calls = run_deploy(tmp_path, TWOSTEP_WAF_STACK_NAME="edge-acl", FAKE_WAF_STACK="edge-acl",
                             TWOSTEP_WAF_RATE_LIMIT="6000", TWOSTEP_WAF_LOGIN_RATE_LIMIT="150",
                             TWOSTEP_WAF_WINDOW_SECONDS="600")
    assert done.returncode == 0, done.stdout + done.stderr
    (web_acl, main) = deploys(calls)
    assert option(web_acl, "--stack-name") == "edge-acl"
    passed = overrides(web_acl)
    assert set(passed) <= set(waf["Parameters"])
    general, credentials = general_and_credentials(waf["Resources"]["WebAcl"]["Properties"])
    assert passed[rate(general)["Limit"]["Ref"]] == "6000"
    assert passed[rate(credentials)["Limit"]["Ref"]] == "150"
    assert passed[rate(general)["EvaluationWindowSec"]["Ref"]] == "600"
    assert overrides(main)["WebAclArn"] == FAKE_ARN


def test_deploy_stops_before_the_main_stack_without_a_web_acl(tmp_path: Path) -> None:
    done, calls = run_deploy(tmp_path, FAKE_NO_ACL="1")
    assert done.returncode != 0
    assert "WebAclArn" in done.stderr
    assert len(deploys(calls)) == 1  # the web ACL's; the main stack was never deployed
