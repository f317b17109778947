"""Deploy infra/template.yaml into the local emulator and describe it as the app's env vars.

The template is the one definition of the tables and keys: local mode creates it through
moto's CloudFormation rather than keeping a second description in Python. Where moto's
CloudFormation cannot express something, this module fills the gap by API and says so.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import requests

from chalicelib import aws
from chalicelib.store import catalogue

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"
REGION = "us-east-1"

OUTPUT_ENV = catalogue.OUTPUT_ENV  # stack output -> the app's environment variable

# Variables that could point an AWS client at a real account: removed outright.
REMOVED_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL")


class DeployError(RuntimeError):
    """The stack did not reach CREATE_COMPLETE in the emulator."""


def aws_env(endpoint_url: str) -> dict[str, str]:
    """Env vars that pin every AWS client (boto3, PynamoDB, the app) to the emulator.

    Dummy credentials, and config/credential files replaced by /dev/null, so that nothing
    can fall back to the laptop's real profile. Also pop `REMOVED_ENV` from the environment.
    """
    return {
        **{name.upper(): value for name, value in aws.LOCAL_CREDENTIALS.items()},
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TWOSTEP_STAGE": "local",
        "TWOSTEP_AWS_ENDPOINT": endpoint_url,
    }


def pinned_env(endpoint_url: str, base: dict[str, str]) -> dict[str, str]:
    """`base` (e.g. os.environ) with `REMOVED_ENV` dropped and `aws_env` applied."""
    env = {k: v for k, v in base.items() if k not in REMOVED_ENV}
    env.update(aws_env(endpoint_url))
    return env


def client(service: str, endpoint_url: str) -> Any:
    """A boto3 client on the emulator with dummy credentials, whatever the environment says."""
    session = boto3.session.Session(region_name=REGION, **aws.LOCAL_CREDENTIALS)
    return session.client(service, endpoint_url=endpoint_url)


def deploy(endpoint_url: str, stack_name: str = "twostep-local") -> dict[str, str]:
    """Create the stack with Stage=local and return the app's env vars from its outputs."""
    cfn = client("cloudformation", endpoint_url)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=TEMPLATE_PATH.read_text(),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": "local"}],
    )
    stack = _wait_for_stack(cfn, stack_name)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = sorted(set(OUTPUT_ENV) - set(outputs))
    if missing:
        raise DeployError(f"stack {stack_name} has no outputs {missing}")
    env = {OUTPUT_ENV[key]: outputs[key] for key in OUTPUT_ENV}
    env["TWOSTEP_HMAC_KEY_ID"] = _ensure_hmac_key(endpoint_url, env["TWOSTEP_HMAC_KEY_ID"])
    return env


def _wait_for_stack(cfn: Any, stack_name: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll every 50 ms: boto3's waiter sleeps 30 s between polls, moto answers at once."""
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return stack
        if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            reason = stack.get("StackStatusReason", "")
            raise DeployError(f"stack {stack_name} is {status} {reason}".strip())
        time.sleep(0.05)


def _ensure_hmac_key(endpoint_url: str, key_id: str) -> str:
    """Return an HMAC_256 / GENERATE_VERIFY_MAC key id, making one by API if need be.

    moto 5.2.5's CloudFormation creates every AWS::KMS::Key as SYMMETRIC_DEFAULT /
    ENCRYPT_DECRYPT and ignores KeySpec and KeyUsage, so the template's RecoveryHmacKey
    cannot GenerateMac there. Real CloudFormation honours them; this is the local fallback.
    """
    kms = client("kms", endpoint_url)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    if meta.get("KeyUsage") == "GENERATE_VERIFY_MAC" and meta.get("KeySpec") == "HMAC_256":
        return key_id
    created = kms.create_key(
        KeySpec="HMAC_256",
        KeyUsage="GENERATE_VERIFY_MAC",
        Description="twostep local: recovery code HMAC key (moto CloudFormation fallback)",
    )
    return str(created["KeyMetadata"]["KeyId"])


def reset(endpoint_url: str) -> None:
    """Empty every moto backend (the caller deploys again afterwards).

    moto keeps every item forever and slows down as tables grow, so tests reset between
    modules.
    """
    response = requests.post(f"{endpoint_url.rstrip('/')}/moto-api/reset", timeout=10)
    response.raise_for_status()


def configure_sms(endpoint_url: str, monthly_spend_limit: str = "1") -> None:
    """Account-level SNS SMS settings, which CloudFormation cannot express."""
    client("sns", endpoint_url).set_sms_attributes(
        attributes={"DefaultSMSType": "Transactional", "MonthlySpendLimit": monthly_spend_limit}
    )
