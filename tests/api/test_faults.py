"""Faults of the services behind us (issue 15, item 11): every AWS call of a login, of
enabling two-factor and of an SMS send, failed in turn with every kind of fault.

Each flow declares the calls it makes (`Flow.calls`); `test_each_flow_makes_the_calls_it_declares`
runs it once with the counter (tests/faults.py) and checks the list, so that the matrix
below cannot silently fall behind the product. Then, for every call index and every kind
of fault (`tests.faults.kinds_for`: throttle, 5xx, timeout, unreachable, and a cancelled
transaction for DynamoDB's transactions), `test_a_fault_answers_503_and_leaves_nothing_half_done`:

1. makes a fresh account in the flow's starting state and snapshots what the emulator holds
   for it (its user item, sessions, factors, recovery codes, events, the ephemeral items
   keyed by it, its email, its phone or its network, and the texts SNS received);
2. runs the flow with that one call failing: the answer must be 503 `unavailable` with a
   Retry-After of at least 1 s, in the contract's error shape (Heroku's on
   /oauth/authorizations);
3. snapshots again: nothing may have changed but what the rules say a fault leaves
   (`Flow.after_fault`), and every flow says it item by item: a claim on a failure counter
   given back when the password or code was never examined, or when it was right but its
   success could not be written; counted when a wrong one was examined; an SMS send's caps
   kept once the text was handed to SNS (with its `sms_failed` log line), and a pending
   phone taken back; a login code stored on a token that nobody received;
4. runs the same flow again with no fault (after the 30 s between texts, where a send's
   caps were claimed): it must answer as it would have, make exactly its declared calls,
   and its credential, code or phone must work.

A few calls are deliberately not faults of the answer (`Flow.absorbed`): the `sms_sent` log
line written after SNS took a text (the text has gone; the person must not be told to ask
for another). For those the request succeeds and the test checks that it fully did.

Every call of every flow is failed. Every kind of fault is run at each flow's first and last
call, at every SNS call (a refusal by SNS and a fault of SNS are told apart there) and at the
absorbed ones; a DynamoDB or KMS call in the middle of a flow gets one of the four, in
rotation along the flow, and, for a transaction, `cancelled` too:
the kinds differ only in how `aws.unavailable` recognises them, which
tests/unit/test_aws_faults.py checks for every kind at every service, and this matrix is
about what each call leaves behind (it runs in under half the time). The ten identical KMS
GenerateMac calls that hash a new set of recovery codes (`confirm_two_factor`, calls 6 to
15) get every kind at the first and the last, and one kind each, in rotation, in between.

`test_botocore_retries_*` let botocore's own retry loop run (the fault injected below it, at
the HTTP send, or a closed port) and check that a request answers 503 after exactly
`aws.ATTEMPTS` attempts, within the bound tests/unit/test_aws_faults.py checks.
"""
from __future__ import annotations

import itertools
import json
import os
import pprint
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from tests import rfc6238, sms
from tests import leakcheck
from tests.api.conftest import Account, Answer, TwoFactor, enable_two_factor, table_dump
from tests.faults import KINDS, Call, Faults, HttpAttempts, kinds_for, throttled_response

HEROKU_ACCEPT = {"accept": "application/vnd.heroku+json; version=3"}
AUTHORIZATION_BODY = {"description": "fault test", "expires_in": 3600, "scope": ["global"]}
SMS_GAP = 30
_numbers = itertools.count(1)


def endpoint() -> str:
    return os.environ["TWOSTEP_AWS_ENDPOINT"]


def fresh_number() -> str:
    """A UK mobile number no other test of this module texts (per-number caps are per day)."""
    return f"+4474009{next(_numbers):05d}"


# --- what the emulator holds for one account ----------------------------------------------

