"""PynamoDB models: the shape of every item twostep stores.

The tables themselves are defined once, in infra/template.yaml (local mode deploys that
template into the emulator); tests/infra checks that these models agree with it. Table
names, region and endpoint are bound per request by `bind()`, because the stage's
environment exists only while a request runs.

Times are epoch seconds (floats) except TTL attributes, which PynamoDB keeps as
timezone-aware datetimes; DynamoDB's TTL deletion is lazy, so expiry is always checked in
code too.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.attributes import TTLAttribute as _TTLAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
import pynamodb.connection.base as _pynamodb_base
from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib import aws
from chalicelib.config import settings

# PynamoDB makes a new botocore session for every connection (one per model), and each new
# session parses botocore's DynamoDB model again: ~60 ms per table on a cold start. Its
# connections take their session from this module-level name, so hand them ours.
_pynamodb_base.get_session = aws.botocore_session


def ttl(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc)


class TTLAttribute(_TTLAttribute):
    """A TTL attribute that is optional: long-lived items (API keys) carry none."""

    def __init__(self, **kwargs):
        kwargs.setdefault("null", True)
        super().__init__(**kwargs)


class _Meta:
    table_name: str | None = None
    region = "us-east-1"
    host: str | None = None


class UserModel(Model):
    """One account, keyed by its normalised email so that signup's conditional put makes
    the address unique. `user_id` is immutable and random: every other table and the KMS
    encryption context use it."""

    class Meta(_Meta):
        pass

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    created_at = NumberAttribute()
    # Every session records the epoch it was made under; raising it ends them all at once.
    session_epoch = NumberAttribute(default=0)
    api_key_id = UnicodeAttribute()
    api_key_ciphertext = BinaryAttribute(legacy_encoding=False)
    two_factor_enabled_at = NumberAttribute(null=True)
    # What the login needs to know about the factors, kept on the user item so that the
    # password step reads one item: the confirmed authenticators (also guards "409 for the
    # last one"), the verified phone's hint, and the one second-factor failure counter.
    authenticator_ids = UnicodeSetAttribute(null=True)
    phone_hint = UnicodeAttribute(null=True)
    # The verified phone's identity: a login code texted to it is bound to it, so that
    # removing or replacing the phone kills every code sent to the old one.
    phone_id = UnicodeAttribute(null=True)
    second_factor_failures = NumberAttribute(null=True)
    second_factor_failed_at = NumberAttribute(null=True)
    # The owner's own counter for a password re-entered for a sensitive action, apart from
    # the per-email login counter that anyone can push.
    reentry_failures = NumberAttribute(null=True)
    reentry_failed_at = NumberAttribute(null=True)
    # Which KMS encryption context the API key's ciphertext was made with (aws.CONTEXTS).
    api_key_context = NumberAttribute(null=True)


class UserIndex(GlobalSecondaryIndex["SessionModel"]):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class SessionModel(Model):
    """A credential: a browser session, a Heroku-style authorization, or the API key.

    The token handed out is `<id>.<secret>`; only sha256(secret) is stored."""

    class Meta(_Meta):
        pass

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # browser | authorization | api_key
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    epoch = NumberAttribute(default=0)
    created_at = NumberAttribute()
    last_seen_at = NumberAttribute()
    expires_at = TTLAttribute()
    revoked_at = NumberAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    # Bearer tokens only: how listings show the token (tokens.redacted), never the secret.
    redacted_token = UnicodeAttribute(null=True)
    by_user = UserIndex()


class EphemeralModel(Model):
    """Short-lived things: throttle counters, login tokens, pending codes. Keys are
    prefixed by purpose (`pw#`, `signup#`, `login#`, ...)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()
    failures = NumberAttribute(null=True)
    last_failure_at = NumberAttribute(null=True)
    count = NumberAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    client = UnicodeAttribute(null=True)
    token_hash = UnicodeAttribute(null=True)
    # A login token's snapshot of the user's authenticators, so the second-factor step can
    # read them in the same call as the user (a later removal fails the spend's condition).
    authenticator_ids = UnicodeSetAttribute(null=True)
    created_at = NumberAttribute(null=True)
    used_at = NumberAttribute(null=True)
    sms_code_hash = UnicodeAttribute(null=True)
    sms_sent_at = NumberAttribute(null=True)
    sms_phone_id = UnicodeAttribute(null=True)  # the phone the code went to (UserModel.phone_id)


