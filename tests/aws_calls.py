"""A pytest plugin that records every AWS operation the app makes, as the IAM actions and
resources it needs, so that tests/infra/test_iam_policy.py can compare them with the
Lambda's policy (.chalice/policy-<stage>.json).

Only the app's own calls count: an operation is recorded only while `Chalice.__call__` is
running on the same thread, i.e. while the app handles a request (chalice.test.Client,
local/gateway.py, Lambda). The harness's own clients (CloudFormation deploys, moto resets,
assertions that read tables) are never inside a request, so they are left out.

Resources are recorded as the template's logical ids, found from the stage's environment
(table names and key ids come from the stack outputs, local/stack.py OUTPUT_ENV):
`UsersTable`, `SessionsTable/index/by_user`, `SecretsKey`, `*` (SMS to a phone number).
Transactions are recorded as the item actions IAM evaluates for them.

At the end of a session that recorded anything, the set is written one
`<action> <resource>` a line to test-artifacts/aws-calls.txt, or to the file named by
TWOSTEP_AWS_CALLS_FILE.
"""
from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from local.stack import OUTPUT_ENV

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILE = REPO / "test-artifacts" / "aws-calls.txt"
FILE_ENV = "TWOSTEP_AWS_CALLS_FILE"

# The environment variable that names each template resource: the stack's outputs are the
# resources' logical ids plus "Name" or "Id" (local/stack.py OUTPUT_ENV).
RESOURCE_ENV = {env: output.removesuffix("Name").removesuffix("Id") for output, env in OUTPUT_ENV.items()}

# Inner actions of a transaction, as IAM authorises them (there is no Transact* action).
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


class Recorder:
    def __init__(self) -> None:
        self.calls: set[tuple[str, str]] = set()
        self.requests = 0
        self._local = threading.local()
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    def enter(self) -> None:
        self._local.depth = getattr(self._local, "depth", 0) + 1
        with self._lock:
            self.requests += 1

    def leave(self) -> None:
        self._local.depth -= 1

    def record(self, service: str, operation: str, params: dict[str, Any]) -> None:
        found = set(needs(service, operation, params))
        with self._lock:
            self.calls |= found


def _resource(name: str | None) -> str:
    """The logical id for a table name or key id, from the stage's environment."""
    if not name:
        return "?"
    for env, logical_id in RESOURCE_ENV.items():
        value = os.environ.get(env)
        if value and (name == value or name.endswith(f"/{value}")):
            return logical_id
    return f"?{name}"