class Emulator:
    """The harness's own view of the tables (boto3 on the emulator: never counted, never
    failed by `Faults`, which only touches calls made inside a request)."""

    def __init__(self) -> None:
        from boto3.dynamodb.types import TypeDeserializer

        from local.stack import client

        self.dynamodb = client("dynamodb", endpoint())
        self.kms = client("kms", endpoint())
        self._deserialise = TypeDeserializer().deserialize

    @staticmethod
    def table(name: str) -> str:
        return os.environ[f"TWOSTEP_{name.upper()}_TABLE"]

    def plain(self, item: dict[str, Any]) -> dict[str, Any]:
        return {name: self._deserialise(value) for name, value in item.items()}

    def query(self, table: str, **kwargs: Any) -> list[dict[str, Any]]:
        found, start = [], None
        while True:
            page = self.dynamodb.query(TableName=self.table(table), ConsistentRead="IndexName" not in kwargs,
                                       **kwargs, **({"ExclusiveStartKey": start} if start else {}))
            found += [self.plain(item) for item in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    def scan(self, table: str, **kwargs: Any) -> list[dict[str, Any]]:
        found, start = [], None
        while True:
            page = self.dynamodb.scan(TableName=self.table(table), ConsistentRead=True, **kwargs,
                                      **({"ExclusiveStartKey": start} if start else {}))
            found += [self.plain(item) for item in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    def get(self, table: str, key: dict[str, str]) -> dict[str, Any] | None:
        answer = self.dynamodb.get_item(TableName=self.table(table), ConsistentRead=True,
                                        Key={name: {"S": value} for name, value in key.items()})
        return self.plain(answer["Item"]) if "Item" in answer else None

    def number_key(self, e164: str) -> str:
        """The key the per-number SMS caps count under (factors/sms.py: an HMAC in KMS)."""
        mac = self.kms.generate_mac(KeyId=os.environ["TWOSTEP_HMAC_KEY_ID"], Message=f"phone:{e164}".encode(),
                                    MacAlgorithm="HMAC_SHA_256")["Mac"]
        return mac.hex()


@pytest.fixture(scope="module")
def emulator(stack) -> Emulator:
    return Emulator()


# --- a fresh stack per flow ------------------------------------------------------------------
# moto keeps every item and slows as its tables grow (tests/api/conftest.py redeploys per
# module for that reason); this module makes some 1,500 accounts' worth of items, and once
# the tables are large enough the emulator answers slower than the app's own read timeout,
# which turns into real 503s. So the stack is reset and deployed again for each flow's cases
# (and once for the retry tests), and each deployment's tables are checked for secrets in
# clear before they go, against the secrets its own cases handled, as the module fixture
# does at the end against every secret (on the last, small, deployment).
_deployment: dict[str, Any] = {"group": None, "secrets": set()}


def _group(request) -> str:
    callspec = getattr(request.node, "callspec", None)
    if request.node.originalname == "test_a_fault_answers_503_and_leaves_nothing_half_done":
        return callspec.params["name"]
    if request.node.originalname == "test_each_flow_makes_the_calls_it_declares":
        return "census"
    return "retries"


@pytest.fixture(autouse=True)
def fresh_stack_per_flow(request, stack, emulator_url):
    from local.stack import deploy, reset

    group = _group(request)
    if _deployment["group"] is None:
        _deployment.update(group=group, secrets=set(leakcheck._secrets))
    elif _deployment["group"] != group:
        handled = leakcheck._secrets - _deployment["secrets"]
        dumped = table_dump(emulator_url, stack)
        leaked = [secret[:4] + "..." for secret in handled
                  if re.search(rf"(?<![A-Za-z0-9_-]){re.escape(secret)}(?![A-Za-z0-9_-])", dumped)]
        assert not leaked, f"secrets stored in clear by the {_deployment['group']} cases: {leaked}"
        reset(emulator_url)
        outputs = deploy(emulator_url)
        stack.clear()
        stack.update(outputs)  # the module fixture's own dict: its final check reads these tables
        os.environ.update(outputs)
        _deployment.update(group=group, secrets=set(leakcheck._secrets))
    yield


@dataclass
class Ctx:
    """A fresh account in a flow's starting state, and what the flow sends."""

    account: Account
    network: str
    two_factor: TwoFactor | None = None
    phone: str | None = None
    number_key: str | None = None
    token: str | None = None  # a login token, for the second-factor step and the SMS send
    code: str | None = None  # what the second-factor step sends
    api_key: str | None = None  # the account's API key before the flow
    other_cookie: str | None = None  # another browser session before the flow
    extra: dict[str, Any] = field(default_factory=dict)


Snapshot = dict[tuple[str, str], Any]
COUNTERS = {"users": [("second_factor_failures", "second_factor_failed_at"), ("reentry_failures", "reentry_failed_at")],
            "ephemeral": [("failures", "last_failure_at")]}


def _normalised(table: str, item: dict[str, Any]) -> dict[str, Any] | None:
    """A counter given back to zero is the same as no counter: `Counter.release()` leaves
    `failures = 0` (and the time of the claim) where there was nothing."""
    item = dict(item)
    for failures, last_at in COUNTERS.get(table, []):
        if item.get(failures) == 0:
            item.pop(failures)
            item.pop(last_at, None)
    if table == "ephemeral" and set(item) <= {"pk", "expires_at"}:
        return None
    return item


def snapshot(emulator: Emulator, ctx: Ctx) -> Snapshot:
    account = ctx.account
    uid = account.user_id
    found: Snapshot = {}

    def keep(table: str, key: str, item: dict[str, Any]) -> None:
        normal = _normalised(table, item)
        if normal is not None:
            found[(table, key)] = normal

    user = emulator.get("users", {"email": account.email})
    if user is not None:
        keep("users", account.email, user)
    values = {":u": {"S": uid}}
    for item in emulator.query("sessions", IndexName="by_user", KeyConditionExpression="user_id = :u",
                               ExpressionAttributeValues=values):
        keep("sessions", item["id"], item)
    for item in emulator.query("factors", KeyConditionExpression="user_id = :u", ExpressionAttributeValues=values):
        keep("factors", item["factor_id"], item)
    for item in emulator.query("events", KeyConditionExpression="user_id = :u", ExpressionAttributeValues=values):
        keep("events", item["sk"], item)
    for item in emulator.scan("recovery_codes", FilterExpression="user_id = :u", ExpressionAttributeValues=values):
        keep("recovery_codes", item["code_hash"], item)
    # The ephemeral items this account's flows touch: login tokens (user_id), counters and
    # caps keyed by its email, its id, its phone's number key, its network; the global cap.
    terms = {":u": uid, ":e": account.email, ":n": ctx.network, ":g": "cap#sms-global-hour#"}
    if ctx.number_key:
        terms[":k"] = ctx.number_key
    condition = "user_id = :u OR contains(pk, :u) OR contains(pk, :e) OR contains(pk, :n) OR begins_with(pk, :g)"
    if ctx.number_key:
        condition += " OR contains(pk, :k)"
    for item in emulator.scan("ephemeral", FilterExpression=condition,
                              ExpressionAttributeValues={k: {"S": v} for k, v in terms.items()}):
        keep("ephemeral", item["pk"], item)
    if ctx.phone:
        found[("sns", ctx.phone)] = tuple(sms.messages(endpoint(), ctx.phone))
    return found


Changes = dict[tuple[str, str], tuple[Any, Any]]


def changes_between(before: Snapshot, after: Snapshot) -> Changes:
    return {key: (before.get(key), after.get(key)) for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)}


def changed_attributes(old: dict[str, Any] | None, new: dict[str, Any] | None) -> set[str]:
    old, new = old or {}, new or {}
    return {name for name in set(old) | set(new) if old.get(name) != new.get(name)}


def pop_events(changes: Changes) -> list[str]:
    """Remove the events written meanwhile; their types, sorted (events are never changed)."""
    types = []
    for key in [k for k in changes if k[0] == "events"]:
        old, new = changes.pop(key)
        assert old is None and new is not None, f"an event was changed or removed: {key}"
        types.append(new["type"])
    return sorted(types)


def pop_caps(changes: Changes) -> list[str]:
    """Remove the SMS caps claimed meanwhile; their names (the pk's second part), sorted."""
    names = []
    for key in [k for k in changes if k[0] == "ephemeral" and k[1].split("#", 1)[0] in ("cap", "gap")
                and k[1].split("#")[1].startswith("sms-")]:
        changes.pop(key)
        names.append(key[1].split("#")[1])
    return sorted(names)


SMS_CAPS = sorted(["sms-account-gap", "sms-number-gap", "sms-account-hour", "sms-number-day", "sms-ip-hour",
                   "sms-global-hour"])


def pop_counter(changes: Changes, table: str, key: str, failures: str) -> int:
    """Remove a failure counter's change; how many failures it gained."""
    old, new = changes.pop((table, key), (None, None))
    if (old, new) == (None, None):
        return 0
    assert changed_attributes(old, new) <= {"pk", failures, failures.replace("failures", "failed_at"),
                                            "last_failure_at", "expires_at"}, (old, new)
    return int((new or {}).get(failures, 0)) - int((old or {}).get(failures, 0))


# --- the answers ---------------------------------------------------------------------------

def assert_unavailable(answer: Answer, heroku: bool) -> None:
    assert answer.status == 503, (answer.status, answer.body)
    retry_after = answer.headers.get("Retry-After") or answer.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1, answer.headers
    body = answer.body
    assert isinstance(body, dict), body
    if heroku:
        assert set(body) == {"id", "message"}, body
        assert body["id"] == "unavailable" and isinstance(body["message"], str) and body["message"]
    else:
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
        assert body["error"]["code"] == "unavailable" and body["error"]["message"]
    assert "Traceback" not in json.dumps(body)
    assert not (answer.headers.get("Set-Cookie") or answer.headers.get("set-cookie")), "a session was handed out"


def login(api, account: Account, client: str = "browser", password: str | None = None) -> Answer:
    return api.post("/api/login", {"email": account.email, "password": password or account.password,
                                   "client": client})


def heroku_authorize(api, account: Account, code: str | None = None) -> Answer:
    import base64

    basic = base64.b64encode(f"{account.email}:{account.password}".encode()).decode()
    headers = {**HEROKU_ACCEPT, "authorization": f"Basic {basic}"}
    if code is not None:
        headers["heroku-two-factor-code"] = code
    return api.post("/oauth/authorizations", AUTHORIZATION_BODY, headers=headers)


def event_types(emulator: Emulator, ctx: Ctx) -> list[str]:
    return [e["type"] for e in emulator.query("events", KeyConditionExpression="user_id = :u",
                                              ExpressionAttributeValues={":u": {"S": ctx.account.user_id}})]


def works(api, **credentials: str) -> bool:
    return api.get("/api/account", **credentials).status == 200


# --- starting states -----------------------------------------------------------------------

def new_ctx(api) -> Ctx:
    from chalicelib.context import Requester

    return Ctx(account=api.signup(), network=Requester(ip=api.ip).network)


def with_two_factor(api, clock) -> Ctx:
    ctx = new_ctx(api)
    ctx.two_factor = enable_two_factor(api, ctx.account)
    clock.shift(30)  # the next TOTP step: the confirmation spent this one
    return ctx


def with_phone(api, clock, emulator: Emulator) -> Ctx:
    ctx = with_two_factor(api, clock)
    ctx.phone = fresh_number()
    ctx.number_key = emulator.number_key(ctx.phone)
    added = api.post("/api/account/phone", {"phone": ctx.phone, "password": ctx.account.password},
                     cookie=ctx.account.cookie)
    assert added.status == 202, added.body
    code = sms.last_code(endpoint(), ctx.phone)
    assert api.post("/api/account/phone/verify", {"code": code}, cookie=ctx.account.cookie).status == 200
    clock.shift(SMS_GAP)  # the setup text's gap
    return ctx


def login_token(api, ctx: Ctx, client: str = "browser") -> str:
    answer = login(api, ctx.account, client)
    assert answer.status == 200 and answer.body["status"] == "two_factor_required", answer.body
    return answer.body["login_token"]


# --- the flows -----------------------------------------------------------------------------

@dataclass
class Flow:
    name: str
    calls: tuple[str, ...]
    prepare: Callable[[Any, Any, Emulator], Ctx]
    run: Callable[[Any, Ctx], Answer]
    # What the answer and the state must be when the flow went through (first try or again).
    succeeded: Callable[[Any, Ctx, Answer, Emulator], None]
    # Pops from `changes` what a fault at call `index` leaves, as the rules say (and asserts
    # it is there); whatever remains is half done.
    after_fault: Callable[[int, Changes, Ctx], None] = lambda index, changes, ctx: None
    heroku: bool = False
    absorbed: dict[int, str] = field(default_factory=dict)  # index -> why it is not a fault of the answer
    # Whether a fault at `index` claimed the SMS caps (the retry then waits the gap).
    caps_claimed: Callable[[int], bool] = lambda index: False

    def call(self, index: int) -> Call:
        return Call.parse(self.calls[index - 1])


def _login_succeeded(client: str) -> Callable:
    def check(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
        assert answer.status == 200 and answer.body["status"] == "authenticated", answer.body
        if client == "cli":
            assert answer.body["api_key"] and works(api, bearer=answer.body["api_key"])
            assert not answer.cookie
        else:
            assert answer.cookie and works(api, cookie=answer.cookie)
            assert "api_key" not in answer.body
        assert event_types(emulator, ctx).count("login") >= 1
    return check


def _password_claim_given_back(index: int, changes: Changes, ctx: Ctx) -> None:
    """A right password: its claim is given back whichever call failed (never examined, or
    examined and right with its success never written)."""
    assert pop_counter(changes, "ephemeral", f"pw#{ctx.account.email}", "failures") == 0


def _wrong_password_after_fault(index: int, changes: Changes, ctx: Ctx) -> None:
    gained = pop_counter(changes, "ephemeral", f"pw#{ctx.account.email}", "failures")
    examined = index >= 3  # the claim (1) and the read (2) come before the check; 3 logs it
    assert gained == (1 if examined else 0), f"the password counter gained {gained}"


def _wrong_password_succeeded(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    assert (answer.status, answer.error_code) == (401, "invalid_credentials"), answer.body
    assert "login_failed" in event_types(emulator, ctx)


def _two_factor_required(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    assert answer.status == 200 and answer.body["status"] == "two_factor_required", answer.body
    assert not answer.cookie
    verified = api.post("/api/login/verify", {"login_token": answer.body["login_token"],
                                              "code": rfc6238.totp(ctx.two_factor.secret)})
    assert verified.status == 200, verified.body


def _second_factor_succeeded(client: str, method: str) -> Callable:
    def check(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
        _login_succeeded(client)(api, ctx, answer, emulator)
        logins = [e for e in emulator.query("events", KeyConditionExpression="user_id = :u",
                                            ExpressionAttributeValues={":u": {"S": ctx.account.user_id}})
                  if e["type"] == "login" and e["detail"].get("method") == method]
        assert len(logins) == 1, logins
        again = api.post("/api/login/verify", {"login_token": ctx.token, **_code_field(ctx)})
        assert (again.status, again.error_code) == (401, "unauthenticated"), "the token was not spent"
        user = emulator.get("users", {"email": ctx.account.email})
        assert not user.get("second_factor_failures"), "the second-factor counter was not reset"
    return check


def _code_field(ctx: Ctx) -> dict[str, str]:
    return {ctx.extra["field"]: ctx.code}


def _second_factor_claim_given_back(index: int, changes: Changes, ctx: Ctx) -> None:
    """A right code: the claim on the account's counter is given back whichever call failed,
    and nothing else changed (the token unused, the code unspent)."""
    assert pop_counter(changes, "users", ctx.account.email, "second_factor_failures") == 0


def _prepare_second_factor(method: str, client: str = "browser") -> Callable:
    def prepare(api, clock, emulator: Emulator) -> Ctx:
        if method == "sms":
            ctx = with_phone(api, clock, emulator)
            ctx.token = login_token(api, ctx, client)
            assert api.post("/api/login/sms", {"login_token": ctx.token}).status == 202
            ctx.code, ctx.extra["field"] = sms.last_code(endpoint(), ctx.phone), "sms_code"
            return ctx
        ctx = with_two_factor(api, clock)
        ctx.token = login_token(api, ctx, client)
        if method == "totp":
            ctx.code, ctx.extra["field"] = rfc6238.totp(ctx.two_factor.secret), "code"
        elif method == "wrong":
            right = rfc6238.totp(ctx.two_factor.secret)
            ctx.code, ctx.extra["field"] = f"{(int(right) + 1) % 10**6:06d}", "code"
        else:
            ctx.code, ctx.extra["field"] = ctx.two_factor.recovery_codes[0], "recovery_code"
        return ctx
    return prepare


def _verify(api, ctx: Ctx) -> Answer:
    return api.post("/api/login/verify", {"login_token": ctx.token, **_code_field(ctx)})


def _prepare_key(passkey: bool) -> Callable:
    """An account whose factor is a security key (or a passkey), and the answer its software
    authenticator gives to the second step's challenge (or to a passkey sign-in's)."""
    def prepare(api, clock, emulator: Emulator) -> Ctx:
        from tests.factors.webauthn.helpers import add_key, key_challenge, passkey_options

        ctx = new_ctx(api)
        key, _ = add_key(api, ctx.account, passkey=passkey)
        if passkey:
            ctx.token, public_key = passkey_options(api)
        else:
            ctx.token = login_token(api, ctx)
            public_key = key_challenge(api, ctx.token)
        ctx.code, ctx.extra["field"] = key.get(public_key), "webauthn"
        return ctx
    return prepare


def _passkey_sign_in(api, ctx: Ctx) -> Answer:
    return api.post("/api/login/passkey", {"passkey_token": ctx.token, "credential": ctx.code})


def _passkey_signed_in(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    _login_succeeded("browser")(api, ctx, answer, emulator)
    logins = [e for e in event_types(emulator, ctx) if e == "login"]
    assert len(logins) == 1, logins
    again = _passkey_sign_in(api, ctx)
    assert (again.status, again.error_code) == (401, "unauthenticated"), "the passkey token was not spent"


def _wrong_code_after_fault(index: int, changes: Changes, ctx: Ctx) -> None:
    gained = pop_counter(changes, "users", ctx.account.email, "second_factor_failures")
    examined = index >= 5  # token (1), claim (2), factors (3), secret (4) come first; 5 logs it
    assert gained == (1 if examined else 0), f"the second-factor counter gained {gained}"


def _wrong_code_succeeded(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    assert (answer.status, answer.error_code) == (401, "invalid_code"), answer.body
    assert "two_factor_failed" in event_types(emulator, ctx)
    right = api.post("/api/login/verify", {"login_token": ctx.token, "code": rfc6238.totp(ctx.two_factor.secret)})
    assert right.status in (200, 429), right.body  # the token still works (behind the backoff, if any)


def _authorization_succeeded(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    assert answer.status == 201, answer.body
    token = answer.body["access_token"]["token"]
    assert api.get("/account", bearer=token, headers=HEROKU_ACCEPT).status == 200
    assert not emulator.get("ephemeral", {"pk": f"pw#{ctx.account.email}"})


def _authorization_two_factor_required(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    assert answer.status == 403 and answer.body["id"] == "two_factor", answer.body
    item = emulator.get("ephemeral", {"pk": f"pw#{ctx.account.email}"})
    assert not (item or {}).get("failures"), "a right password was left counted"


def _heroku_code_claims_given_back(index: int, changes: Changes, ctx: Ctx) -> None:
    _password_claim_given_back(index, changes, ctx)
    _second_factor_claim_given_back(index, changes, ctx)


def _prepare_heroku_code(api, clock, emulator: Emulator) -> Ctx:
    ctx = with_two_factor(api, clock)
    ctx.code = rfc6238.totp(ctx.two_factor.secret)
    return ctx


def _setup_succeeded(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    assert answer.status == 200 and answer.body["secret"] and answer.body["authenticator_id"], answer.body
    confirmed = api.post("/api/account/two-factor/confirm",
                         {"authenticator_id": answer.body["authenticator_id"], "code": rfc6238.totp(answer.body["secret"])},
                         cookie=ctx.account.cookie)
    assert confirmed.status == 200, confirmed.body


def _reentry_claim_given_back(index: int, changes: Changes, ctx: Ctx) -> None:
    """The password re-entered for the action was right: its claim is given back (or reset)."""
    assert pop_counter(changes, "users", ctx.account.email, "reentry_failures") == 0


def _prepare_confirm(api, clock, emulator: Emulator) -> Ctx:
    ctx = new_ctx(api)
    ctx.api_key = api.api_key(ctx.account)
    ctx.other_cookie = login(api, ctx.account).cookie
    setup = api.post("/api/account/two-factor/setup", {"password": ctx.account.password}, cookie=ctx.account.cookie)
    assert setup.status == 200, setup.body
    ctx.extra.update(authenticator_id=setup.body["authenticator_id"], secret=setup.body["secret"])
    return ctx


def _confirm(api, ctx: Ctx) -> Answer:
    return api.post("/api/account/two-factor/confirm",
                    {"authenticator_id": ctx.extra["authenticator_id"], "code": rfc6238.totp(ctx.extra["secret"])},
                    cookie=ctx.account.cookie)


def _confirm_after_fault(index: int, changes: Changes, ctx: Ctx) -> None:
    """Read through the API too: two-factor still off, the API key and every session still
    working (none ended), no recovery codes."""
    # (changes must already be empty; the API checks are in `_confirm_not_done`)


def _confirm_succeeded(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    assert answer.status == 200 and answer.body["enabled"] is True, answer.body
    assert len(answer.body["recovery_codes"]) == 10 and answer.body["api_key"] != ctx.api_key
    assert works(api, bearer=answer.body["api_key"]) and works(api, cookie=ctx.account.cookie)
    for old in ({"bearer": ctx.api_key}, {"cookie": ctx.other_cookie}):
        assert api.get("/api/account", **old).error_code == "session_revoked", old
    status = api.get("/api/account", cookie=ctx.account.cookie).body["two_factor"]
    assert status["enabled"] is True and status["recovery_codes_remaining"] == 10


def _confirm_not_done(api, ctx: Ctx) -> None:
    status = api.get("/api/account", cookie=ctx.account.cookie).body["two_factor"]
    assert status["enabled"] is False, status
    assert works(api, bearer=ctx.api_key), "the API key changed or stopped working"
    assert works(api, cookie=ctx.other_cookie), "another session was ended"
    assert api.get("/api/account/two-factor/authenticators", cookie=ctx.account.cookie).body == {"authenticators": []}


def _prepare_phone_add(api, clock, emulator: Emulator) -> Ctx:
    ctx = with_two_factor(api, clock)
    ctx.phone = fresh_number()
    ctx.number_key = emulator.number_key(ctx.phone)
    return ctx


def _phone_add(api, ctx: Ctx) -> Answer:
    return api.post("/api/account/phone", {"phone": ctx.phone, "password": ctx.account.password},
                    cookie=ctx.account.cookie)


PHONE_PUBLISH = 8


def _phone_add_after_fault(index: int, changes: Changes, ctx: Ctx) -> None:
    """Up to the transaction that claims the caps, nothing. Once SNS was asked: the caps stay
    claimed (the text may have gone), the pending phone is taken back, and the log says
    `phone_added` (the attempt, made with the password) and `sms_failed`."""
    _reentry_claim_given_back(index, changes, ctx)
    if index == PHONE_PUBLISH:
        assert pop_caps(changes) == SMS_CAPS
        assert pop_events(changes) == ["phone_added", "sms_failed"]


def _phone_add_succeeded(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    assert answer.status == 202 and answer.body["phone_hint"].endswith(ctx.phone[-2:]), answer.body
    status = api.get("/api/account", cookie=ctx.account.cookie).body["two_factor"]["phone"]
    assert status == {"hint": answer.body["phone_hint"], "verified": False}
    code = sms.last_code(endpoint(), ctx.phone)
    verified = api.post("/api/account/phone/verify", {"code": code}, cookie=ctx.account.cookie)
    assert verified.status == 200, verified.body


def _prepare_login_sms(api, clock, emulator: Emulator) -> Ctx:
    ctx = with_phone(api, clock, emulator)
    ctx.token = login_token(api, ctx)
    return ctx


def _login_sms(api, ctx: Ctx) -> Answer:
    return api.post("/api/login/sms", {"login_token": ctx.token})


LOGIN_SMS_PUBLISH = 7


def _login_sms_after_fault(index: int, changes: Changes, ctx: Ctx) -> None:
    """Once SNS was asked: the caps stay claimed, the code stays on the token (nobody knows
    it: no text arrived), `sms_failed` is logged; the token itself is as it was."""
    if index == LOGIN_SMS_PUBLISH:
        assert pop_caps(changes) == SMS_CAPS
        assert pop_events(changes) == ["sms_failed"]
        token = [k for k in changes if k[0] == "ephemeral" and k[1].startswith("login#")]
        assert len(token) == 1, changes
        old, new = changes.pop(token[0])
        assert changed_attributes(old, new) == {"challenges"}, (old, new)
        assert set(new["challenges"]) == {"sms"} and set(new["challenges"]["sms"]) == {"code_hash", "sent_at", "phone_id"}
        assert new.get("used_at") is None


def _login_sms_succeeded(api, ctx: Ctx, answer: Answer, emulator: Emulator) -> None:
    assert answer.status == 202 and answer.body["phone_hint"].endswith(ctx.phone[-2:]), answer.body
    code = sms.last_code(endpoint(), ctx.phone)
    verified = api.post("/api/login/verify", {"login_token": ctx.token, "sms_code": code})
    assert verified.status == 200 and verified.cookie, verified.body


SMS_SENT_LOG = "the `sms_sent` log line after SNS took the text: the text has gone, so the answer is a success"

LOGIN = ("dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:TransactWriteItems")
SECOND_FACTOR_TOTP = ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:TransactGetItems", "kms:Decrypt",
                      "dynamodb:TransactWriteItems")
AUTHENTICATE = ("dynamodb:GetItem", "dynamodb:GetItem")  # the session, the user
REENTRY = ("dynamodb:UpdateItem", "dynamodb:UpdateItem")  # the claim on the re-entry counter, its reset

FLOWS = [
    Flow("login_browser", LOGIN,
         lambda api, clock, emulator: new_ctx(api), lambda api, ctx: login(api, ctx.account),
         _login_succeeded("browser"), _password_claim_given_back),
    Flow("login_cli", ("dynamodb:UpdateItem", "dynamodb:GetItem", "kms:Decrypt", "dynamodb:TransactWriteItems"),
         lambda api, clock, emulator: new_ctx(api), lambda api, ctx: login(api, ctx.account, "cli"),
         _login_succeeded("cli"), _password_claim_given_back),
    Flow("login_wrong_password", ("dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem"),
         lambda api, clock, emulator: new_ctx(api),
         lambda api, ctx: login(api, ctx.account, password="not the password at all"),
         _wrong_password_succeeded, _wrong_password_after_fault),
    Flow("login_two_factor", LOGIN,
         lambda api, clock, emulator: with_two_factor(api, clock), lambda api, ctx: login(api, ctx.account),
         _two_factor_required, _password_claim_given_back),
    Flow("second_factor_totp", SECOND_FACTOR_TOTP,
         _prepare_second_factor("totp"), _verify, _second_factor_succeeded("browser", "totp"),
         _second_factor_claim_given_back),
    Flow("second_factor_totp_cli", SECOND_FACTOR_TOTP[:4] + ("kms:Decrypt", "dynamodb:TransactWriteItems"),
         _prepare_second_factor("totp", "cli"), _verify, _second_factor_succeeded("cli", "totp"),
         _second_factor_claim_given_back),
    Flow("second_factor_recovery_code",
         ("dynamodb:GetItem", "dynamodb:UpdateItem", "kms:GenerateMac", "dynamodb:TransactGetItems",
          "dynamodb:TransactWriteItems"),
         _prepare_second_factor("recovery"), _verify, _second_factor_succeeded("browser", "recovery_code"),
         _second_factor_claim_given_back),
    Flow("second_factor_sms", ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:TransactWriteItems"),
         _prepare_second_factor("sms"), _verify, _second_factor_succeeded("browser", "sms"),
         _second_factor_claim_given_back),
    Flow("second_factor_webauthn", ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:TransactWriteItems"),
         _prepare_key(passkey=False), _verify, _second_factor_succeeded("browser", "webauthn"),
         _second_factor_claim_given_back),
    Flow("passkey_sign_in", ("dynamodb:TransactGetItems", "dynamodb:GetItem", "dynamodb:TransactWriteItems"),
         _prepare_key(passkey=True), _passkey_sign_in, _passkey_signed_in),
    Flow("second_factor_wrong_code", SECOND_FACTOR_TOTP,
         _prepare_second_factor("wrong"), _verify, _wrong_code_succeeded, _wrong_code_after_fault),
    Flow("heroku_authorization", LOGIN,
         lambda api, clock, emulator: new_ctx(api), lambda api, ctx: heroku_authorize(api, ctx.account),
         _authorization_succeeded, _password_claim_given_back, heroku=True),
    Flow("heroku_authorization_code_missing", LOGIN,
         lambda api, clock, emulator: with_two_factor(api, clock), lambda api, ctx: heroku_authorize(api, ctx.account),
         _authorization_two_factor_required, _password_claim_given_back, heroku=True),
    Flow("heroku_authorization_with_code",
         ("dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:TransactGetItems", "kms:Decrypt",
          "dynamodb:TransactWriteItems"),
         _prepare_heroku_code, lambda api, ctx: heroku_authorize(api, ctx.account, ctx.code),
         _authorization_succeeded, _heroku_code_claims_given_back, heroku=True),
    Flow("two_factor_setup", AUTHENTICATE + REENTRY + ("kms:Encrypt", "dynamodb:PutItem"),
         lambda api, clock, emulator: new_ctx(api),
         lambda api, ctx: api.post("/api/account/two-factor/setup", {"password": ctx.account.password},
                                   cookie=ctx.account.cookie),
         _setup_succeeded, _reentry_claim_given_back),
    Flow("confirm_two_factor",
         AUTHENTICATE + ("dynamodb:GetItem", "kms:Decrypt", "kms:Encrypt") + ("kms:GenerateMac",) * 10
         + ("kms:Encrypt", "dynamodb:TransactWriteItems"),
         _prepare_confirm, _confirm, _confirm_succeeded, _confirm_after_fault),
    Flow("phone_setup_send",
         AUTHENTICATE + REENTRY + ("kms:Encrypt", "kms:GenerateMac", "dynamodb:TransactWriteItems", "sns:Publish",
                                   "dynamodb:PutItem"),
         _prepare_phone_add, _phone_add, _phone_add_succeeded, _phone_add_after_fault,
         absorbed={9: SMS_SENT_LOG}, caps_claimed=lambda index: index >= PHONE_PUBLISH),
    Flow("login_sms_send",
         ("dynamodb:GetItem", "dynamodb:GetItem", "dynamodb:GetItem", "kms:Decrypt", "kms:GenerateMac",
          "dynamodb:TransactWriteItems", "sns:Publish", "dynamodb:PutItem"),
         _prepare_login_sms, _login_sms, _login_sms_succeeded, _login_sms_after_fault,
         absorbed={8: SMS_SENT_LOG}, caps_claimed=lambda index: index >= LOGIN_SMS_PUBLISH),
]
BY_NAME = {flow.name: flow for flow in FLOWS}
RECOVERY_MACS = range(6, 16)  # confirm_two_factor's ten GenerateMac calls


def _kinds(flow: Flow, index: int) -> tuple[str, ...]:
    kinds = kinds_for(flow.call(index))
    if flow.name == "confirm_two_factor" and index in RECOVERY_MACS[1:-1]:
        return (KINDS[index % len(KINDS)],)  # the sampled middle of the ten identical calls
    if index in (1, len(flow.calls)) or flow.call(index).service == "sns" or index in flow.absorbed:
        return kinds
    # A DynamoDB or KMS call in the middle of a flow: one kind, in rotation along the flow,
    # and a transaction's cancellation. The product tells the kinds apart in one place
    # (aws.unavailable), which tests/unit/test_aws_faults.py checks for every kind at every
    # service and operation; what this matrix adds is what each call leaves behind.
    return (KINDS[index % len(KINDS)],) + tuple(kind for kind in kinds if kind not in KINDS)


CASES = [pytest.param(flow.name, index, kind, id=f"{flow.name}-{index}-{flow.call(index).operation}-{kind}")
         for flow in FLOWS for index in range(1, len(flow.calls) + 1) for kind in _kinds(flow, index)]


# --- the tests -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", [flow.name for flow in FLOWS])
def test_each_flow_makes_the_calls_it_declares(api, clock, emulator, name):
    """The census: the flow, run once with the counter, makes exactly the calls the matrix
    fails one by one (and goes through)."""
    flow = BY_NAME[name]
    ctx = flow.prepare(api, clock, emulator)
    with Faults() as faults:
        answer = flow.run(api, ctx)
    assert tuple(str(call) for call in faults.calls) == flow.calls, (
        f"{name} now calls {[str(c) for c in faults.calls]}: update its Flow.calls")
    flow.succeeded(api, ctx, answer, emulator)


@pytest.mark.parametrize("name,index,kind", CASES)
def test_a_fault_answers_503_and_leaves_nothing_half_done(api, clock, emulator, caplog, name, index, kind):
    flow = BY_NAME[name]
    ctx = flow.prepare(api, clock, emulator)
    before = snapshot(emulator, ctx)

    caplog.clear()
    with Faults().fail(index, kind) as faults:
        answer = flow.run(api, ctx)
    assert faults.injected == flow.call(index), f"call {index} was {faults.injected}, not {flow.calls[index - 1]}"
    assert tuple(str(c) for c in faults.calls[:index]) == flow.calls[:index]  # then the fault's own path
    after = snapshot(emulator, ctx)
    changes = changes_between(before, after)

    if index in flow.absorbed:
        flow.succeeded(api, ctx, answer, emulator)
    else:
        assert_unavailable(answer, flow.heroku)
        assert_fault_logged(caplog, kind, faults.injected)
        flow.after_fault(index, changes, ctx)
        assert not changes, f"half done after a {kind} at {flow.call(index)} (call {index}):\n{pprint.pformat(changes)}"
        if ctx.phone and not flow.caps_claimed(index):
            assert after.get(("sns", ctx.phone)) == before.get(("sns", ctx.phone)), "a text went out"
        if flow.name == "confirm_two_factor":
            _confirm_not_done(api, ctx)

    if index in flow.absorbed:
        return  # it succeeded, and `succeeded` went on to use what it made: nothing is left stuck

    # Nothing left stuck: the same flow again, with no fault, answers as it would have.
    if flow.caps_claimed(index):
        clock.shift(SMS_GAP)  # the caps claimed by the attempt that reached SNS
        if ctx.account is not None and ctx.account.cookie:
            # the shift may make the session due its once-a-minute last_seen_at refresh:
            # let that happen outside the counted run, which must be the flow's own calls
            assert api.get("/api/account", cookie=ctx.account.cookie).status == 200
    with Faults() as again:
        retried = flow.run(api, ctx)
    assert tuple(str(c) for c in again.calls) == flow.calls
    flow.succeeded(api, ctx, retried, emulator)


def assert_fault_logged(caplog, kind: str, call) -> None:
    """The 503's log line names what failed: botocore's error type, or the service's code."""
    from tests.faults import SERVER_ERROR_CODES, THROTTLE_CODES

    marker = {"timeout": "ReadTimeoutError", "unreachable": "EndpointConnectionError",
              "throttle": f"({THROTTLE_CODES.get(call.service)})",
              "server_error": f"({SERVER_ERROR_CODES.get(call.service)})",
              "cancelled": "(TransactionCanceledException)"}[kind]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("a service behind us failed")]
    assert any(marker in line for line in lines), f"no log line names {marker}: {lines}"


# --- botocore's own retry loop -------------------------------------------------------------

def _worst_case(service: str) -> float:
    from tests.unit.test_aws_faults import worst_case_seconds

    return worst_case_seconds(service)


def test_botocore_retries_an_unreachable_endpoint_then_answers_503(api, monkeypatch):
    """A stage pointed at a closed port: every attempt is refused; botocore makes exactly
    aws.ATTEMPTS of them, then the request answers 503 well inside the bound."""
    from chalicelib import aws
    from local.launch import free_port

    account = api.signup()
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("TWOSTEP_AWS_ENDPOINT", closed)
    attempts = HttpAttempts(closed)
    started = time.monotonic()
    with attempts.counting():
        answer = login(api, account)
    elapsed = time.monotonic() - started
    assert_unavailable(answer, heroku=False)
    assert len(attempts.sent) == aws.ATTEMPTS
    assert elapsed < _worst_case("dynamodb")
    monkeypatch.undo()
    assert login(api, account).status == 200


def test_botocore_retries_a_throttle_then_answers_503(api):
    """DynamoDB throttles every attempt of the login's first call (answered below botocore's
    retry loop, at `before-send`): exactly aws.ATTEMPTS attempts with botocore's backoff,
    then 503; the claim never reached the table."""
    from chalicelib import aws

    account = api.signup()
    throttled: list[float] = []

    def throttle(request, **_):
        throttled.append(time.monotonic())
        return throttled_response(request)

    events = aws.client("dynamodb").meta.events
    events.register("before-send.dynamodb.UpdateItem", throttle, unique_id="test-faults-throttle")
    started = time.monotonic()
    try:
        answer = login(api, account)
    finally:
        events.unregister("before-send.dynamodb.UpdateItem", unique_id="test-faults-throttle")
    elapsed = time.monotonic() - started
    assert_unavailable(answer, heroku=False)
    assert len(throttled) == aws.ATTEMPTS
    assert elapsed < _worst_case("dynamodb")
    emulator = Emulator()
    assert not (emulator.get("ephemeral", {"pk": f"pw#{account.email}"}) or {}).get("failures")
    assert login(api, account).status == 200


def test_botocore_absorbs_a_throttle_that_passes(api):
    """One throttled attempt, then the table answers: botocore's retry hides it and the
    login goes through, claimed once."""
    from chalicelib import aws

    account = api.signup()
    throttled: list[float] = []

    def throttle_once(request, **_):
        if not throttled:
            throttled.append(time.monotonic())
            return throttled_response(request)
        return None

    events = aws.client("dynamodb").meta.events
    events.register("before-send.dynamodb.UpdateItem", throttle_once, unique_id="test-faults-throttle-once")
    try:
        with Faults() as faults:
            answer = login(api, account)
    finally:
        events.unregister("before-send.dynamodb.UpdateItem", unique_id="test-faults-throttle-once")
    assert answer.status == 200 and answer.cookie, answer.body
    assert len(throttled) == 1
    assert tuple(str(c) for c in faults.calls) == LOGIN  # one call, retried inside botocore


def test_a_commit_botocore_retries_is_the_same_idempotent_transaction(api):
    """A timeout can hide a TransactWriteItems that DynamoDB applied; botocore then sends it
    again. Only a ClientRequestToken makes that retry idempotent (DynamoDB answers the
    first outcome for ten minutes) instead of failing the transaction's own conditions,
    which would answer 409 or 500 for a change that was made. botocore fills one in for
    every call (the service model marks it an idempotency token) and resends it on its
    retries: this keeps it so. (moto ignores the token, so the idempotent outcome itself
    cannot be shown here: on the emulator a retried commit that had been applied fails its
    conditions.)"""
    from chalicelib import aws

    account = api.signup()
    sent: list[str | None] = []

    def first_attempt_throttled(request, **_):
        body = json.loads(request.body.decode() if isinstance(request.body, bytes) else request.body)
        sent.append(body.get("ClientRequestToken"))
        return throttled_response(request) if len(sent) == 1 else None

    events = aws.client("dynamodb").meta.events
    events.register("before-send.dynamodb.TransactWriteItems", first_attempt_throttled, unique_id="test-faults-token")
    try:
        first = login(api, account)
        second = login(api, account)
    finally:
        events.unregister("before-send.dynamodb.TransactWriteItems", unique_id="test-faults-token")
    assert first.status == 200 and second.status == 200, (first.body, second.body)
    assert len(sent) == 3  # the first login's two attempts, the second login's one
    assert sent[0] and sent[0] == sent[1], "botocore's retry must resend the transaction's token"
    assert sent[2] and sent[2] != sent[0], "each commit is a transaction of its own"
