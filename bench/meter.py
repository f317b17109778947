"""What one request costs: AWS calls, DynamoDB capacity, CPU time and password hashes.

Installed in the measuring process by patching classes, so that every botocore client is
covered, PynamoDB's own included: `BaseClient._make_api_call` counts each call (with its
parameters and answer, and the items a write touched, read before and after with an
uncounted client), `URLLib3Session.send` keeps the raw HTTP exchanges (replayed by the cold
start), argon2's `PasswordHasher.verify` / `hash` are counted, and `Chalice.__call__` is timed
with `time.process_time()`. The emulator runs in another process, so its CPU is not counted;
the harness's own work inside a request (the extra reads) is subtracted.
"""
from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bench import capacity
from bench.cold_child import replay_key

WRITES = ("PutItem", "UpdateItem", "DeleteItem")


@dataclass
class Call:
    service: str
    operation: str
    rcu: float = 0.0
    wcu: float = 0.0
    approximate: bool = False


@dataclass
class Usage:
    """Everything one request cost."""

    calls: list[Call] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    verifies: int = 0
    hashes: int = 0
    cpu: float = 0.0
    argon2_cpu: float = 0.0
    wall: float = 0.0
    harness_cpu: float = 0.0

    def count(self, service: str) -> int:
        return sum(1 for c in self.calls if c.service == service)

    def operations(self, service: str) -> list[str]:
        return [c.operation for c in self.calls if c.service == service]

    @property
    def rcu(self) -> float:
        return sum(c.rcu for c in self.calls)

    @property
    def wcu(self) -> float:
        return sum(c.wcu for c in self.calls)

    @property
    def approximate(self) -> bool:
        return any(c.approximate for c in self.calls)


