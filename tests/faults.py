"""Faults of the services behind us (DynamoDB, KMS, SNS, SES), injected into the app's calls.

`Faults` replaces `botocore.client.BaseClient._make_api_call` while it is active. Every
botocore client goes through that method, PynamoDB's included, and it sits above botocore's
retry loop: a fault raised there is what the app sees once botocore has given up, after its
`aws.ATTEMPTS` attempts. Only the calls the app makes while it handles a request are
counted (`Chalice.__call__` running on the same thread, as tests/aws_calls.py does), so the
harness's own clients, which read the emulator's tables to check what a request left
behind, are neither counted nor failed.

    with Faults() as faults:                 # count: learn what a flow calls
        api.post("/api/login", ...)
    faults.calls                              # [Call("dynamodb", "UpdateItem"), ...]

    with Faults().fail(2, "timeout") as faults:
        answer = api.post("/api/login", ...)  # the second call raises ReadTimeoutError
    faults.injected                           # Call("dynamodb", "GetItem")

Kinds of fault (`KINDS`), each as botocore raises it:

- `throttle`: a ClientError with the service's throttling code and HTTP 400 (DynamoDB
  `ProvisionedThroughputExceededException`, KMS `ThrottlingException`, SNS `Throttling`,
  SES `TooManyRequestsException`);
- `server_error`: the service's own 5xx (`InternalServerError`, `KMSInternalException`,
  `InternalError`, SES `InternalFailure`), HTTP 500;
- `timeout`: `botocore.exceptions.ReadTimeoutError`;
- `unreachable`: `botocore.exceptions.EndpointConnectionError`;
- `cancelled` (DynamoDB transactions only, `TRANSACTION_KINDS`): the way DynamoDB reports a
  throttle or a conflict inside TransactWriteItems / TransactGetItems, a
  `TransactionCanceledException` whose cancellation reasons name no failed condition, only
  `ThrottlingError` (writes) or `TransactionConflict` (reads) for one item.

The fault is raised before anything is sent, so the call had no effect: the fault as
botocore reports a request that never reached the service (or was refused by it).

`HttpAttempts` counts the HTTP attempts botocore itself makes (below its retry loop), for
the test that lets the real retry loop run.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

KINDS = ("throttle", "server_error", "timeout", "unreachable")
TRANSACTION_KINDS = (*KINDS, "cancelled")
TRANSACTIONS = ("TransactWriteItems", "TransactGetItems")

THROTTLE_CODES = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "kms": "ThrottlingException",
    "sns": "Throttling",
    "sesv2": "TooManyRequestsException",
}
SERVER_ERROR_CODES = {
    "dynamodb": "InternalServerError",
    "kms": "KMSInternalException",
    "sns": "InternalError",
    "sesv2": "InternalFailure",
}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"

    @classmethod
    def parse(cls, text: str) -> "Call":
        service, operation = text.split(":", 1)
        return cls(service, operation)


def kinds_for(call: Call) -> tuple[str, ...]:
    """The faults that make sense for one call: every kind, and `cancelled` for a
    DynamoDB transaction."""
    if call.service == "dynamodb" and call.operation in TRANSACTIONS:
        return TRANSACTION_KINDS
    return KINDS


def _response(code: str, status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 2},
        **extra,
    }


def make_fault(kind: str, client: Any, operation: str, params: dict[str, Any]) -> Exception:
    """The exception botocore raises for this kind of fault on this call."""
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

    service = client.meta.service_model.service_name
    endpoint = client.meta.endpoint_url
    if kind == "timeout":
        return ReadTimeoutError(endpoint_url=endpoint)
    if kind == "unreachable":
        return EndpointConnectionError(endpoint_url=endpoint)
    if kind == "throttle":
        code, status, extra = THROTTLE_CODES[service], 400, {}
    elif kind == "server_error":
        code, status, extra = SERVER_ERROR_CODES[service], 500, {}
    elif kind == "cancelled":
        if operation not in TRANSACTIONS:
            raise ValueError(f"`cancelled` is a fault of DynamoDB transactions, not of {operation}")
        reason = "ThrottlingError" if operation == "TransactWriteItems" else "TransactionConflict"
        count = max(1, len(params.get("TransactItems", [])))
        reasons = [{"Code": reason, "Message": "injected"}] + [{"Code": "None"}] * (count - 1)
        code, status, extra = "TransactionCanceledException", 400, {"CancellationReasons": reasons}
    else:
        raise ValueError(f"unknown fault kind {kind!r}")
    error_class = client.exceptions.from_code(code)  # the modelled class where there is one
    return error_class(_response(code, status, f"injected {kind}", **extra), operation)


@dataclass
class Faults:
    """Counts the AWS calls the app makes while it handles requests, and fails one of them.

    `fail(index, kind)` arms the fault: the `index`-th call (1-based) counted from then on
    raises `make_fault(kind, ...)`; every other call goes through untouched. `calls` lists
    every counted call, the failed one included; `injected` is the call that failed (None
    while the plan has not been reached)."""

    calls: list[Call] = field(default_factory=list)
    index: int | None = None
    kind: str | None = None
    injected: Call | None = None
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _restore: Callable[[], None] | None = field(default=None, repr=False)

    def fail(self, index: int, kind: str) -> "Faults":
        if index < 1:
            raise ValueError("calls are counted from 1")
        if kind not in TRANSACTION_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self.calls, self.index, self.kind, self.injected = [], index, kind, None
        return self

    def count(self) -> "Faults":
        """Count only, from now on."""
        self.calls, self.index, self.kind, self.injected = [], None, None, None
        return self

    @property
    def in_request(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    def _on_call(self, client: Any, operation: str, params: dict[str, Any]) -> None:
        call = Call(client.meta.service_model.service_name, operation)
        self.calls.append(call)
        if self.index is not None and len(self.calls) == self.index:
            self.injected = call
            assert self.kind is not None
            raise make_fault(self.kind, client, operation, params)

    def __enter__(self) -> "Faults":
        import botocore.client
        from chalice.app import Chalice

        faults = self
        make_api_call = botocore.client.BaseClient._make_api_call
        chalice_call = Chalice.__call__

        def faulty_make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if faults.in_request:
                faults._on_call(client, operation_name, api_params)
            return make_api_call(client, operation_name, api_params)

        def counted_call(app: Any, event: Any, context: Any) -> Any:
            faults._local.depth = getattr(faults._local, "depth", 0) + 1
            try:
                return chalice_call(app, event, context)
            finally:
                faults._local.depth -= 1

        botocore.client.BaseClient._make_api_call = faulty_make_api_call
        Chalice.__call__ = counted_call

        def restore() -> None:
            botocore.client.BaseClient._make_api_call = make_api_call
            Chalice.__call__ = chalice_call

        self._restore = restore
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None


@pytest.fixture
def faults() -> Iterator[Faults]:
    """A counting `Faults`, active for the whole test; arm it with `faults.fail(n, kind)`."""
    with Faults() as active:
        yield active


@dataclass
class HttpAttempts:
    """The HTTP requests botocore sends to URLs starting with `prefix` (each retry is one
    more), with the time of each, counted below botocore's retry loop."""

    prefix: str
    sent: list[float] = field(default_factory=list)

    @contextmanager
    def counting(self) -> Iterator["HttpAttempts"]:
        import time

        import botocore.httpsession

        send = botocore.httpsession.URLLib3Session.send
        attempts = self

        def counted_send(session: Any, request: Any) -> Any:
            if str(request.url).startswith(attempts.prefix):
                attempts.sent.append(time.monotonic())
            return send(session, request)

        botocore.httpsession.URLLib3Session.send = counted_send
        try:
            yield self
        finally:
            botocore.httpsession.URLLib3Session.send = send


class _Raw:
    """Enough of urllib3's response for botocore to read a canned body."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def throttled_response(request: Any, service: str = "dynamodb") -> Any:
    """The HTTP answer a throttled JSON-protocol service gives (DynamoDB, KMS): for a
    `before-send` handler, so that botocore parses it and its retry loop runs for real."""
    import json

    from botocore.awsrequest import AWSResponse

    code = THROTTLE_CODES[service]
    body = json.dumps({"__type": f"com.amazonaws.{service}#{code}", "message": "Rate exceeded"}).encode()
    return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0",
                                          "x-amzn-RequestId": "injected"}, _Raw(body))
