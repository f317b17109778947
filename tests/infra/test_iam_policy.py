"""The Lambda's IAM policy grants exactly what the app does: nothing missing, nothing extra.

tests/aws_calls.py records every AWS operation the app makes while it handles a request in
the API suite (under moto), as (IAM action, template resource). The policy is
.chalice/policy-<stage>.json, whose resources are CloudFormation references
(Fn::GetAtt/Fn::Sub) to this stack's tables and keys; Chalice copies it verbatim into the
role of the packaged template, where they resolve to real ARNs.

When this session runs the whole of tests/api, its recording is used (this test is ordered
after it); otherwise the API suite runs once more in a subprocess to record.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import aws_calls
from tests.infra.packaging import REPO, packaged_template

pytestmark = pytest.mark.aws_calls

# Written to the log group by the Lambda service on the function's behalf, not by app code.
LOGS = {("logs:CreateLogStream", "APIHandlerLogGroup"), ("logs:PutLogEvents", "APIHandlerLogGroup")}
# Operations the code is known to make: if one is missing the recording is incomplete.
MUST_SEE = {
    ("kms:Encrypt", "SecretsKey"), ("kms:Decrypt", "SecretsKey"),
    ("kms:GenerateMac", "RecoveryHmacKey"), ("sns:Publish", "*"),
    ("dynamodb:Query", "SessionsTable/index/by_user"), ("dynamodb:PutItem", "UsersTable"),
    ("dynamodb:UpdateItem", "FactorsTable"), ("dynamodb:GetItem", "RecoveryCodesTable"),
}


def policy(stage: str) -> dict[str, Any]:
    return json.loads((REPO / ".chalice" / f"policy-{stage}.json").read_text())


def resource_id(resource: Any) -> str:
    """A policy resource as the recorder names it: a logical id (plus an index suffix)."""
    if resource == "*":
        return "*"
    if isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"]:
        logical_id, attribute = resource["Fn::GetAtt"]
        assert attribute == "Arn"
        return logical_id
    if isinstance(resource, dict) and list(resource) == ["Fn::Sub"]:
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}(/index/\w+)", resource["Fn::Sub"])
        assert match, resource
        return match.group(1) + match.group(2)
    raise AssertionError(f"not a reference to this stack's resources: {resource!r}")


def granted(document: dict[str, Any]) -> set[tuple[str, str]]:
    pairs = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            assert "*" not in action, action
            pairs |= {(action, resource_id(r)) for r in resources}
    return pairs


@pytest.fixture(scope="module")
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    if getattr(request.config, "_twostep_api_complete", False):
        return set(aws_calls.RECORDER.calls)
    out = tmp_path_factory.mktemp("aws-calls") / "aws-calls.txt"
    env = {**os.environ, aws_calls.FILE_ENV: str(out)}
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/api", "-q", "-p", "no:cacheprovider"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return aws_calls.read(out)


def test_dev_and_prod_policies_are_the_same() -> None:
    assert policy("dev") == policy("prod")


def test_packaged_role_carries_the_policy_file_and_nothing_else() -> None:
    resources = packaged_template("prod")["Resources"]
    role_ref = resources["APIHandler"]["Properties"]["Role"]
    role = resources[role_ref["Fn::GetAtt"][0]]
    assert role["Type"] == "AWS::IAM::Role"
    (inline,) = role["Properties"]["Policies"]
    assert inline["PolicyDocument"] == policy("prod")
    assert "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    for _, resource in granted(policy("prod")):
        if resource != "*":
            assert resource.split("/", 1)[0] in resources, resource


def test_only_sms_publishing_has_no_resource() -> None:
    # SNS has no ARN for a phone number: publishing an SMS needs Resource "*".
    assert {pair for pair in granted(policy("prod")) if pair[1] == "*"} == {("sns:Publish", "*")}


def test_logs_go_only_to_the_functions_own_log_group() -> None:
    assert {pair for pair in granted(policy("prod")) if pair[0].startswith("logs:")} == LOGS


def test_policy_grants_exactly_what_the_app_does(recorded: set[tuple[str, str]]) -> None:
    unknown = sorted(pair for pair in recorded if pair[1].startswith("?"))
    assert not unknown, f"calls on resources the template does not define: {unknown}"
    assert MUST_SEE <= recorded, f"the recording is incomplete: {sorted(MUST_SEE - recorded)}"
    allowed = granted(policy("prod")) - LOGS
    missing, extra = sorted(recorded - allowed), sorted(allowed - recorded)
    assert (missing, extra) == ([], []), f"missing from the policy: {missing}; granted but unused: {extra}"