class Meter:
    def __init__(self) -> None:
        self.current: Usage | None = None
        self._local = threading.local()
        self._reader: Any = None
        self._schemas: dict[str, tuple[list[str], list[list[str]]]] = {}

    # --- installation ----------------------------------------------------------------------
    def install(self) -> None:
        import botocore.client
        import botocore.httpsession
        from argon2 import PasswordHasher
        from chalice.app import Chalice

        meter = self
        make_api_call = botocore.client.BaseClient._make_api_call
        send = botocore.httpsession.URLLib3Session.send
        verify, hash_ = PasswordHasher.verify, PasswordHasher.hash
        chalice_call = Chalice.__call__

        def counted_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if meter.current is None or meter.harness:
                return make_api_call(client, operation, params)
            return meter._call(client, operation, params, make_api_call)

        def kept_send(session: Any, request: Any) -> Any:
            response = send(session, request)
            if meter.current is not None and not meter.harness:
                meter.current.exchanges.append(exchange(request, response))
            return response

        def counted_verify(hasher: Any, *args: Any, **kwargs: Any) -> Any:
            return meter._hash(verify, "verifies", hasher, *args, **kwargs)

        def counted_hash(hasher: Any, *args: Any, **kwargs: Any) -> Any:
            return meter._hash(hash_, "hashes", hasher, *args, **kwargs)

        def timed_call(app: Any, event: Any, context: Any) -> Any:
            usage = meter.current
            if usage is None:
                return chalice_call(app, event, context)
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return chalice_call(app, event, context)
            finally:
                usage.cpu += time.process_time() - cpu - usage.harness_cpu
                usage.wall += time.perf_counter() - wall

        botocore.client.BaseClient._make_api_call = counted_call
        botocore.httpsession.URLLib3Session.send = kept_send
        PasswordHasher.verify, PasswordHasher.hash = counted_verify, counted_hash
        Chalice.__call__ = timed_call

    @property
    def harness(self) -> bool:
        return getattr(self._local, "harness", False)

    # --- hooks ------------------------------------------------------------------------------
    def _hash(self, original: Any, counter: str, *args: Any, **kwargs: Any) -> Any:
        usage = self.current
        if usage is None:
            return original(*args, **kwargs)
        setattr(usage, counter, getattr(usage, counter) + 1)
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            usage.argon2_cpu += time.process_time() - started

    def _call(self, client: Any, operation: str, params: dict[str, Any], original: Any) -> Any:
        usage = self.current
        assert usage is not None
        service = client.meta.service_model.service_name
        call = Call(service, operation)
        usage.calls.append(call)
        if service != "dynamodb":
            return original(client, operation, params)
        before = self._harness(self._images, params, operation)
        try:
            answer = original(client, operation, params)
        except Exception:
            self._harness(self._price, call, params, operation, before, None, {})
            raise
        self._harness(self._price_after, call, params, operation, before, answer)
        return answer

    def _price_after(self, call: Call, params: dict[str, Any], operation: str, before: list,
                     answer: dict[str, Any]) -> None:
        self._price(call, params, operation, before, self._images(params, operation), answer)

    def _harness(self, fn: Any, *args: Any) -> Any:
        """Run harness work inside a request without counting it or charging its CPU."""
        usage = self.current
        started = time.process_time()
        self._local.harness = True
        try:
            return fn(*args)
        finally:
            self._local.harness = False
            if usage is not None:
                usage.harness_cpu += time.process_time() - started

    # --- DynamoDB items and capacity ---------------------------------------------------------
    def _client(self) -> Any:
        if self._reader is None:
            import os

            import botocore.session

            from chalicelib import aws

            self._reader = botocore.session.get_session().create_client(
                "dynamodb", region_name="us-east-1", endpoint_url=os.environ["TWOSTEP_AWS_ENDPOINT"],
                **aws.LOCAL_CREDENTIALS)
        return self._reader

    def _schema(self, table: str) -> tuple[list[str], list[list[str]]]:
        """(the table's key attributes, each global secondary index's key attributes)."""
        if table not in self._schemas:
            desc = self._client().describe_table(TableName=table)["Table"]
            keys = [k["AttributeName"] for k in desc["KeySchema"]]
            indexes = [[k["AttributeName"] for k in gsi["KeySchema"]] for gsi in desc.get("GlobalSecondaryIndexes", [])]
            self._schemas[table] = (keys, indexes)
        return self._schemas[table]

    def _targets(self, params: dict[str, Any], operation: str) -> list[tuple[str, dict[str, Any]]]:
        """(table, key) of every item a write touches."""
        found: list[tuple[str, dict[str, Any]]] = []
        if operation in WRITES:
            found.append((params["TableName"], self._key(params["TableName"], params.get("Key") or params.get("Item"))))
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (_, body), = entry.items()
                found.append((body["TableName"], self._key(body["TableName"], body.get("Key") or body.get("Item"))))
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    (_, body), = request.items()
                    found.append((table, self._key(table, body.get("Key") or body.get("Item"))))
        return found

    def _key(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        keys, _ = self._schema(table)
        return {k: item[k] for k in keys}

    def _images(self, params: dict[str, Any], operation: str) -> list[dict[str, Any] | None]:
        return [self._client().get_item(TableName=t, Key=k, ConsistentRead=True).get("Item")
                for t, k in self._targets(params, operation)]

    def _price(self, call: Call, params: dict[str, Any], operation: str, before: list, after: list | None,
               answer: dict[str, Any]) -> None:
        consistent = bool(params.get("ConsistentRead"))
        if operation == "GetItem":
            call.rcu = capacity.read_units(capacity.item_size(answer.get("Item")), consistent)
        elif operation in ("Query", "Scan"):
            size = sum(capacity.item_size(i) for i in answer.get("Items", []))
            call.rcu = capacity.read_units(size, consistent)
        elif operation == "TransactGetItems":
            call.rcu = sum(capacity.read_units(capacity.item_size(r.get("Item")), True, True)
                           for r in answer.get("Responses", [{}] * len(params["TransactItems"])))
        elif operation == "BatchGetItem":
            for table, items in answer.get("Responses", {}).items():
                table_consistent = bool(params["RequestItems"][table].get("ConsistentRead"))
                call.rcu += sum(capacity.read_units(capacity.item_size(i), table_consistent) for i in items)
        else:
            targets = self._targets(params, operation)
            if after is None:  # failed (a condition): charged for the item as it stands
                after, call.approximate = before, True
            transaction = operation == "TransactWriteItems"
            for (table, _), old, new in zip(targets, before, after):
                call.wcu += capacity.write_units(capacity.item_size(old), capacity.item_size(new), transaction)
                call.wcu += capacity.index_write_units(old, new, self._schema(table)[1])


def exchange(request: Any, response: Any) -> dict[str, Any]:
    """One HTTP request and its answer, as the cold start's stub replays them."""
    body = request.body or b""
    if hasattr(body, "read"):
        body = b""
    if isinstance(body, str):
        body = body.encode()
    return {
        "key": replay_key(dict(request.headers), body),
        "status": response.status_code,
        "headers": {k: v for k, v in response.headers.items()},
        "body": base64.b64encode(response.content).decode(),
    }