class EventModel(Model):
    """One line of an account's security log."""

    class Meta(_Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "<epoch ms>#<sequence>#<random>": sorts oldest first
    type = UnicodeAttribute()
    at = NumberAttribute()
    ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    detail = MapAttribute(default=dict)
    expires_at = TTLAttribute()


class FactorModel(Model):
    """One second factor of an account, or one piece of its state, under `factor_id`:

    - `totp#<id>`: a confirmed authenticator app (its KMS-encrypted secret, last step used);
    - `pending#totp`: the one enrolment waiting for its first code (15-minute TTL);
    - `recovery`: the current recovery-code set (one KMS ciphertext of all ten codes);
    - `phone`: the SMS recovery number.
    A new kind of factor is a new prefix and a new module in chalicelib/factors/."""

    class Meta(_Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    factor_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    pending_id = UnicodeAttribute(null=True)  # what the person must quote to confirm a pending item
    code_hash = UnicodeAttribute(null=True)  # a pending phone's setup code, hashed with pending_id
    secret_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    secret_context = NumberAttribute(null=True)  # the ciphertext's KMS encryption context (aws.CONTEXTS)
    region = UnicodeAttribute(null=True)  # a phone's ISO 3166 country, for the SMS allow-list
    last_step = NumberAttribute(null=True)
    created_at = NumberAttribute()
    last_used_at = NumberAttribute(null=True)
    set_id = UnicodeAttribute(null=True)
    code_hashes = ListAttribute(of=UnicodeAttribute, null=True)
    remaining = NumberAttribute(null=True)
    expires_at = TTLAttribute()


class RecoveryCodeModel(Model):
    """One recovery code, keyed by its HMAC (computed in KMS): never the code itself."""

    class Meta(_Meta):
        pass

    code_hash = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    set_id = UnicodeAttribute()
    position = NumberAttribute()
    used_at = NumberAttribute(null=True)
    expires_at = TTLAttribute()


MODELS: dict[str, type[Model]] = {
    "users": UserModel,
    "sessions": SessionModel,
    "factors": FactorModel,
    "recovery_codes": RecoveryCodeModel,
    "ephemeral": EphemeralModel,
    "events": EventModel,
}


def bind() -> None:
    """Point every model at this stage's tables (and, locally, at the emulator)."""
    cfg = settings()
    local_credentials = cfg.aws_endpoint is not None
    for name, model in MODELS.items():
        meta = model.Meta
        wanted = (cfg.table(name), cfg.region, cfg.aws_endpoint)
        if (meta.table_name, meta.region, meta.host) == wanted:
            continue
        meta.table_name, meta.region, meta.host = wanted
        # Pin the emulator with dummy credentials so real ones in the environment are
        # never used locally; in AWS the Lambda role's credentials are found as usual.
        meta.aws_access_key_id = "testing" if local_credentials else None
        meta.aws_secret_access_key = "testing" if local_credentials else None
        meta.aws_session_token = "testing" if local_credentials else None
        model._connection = None
        _share_client(model)


def _share_client(model: type[Model]) -> None:
    """Give the model's PynamoDB connection the one DynamoDB client of the container instead
    of letting it build its own (every client costs ~30 ms of a cold start)."""
    table_connection = model._get_connection()
    if table_connection.connection._client is None:
        table_connection.connection._client = connection().client


def get_many(keys: list) -> list:
    """Items by (model, hash key, range key) in one strongly consistent TransactGetItems;
    None where an item does not exist."""
    from pynamodb.exceptions import DoesNotExist
    from pynamodb.transactions import TransactGet

    with TransactGet(connection=connection()) as tg:
        futures = [tg.get(model, hash_key, range_key) for model, hash_key, range_key in keys]
    found = []
    for future in futures:
        try:
            found.append(future.get())
        except DoesNotExist:
            found.append(None)
    return found


class CommitRefused(Exception):
    """A transaction was cancelled because conditions failed: `failed` holds the indexes
    (in the order the writes were added) whose condition was not met. Cancellations for
    any other reason (throttling, a conflicting transaction) are a fault of the service,
    not an answer: they surface as ServiceUnavailable."""

    def __init__(self, failed: set[int]) -> None:
        super().__init__(f"conditions failed at {sorted(failed)}")
        self.failed = failed


class _Recording:
    """A TransactWrite that remembers which of the caller's writes added each operation.
    PynamoDB sends condition checks, deletes, puts and updates in that order, whatever
    order they were added in, and DynamoDB's cancellation reasons follow the order sent."""

    KINDS = ("condition_check", "delete", "save", "update")

    def __init__(self, tx: Any) -> None:
        self._tx = tx
        self.current = 0
        self.added: dict[str, list[int]] = {kind: [] for kind in self.KINDS}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._tx, name)
        if name not in self.KINDS:
            return method

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.added[name].append(self.current)
            return method(*args, **kwargs)

        return recorded

    def writer_of(self) -> list[int]:
        """For each operation in the order sent, the index of the write that added it."""
        return [index for kind in self.KINDS for index in self.added[kind]]


def commit(writes: list) -> None:
    """Apply `writes` (each a function adding its write to a pynamodb TransactWrite) in one
    TransactWriteItems: all of them or none. CommitRefused names (by their index in
    `writes`) the writes whose condition failed."""
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from chalicelib.errors import ServiceUnavailable

    recording: _Recording | None = None
    try:
        with TransactWrite(connection=connection()) as tx:
            recording = _Recording(tx)
            for index, write in enumerate(writes):
                recording.current = index
                write(recording)
    except TransactWriteError as exc:
        reasons = list(exc.cancellation_reasons or [])
        writer = recording.writer_of() if recording is not None else []
        failed = {writer[i] for i, reason in enumerate(reasons)
                  if reason is not None and reason.code == "ConditionalCheckFailed" and i < len(writer)}
        if failed:
            raise CommitRefused(failed) from None
        codes = {reason.code for reason in reasons if reason is not None}
        if codes & _NOT_NOW or aws.unavailable(exc):
            raise ServiceUnavailable() from exc
        raise


# Cancellation reasons that mean "not now": another transaction on the same item, or
# throttling. Nothing was written; the request may be sent again.
_NOT_NOW = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
                      "RequestLimitExceeded"})


