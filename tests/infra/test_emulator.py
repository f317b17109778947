"""The emulator serialises requests, so its conditional writes are atomic as DynamoDB's."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local import stack
from local.emulator import Emulator, SerialisedApp


def test_the_wrapper_never_runs_two_requests_at_once() -> None:
    """Deterministic: moto's own race window is too narrow to hit reliably in a test."""
    running = 0
    most = 0
    counter = threading.Lock()

    def slow_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        nonlocal running, most
        with counter:
            running += 1
            most = max(most, running)
        time.sleep(0.01)
        with counter:
            running -= 1
        start_response("200 OK", [])
        return [b"ok"]

    app = SerialisedApp(slow_app)
    threads = [
        threading.Thread(target=app, args=({}, lambda *a: None)) for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


def test_concurrent_conditional_puts_of_one_key_give_exactly_one_success(emulator: Emulator) -> None:
    ddb = stack.client("dynamodb", emulator.url)
    ddb.create_table(
        TableName="race",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    workers = 20
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def put(n: int) -> None:
        client = stack.client("dynamodb", emulator.url)  # boto3 clients per thread
        barrier.wait()
        try:
            client.put_item(
                TableName="race",
                Item={"pk": {"S": "same"}, "writer": {"N": str(n)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            result = "ok"
        except ClientError as exc:
            result = exc.response["Error"]["Code"]
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(set(outcomes)) == ["ConditionalCheckFailedException", "ok"]
    assert outcomes.count("ok") == 1
    assert len(outcomes) == workers


def test_a_taken_port_raises_oserror(emulator: Emulator) -> None:
    with pytest.raises(OSError):
        Emulator(emulator.port).start()
