"""infra/template.yaml: it lints, it deploys into the emulator, and every table is hardened."""
from __future__ import annotations

from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode_str

from local import stack
from local.emulator import Emulator

TABLES: dict[str, dict[str, Any]] = {
    "UsersTable": {"env": "TWOSTEP_USERS_TABLE", "keys": [("email", "HASH")], "ttl": False},
    "SessionsTable": {"env": "TWOSTEP_SESSIONS_TABLE", "keys": [("id", "HASH")], "ttl": True},
    "FactorsTable": {
        "env": "TWOSTEP_FACTORS_TABLE",
        "keys": [("user_id", "HASH"), ("factor_id", "RANGE")],
        "ttl": True,
    },
    "RecoveryCodesTable": {
        "env": "TWOSTEP_RECOVERY_CODES_TABLE", "keys": [("code_hash", "HASH")], "ttl": True,
    },
    "EphemeralTable": {"env": "TWOSTEP_EPHEMERAL_TABLE", "keys": [("pk", "HASH")], "ttl": True},
    "EventsTable": {
        "env": "TWOSTEP_EVENTS_TABLE", "keys": [("user_id", "HASH"), ("sk", "RANGE")], "ttl": True,
    },
}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    template, errors = decode_str(stack.TEMPLATE_PATH.read_text())
    assert not errors, errors
    return dict(template["Resources"])


def test_cfn_lint_passes() -> None:
    matches = lint_file(stack.TEMPLATE_PATH)
    assert [str(m) for m in matches] == []


@pytest.mark.parametrize("logical_id", sorted(TABLES))
def test_every_table_is_hardened(resources: dict[str, Any], logical_id: str) -> None:
    props = resources[logical_id]["Properties"]
    assert "TableName" not in props  # CloudFormation names them, so stacks never collide
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {
        "SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "SecretsKey"},
    }
    assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]] == TABLES[logical_id]["keys"]
    if TABLES[logical_id]["ttl"]:
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


def test_sessions_index_by_user(resources: dict[str, Any]) -> None:
    (index,) = resources["SessionsTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_user"
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [
        ("user_id", "HASH"), ("created_at", "RANGE"),
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}


def test_keys(resources: dict[str, Any]) -> None:
    secrets = resources["SecretsKey"]["Properties"]
    assert (secrets["KeySpec"], secrets["KeyUsage"], secrets["EnableKeyRotation"]) == (
        "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", True,
    )
    hmac = resources["RecoveryHmacKey"]["Properties"]
    assert (hmac["KeySpec"], hmac["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")


def test_deploy_returns_the_app_env_and_creates_the_tables(emulator: Emulator) -> None:
    env = stack.deploy(emulator.url, stack_name="twostep-test-deploy")
    assert sorted(env) == sorted(stack.OUTPUT_ENV.values())
    assert all(env.values())

    ddb = stack.client("dynamodb", emulator.url)
    for spec in TABLES.values():
        table = ddb.describe_table(TableName=env[spec["env"]])["Table"]
        assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == spec["keys"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    sessions = ddb.describe_table(TableName=env["TWOSTEP_SESSIONS_TABLE"])["Table"]
    assert [i["IndexName"] for i in sessions["GlobalSecondaryIndexes"]] == ["by_user"]

    kms = stack.client("kms", emulator.url)
    sealed = kms.encrypt(
        KeyId=env["TWOSTEP_KMS_KEY_ID"], Plaintext=b"secret", EncryptionContext={"user_id": "u1"}
    )["CiphertextBlob"]
    opened = kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"user_id": "u1"})
    assert opened["Plaintext"] == b"secret"
    mac = kms.generate_mac(
        KeyId=env["TWOSTEP_HMAC_KEY_ID"], Message=b"code", MacAlgorithm="HMAC_SHA_256"
    )["Mac"]
    assert len(mac) == 32


def test_reset_then_deploy_again(emulator: Emulator) -> None:
    stack.deploy(emulator.url, stack_name="twostep-before-reset")
    stack.reset(emulator.url)
    env = stack.deploy(emulator.url)  # the default stack name is free again
    ddb = stack.client("dynamodb", emulator.url)
    assert sorted(ddb.list_tables()["TableNames"]) == sorted(
        env[spec["env"]] for spec in TABLES.values()
    )


def test_configure_sms(emulator: Emulator) -> None:
    stack.configure_sms(emulator.url)
    attributes = stack.client("sns", emulator.url).get_sms_attributes()["attributes"]
    assert attributes["DefaultSMSType"] == "Transactional"
    assert attributes["MonthlySpendLimit"] == "1"


def test_aws_env_pins_clients_to_the_emulator() -> None:
    env = stack.aws_env("http://127.0.0.1:5999")
    assert env["TWOSTEP_AWS_ENDPOINT"] == "http://127.0.0.1:5999"
    assert env["TWOSTEP_STAGE"] == "local"
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == "/dev/null"
    pinned = stack.pinned_env("http://127.0.0.1:5999", {"AWS_PROFILE": "prod", "HOME": "/h"})
    assert "AWS_PROFILE" not in pinned and pinned["HOME"] == "/h"