class Refused(Exception):
    """A conditional update's condition failed; `item` is the item as it was (None if it
    did not exist)."""

    def __init__(self, item: Model | None) -> None:
        super().__init__("condition failed")
        self.item = item


def conditional_update(item: Model, actions: list, condition) -> Model:
    """One UpdateItem that is also the read: the item as the update left it, or Refused
    carrying the item as it was (DynamoDB's ReturnValuesOnConditionCheckFailure), so a
    claim costs one call whichever way it goes."""
    from botocore.exceptions import ClientError
    from pynamodb.constants import ALL_NEW, ALL_OLD, ATTRIBUTES, KEY, UPDATE_ITEM

    table = item._get_connection()
    hash_key, range_key = item._get_hash_range_key_serialized_values()
    kwargs = table.connection.get_operation_kwargs(
        table.table_name, hash_key, range_key=range_key, key=KEY, actions=actions, condition=condition,
        return_values=ALL_NEW, return_values_on_condition_failure=ALL_OLD)
    try:
        data = table.connection.dispatch(UPDATE_ITEM, kwargs)
    except ClientError as exc:
        original = exc.__cause__ if isinstance(exc.__cause__, ClientError) else exc
        if original.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        old = original.response.get("Item")
        raise Refused(type(item).from_raw_data(old) if old else None) from None
    return type(item).from_raw_data(data[ATTRIBUTES])


_connections: dict[tuple[str, str | None], Connection] = {}


def connection() -> Connection:
    """The connection TransactWrite/TransactGet use, bound like the models, on the one
    DynamoDB client of the container (aws.client: its bounded retries and timeouts)."""
    cfg = settings()
    key = (cfg.region, cfg.aws_endpoint)
    conn = _connections.get(key)
    if conn is None:
        creds = "testing" if cfg.aws_endpoint else None
        conn = Connection(
            region=cfg.region,
            host=cfg.aws_endpoint,
            aws_access_key_id=creds,
            aws_secret_access_key=creds,
            aws_session_token=creds,
        )
        conn._client = aws.client("dynamodb")
        _connections[key] = conn
    return conn