def needs(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The (IAM action, resource) pairs one API call needs."""
    if service == "dynamodb":
        if operation in ("TransactWriteItems", "TransactGetItems"):
            pairs = []
            for item in params.get("TransactItems", []):
                for kind, body in item.items():
                    pairs.append((f"dynamodb:{TRANSACT_ACTIONS[kind]}", _resource(body.get("TableName"))))
            return pairs
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", _resource(t)) for t in params.get("RequestItems", {})]
        resource = _resource(params.get("TableName"))
        if params.get("IndexName"):
            resource = f"{resource}/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", resource)]
    if service == "kms":
        return [(f"kms:{operation}", _resource(params.get("KeyId")))]
    if service == "sns" and operation == "Publish":
        # SMS to a phone number has no resource ARN: IAM needs Resource "*".
        return [("sns:Publish", "*" if params.get("PhoneNumber") else params.get("TopicArn", "?"))]
    return [(f"{service}:{operation}", "?")]


RECORDER = Recorder()


def _install() -> None:
    import botocore.client
    from chalice.app import Chalice

    if getattr(botocore.client.BaseClient._make_api_call, "_twostep_recorder", False):
        return
    make_api_call = botocore.client.BaseClient._make_api_call
    chalice_call = Chalice.__call__

    def recording_make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if RECORDER.active:
            service = self.meta.service_model.service_name
            RECORDER.record(service, operation_name, api_params)
        return make_api_call(self, operation_name, api_params)

    def recording_call(self: Any, event: Any, context: Any) -> Any:
        RECORDER.enter()
        try:
            return chalice_call(self, event, context)
        finally:
            RECORDER.leave()

    recording_make_api_call._twostep_recorder = True  # type: ignore[attr-defined]
    botocore.client.BaseClient._make_api_call = recording_make_api_call
    Chalice.__call__ = recording_call


def write(path: Path, calls: set[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{action} {resource}\n" for action, resource in sorted(calls)))


def read(path: Path) -> set[tuple[str, str]]:
    pairs = set()
    for line in path.read_text().splitlines():
        if line.strip():
            action, resource = line.split(" ", 1)
            pairs.add((action, resource))
    return pairs


# --- pytest hooks ------------------------------------------------------------------------

API_DIR = REPO / "tests" / "api"


def pytest_configure(config: pytest.Config) -> None:
    _install()
    config.addinivalue_line(
        "markers", "aws_calls: reads the AWS calls recorded from tests/api; runs after them"
    )
    config._twostep_api_complete = False  # type: ignore[attr-defined]


RECORDING_DIRS = (API_DIR, REPO / "tests" / "factors")  # the in-process API tests: what records


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which appends the group to each id
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that read the recording run last, after every test that records.

    Under pytest-xdist (`make test` runs two workers, `--dist loadgroup`) a module is one
    unit of work, so that its module-scoped stack starts once, and the tests that record run
    with the ones that read the recording on one worker, whose recording is then the whole.

    xdist's scopes hold tests by node id, so tests that share one would run only once:
    Schemathesis gives every operation of a test function the function's id (tests/e2e's
    fuzz). Each such test gets its own name (with the operation) in its id instead."""
    items.sort(key=lambda item: item.get_closest_marker("aws_calls") is not None)
    ids = Counter(item.nodeid for item in items)
    for item in items:
        if ids[item.nodeid] > 1:  # Schemathesis's: each item's name has its operation
            item._id = item.parent.id.child(item.name)
        path = Path(str(item.path))
        records = any(path.is_relative_to(d) for d in RECORDING_DIRS) or item.get_closest_marker("aws_calls")
        group = "recorded-api" if records else str(path.relative_to(REPO))
        item.add_marker(pytest.mark.xdist_group(group))
        if getattr(config.option, "loadgroup", False):  # set by pytest-xdist for --dist loadgroup
            # what xdist 3.8 does itself (`item._nodeid`), which pytest 9's node ids ignore:
            # the scheduler reads the group from the id's `@` suffix
            item._id = type(item._id).parse(f"{item.nodeid}@{group}")
    renamed = Counter(item.nodeid for item in items)
    assert max(renamed.values(), default=1) == 1, [i for i, n in renamed.items() if n > 1][:3]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note whether this session runs the whole of tests/api (no -k, -m, --lf or single
    files), so that its recording is complete and need not be made again."""
    config = session.config
    ran_api = any(Path(str(item.path)).is_relative_to(API_DIR) for item in session.items)
    filtered = bool(config.getoption("keyword", "") or config.getoption("markexpr", "")
                    or config.getoption("lf", False) or config.getoption("deselect", None))
    args = [Path(str(a).split("::", 1)[0]).resolve() for a in config.args]
    whole = all(not p.is_relative_to(API_DIR) or p == API_DIR for p in args)
    config._twostep_api_complete = ran_api and not filtered and whole  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session) -> None:
    # under xdist, only the worker that ran the recording tests has the recording to keep
    ran_api = any(Path(str(item.path)).is_relative_to(API_DIR) for item in _ran)
    if RECORDER.calls and (ran_api or not hasattr(session.config, "workerinput")):
        write(Path(os.environ.get(FILE_ENV) or DEFAULT_FILE), RECORDER.calls)


_ran: list[pytest.Item] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    if not _ran or Path(str(_ran[-1].path)) != Path(str(item.path)):
        _ran.append(item)
