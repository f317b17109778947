"""Every table and key twostep deploys, named once.

infra/template.yaml defines them; its outputs name them for the app (through these
environment variables, which the stage sets and local/stack.py fills from the emulator's
stack); chalicelib/store/models.py maps each model to one of these tables. Nothing here
imports PynamoDB, so the settings can read it on every path.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    name: str  # how the code names it
    env: str  # the environment variable the app reads
    output: str  # the stack output that holds it (infra/template.yaml)
    logical_id: str = ""  # the template's resource, for a table


TABLES = (
    Resource("users", "TWOSTEP_USERS_TABLE", "UsersTableName", "UsersTable"),
    Resource("credentials", "TWOSTEP_SESSIONS_TABLE", "SessionsTableName", "SessionsTable"),
    Resource("factors", "TWOSTEP_FACTORS_TABLE", "FactorsTableName", "FactorsTable"),
    Resource("recovery_codes", "TWOSTEP_RECOVERY_CODES_TABLE", "RecoveryCodesTableName", "RecoveryCodesTable"),
    Resource("ephemeral", "TWOSTEP_EPHEMERAL_TABLE", "EphemeralTableName", "EphemeralTable"),
    Resource("events", "TWOSTEP_EVENTS_TABLE", "EventsTableName", "EventsTable"),
)
KEYS = (
    Resource("secrets", "TWOSTEP_KMS_KEY_ID", "SecretsKeyId"),
    Resource("recovery_hmac", "TWOSTEP_HMAC_KEY_ID", "RecoveryHmacKeyId"),
)
TABLE_ENV = {table.name: table.env for table in TABLES}
# Stack output -> environment variable, for everything the app is given by the stack.
OUTPUT_ENV = {resource.output: resource.env for resource in TABLES + KEYS}


def table_name(name: str) -> str:
    """This stage's name for a table, from its environment variable."""
    import os

    value = os.environ.get(TABLE_ENV[name], "")
    if not value:
        from chalicelib.config import ConfigError

        raise ConfigError(f"{TABLE_ENV[name]} is not set")
    return value
