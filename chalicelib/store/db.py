"""The store's operations: binding the models to this stage's tables, reading several items
at once, and the conditional writes that guard security state.

Models bind themselves on first use (`Item._get_connection`), so nothing outside the store
has to: the stage's table names, region and endpoint come from the settings, which exist only
while a request runs. Locally every connection is pinned to the emulator with the one set of
dummy credentials (`aws.LOCAL_CREDENTIALS`).

A transaction is a list of writes, each a function that adds its write to a pynamodb
TransactWrite (`create`, `put`, `update`, `delete`, `check` make them); `commit` sends them
as one TransactWriteItems and names the writes whose condition failed (`CommitRefused`).
`claim` is one conditional UpdateItem that is also the read. `alive` is the one expiry check:
DynamoDB's TTL deletion is lazy, so an item past its time may still be read.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

import pynamodb.connection.base as _pynamodb_base
from pynamodb.connection import Connection

from chalicelib import aws, clock
from chalicelib.config import aws_target
from chalicelib.store import catalogue

# PynamoDB makes a new botocore session for every connection (one per model), and each new
# session parses botocore's DynamoDB model again: ~60 ms per table on a cold start. Its
# connections take their session from this module-level name, so hand them ours.
_pynamodb_base.get_session = aws.botocore_session

Write = Callable[[Any], None]  # adds one write to a pynamodb TransactWrite


def ttl(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc)


def alive(item: Any, now: float | None = None, *, required: bool = True) -> bool:
    """Whether an item with a TTL is still within it. `required`: an item without one is
    not alive (pending enrolments, login attempts); otherwise it lives until revoked (the
    API key)."""
    if item is None:
        return False
    expires_at = getattr(item, "expires_at", None)
    if expires_at is None:
        return not required
    return expires_at.timestamp() > (clock.now() if now is None else now)


# --- binding -------------------------------------------------------------------------------

def _credentials(endpoint: str | None) -> dict[str, str | None]:
    """Dummy credentials against the emulator, so real ones in the environment are never used
    locally; in AWS the Lambda role's are found as usual."""
    if endpoint is not None:
        return dict(aws.LOCAL_CREDENTIALS)
    return dict.fromkeys(aws.LOCAL_CREDENTIALS)


def bind(model: Any) -> None:
    """Point one model at this stage's table (and, locally, at the emulator), on the one
    DynamoDB client of the container. Called for every operation (`Item._get_connection`),
    so it reads only the few variables it depends on, and does nothing when they are as
    they were."""
    region, endpoint = aws_target()
    meta = model.Meta
    wanted = (catalogue.table_name(meta.table), region, endpoint)
    if (meta.table_name, meta.region, meta.host) == wanted:
        return
    meta.table_name, meta.region, meta.host = wanted
    for name, value in _credentials(endpoint).items():
        setattr(meta, name, value)
    model._connection = None


def share_client(table_connection: Any) -> Any:
    """Give a model's PynamoDB connection the container's one DynamoDB client instead of
    letting it build its own (every client costs ~30 ms of a cold start)."""
    if table_connection.connection._client is None:
        table_connection.connection._client = connection().client
    return table_connection


_connections: dict[tuple[str, str | None], Connection] = {}


def connection() -> Connection:
    """The connection TransactWrite/TransactGet use, bound like the models, on the one
    DynamoDB client of the container (aws.client: its bounded retries and timeouts)."""
    key = aws_target()
    conn = _connections.get(key)
    if conn is None:
        region, endpoint = key
        conn = Connection(region=region, host=endpoint, **_credentials(endpoint))
        conn._client = aws.client("dynamodb")
        _connections[key] = conn
    return conn


# --- reads ---------------------------------------------------------------------------------

ItemKey = tuple[type, str, "str | None"]  # (model, hash key, range key)


def get(model: Any, hash_key: str, range_key: str | None = None) -> Any:
    """One item by key, strongly consistent; None when it does not exist."""
    from pynamodb.exceptions import DoesNotExist

    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except DoesNotExist:
        return None


def get_many(keys: list[ItemKey]) -> list:
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


# --- writes in a transaction ---------------------------------------------------------------

def _key_attribute(item: Any) -> Any:
    return getattr(type(item), item._hash_keyname)


def create(item: Any) -> Write:
    """Put an item that must not exist yet."""
    return lambda tx: tx.save(item, condition=_key_attribute(item).does_not_exist())


def put(item: Any, condition: Any = None) -> Write:
    return lambda tx: tx.save(item, condition=condition)


def update(item: Any, actions: list, condition: Any = None) -> Write:
    return lambda tx: tx.update(item, actions=actions, condition=condition)


def delete(item: Any, condition: Any = None) -> Write:
    return lambda tx: tx.delete(item, condition=condition)


def check(model: Any, hash_key: str, condition: Any, range_key: str | None = None) -> Write:
    return lambda tx: tx.condition_check(model, hash_key, range_key, condition=condition)


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


# Cancellation reasons that mean "not now": another transaction on the same item, or
# throttling. Nothing was written; the request may be sent again.
_NOT_NOW = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
                      "RequestLimitExceeded"})


def commit(writes: list[Write]) -> None:
    """Apply `writes` in one TransactWriteItems: all of them or none. CommitRefused names
    (by their index in `writes`) the writes whose condition failed; the one place that
    reads DynamoDB's cancellation reasons."""
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


def commit_or(writes: list[Write], refused: Callable[[set[int]], Exception]) -> None:
    """`commit`, raising `refused(failed)` (a domain error) when conditions failed."""
    try:
        commit(writes)
    except CommitRefused as exc:
        raise refused(exc.failed) from None


class Refused(Exception):
    """A conditional update's condition failed; `item` is the item as it was (None if it
    did not exist)."""

    def __init__(self, item: Any) -> None:
        super().__init__("condition failed")
        self.item = item


def claim(item: Any, actions: list, condition: Any) -> Any:
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
