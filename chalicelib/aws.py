"""Lazy AWS clients and the KMS helpers.

Clients are built on first use (never at import time) with botocore directly: PynamoDB
already loads botocore, and boto3 would add its import cost to every cold start. In local
mode every client is pinned to the emulator with dummy credentials, so a laptop whose
environment holds real credentials never reaches AWS from here.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from chalicelib.config import aws_target, settings

# botocore's DEBUG logging prints request bodies (ciphertexts, plaintexts sent to KMS,
# SMS texts). It stays off in every stage, whatever the root logger's level.
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}

_clients: dict[tuple[str, str, str | None], Any] = {}
_sessions = threading.local()
_lock = threading.Lock()


def botocore_session() -> Any:
    """One botocore session per thread (one in Lambda), shared by our clients and PynamoDB's
    (chalicelib/store/models.py), so the service models and endpoint data are parsed once per
    container rather than once per client. Per thread, because botocore documents client
    creation from one session as unsafe across threads (the local gateway is threaded)."""
    session = getattr(_sessions, "session", None)
    if session is None:
        import botocore.session

        session = _sessions.session = botocore.session.get_session()
    return session


# Bounded retries, so that one call that keeps failing answers well inside the function's
# timeout (20 s): botocore's standard mode (throttles and 5xx retried with jittered backoff),
# 2 attempts in all, a 1 s connect and a 2 s read timeout (3 s for the senders, whose calls
# are slower). Worst case for one call: 2 x (1 + 2) s + at most 1 s of backoff, raised by up
# to 5 s when a service answers with x-amz-retry-after = 12 s (14 s for the senders), after
# which the request answers 503 `unavailable` and the caller retries after Retry-After.
# tests/unit/test_aws_faults.py recomputes this from botocore's own backoff.
ATTEMPTS = 2
CONNECT_TIMEOUT = 1
READ_TIMEOUT = {"dynamodb": 2, "kms": 2, "sns": 3, "sesv2": 3}
# The local emulator (local/emulator.py) answers one request at a time, so that its
# conditional writes are atomic as DynamoDB's are: in a burst of parallel requests a call
# waits its turn behind every other, seconds on a loaded machine, where DynamoDB answers in
# milliseconds. Against it the read timeout is the time to wait for a queue, not a service.
EMULATOR_READ_TIMEOUT = 20


def client_config(service: str, *, emulated: bool = False) -> Any:
    from botocore.config import Config

    return Config(
        retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=EMULATOR_READ_TIMEOUT if emulated else READ_TIMEOUT.get(service, 2),
        # PynamoDB's own choice for DynamoDB: it builds the requests itself, correctly, and
        # validation costs CPU on every call.
        parameter_validation=service != "dynamodb",
    )


def client(service: str) -> Any:
    """A botocore client for `service`, cached per container (clients are thread-safe)."""
    region, endpoint = aws_target()
    key = (service, region, endpoint)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            kwargs: dict[str, Any] = {"region_name": region, "config": client_config(service, emulated=bool(endpoint))}
            if endpoint:
                kwargs["endpoint_url"] = endpoint
                kwargs.update(LOCAL_CREDENTIALS)
            found = botocore_session().create_client(service, **kwargs)
            _clients[key] = found
    return found


# --- KMS -----------------------------------------------------------------------------------
# Every ciphertext is bound to its owner and to its field's purpose by the encryption
# context, so that no ciphertext can be moved to another account or another field. Items
# record which context their ciphertext was made with beside it (`*_context`): absent means
# the first one, `{user_id}` alone, which items written before purposes existed carry; they
# are read with it and rewritten with the current one at their next use.
PURPOSES = ("totp_secret", "api_key", "recovery_codes", "phone")
CONTEXT_USER_ONLY = 1
CONTEXT = 2  # {user_id, purpose}


def _context(user_id: str, purpose: str, version: int | None) -> dict[str, str]:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    if (version or CONTEXT_USER_ONLY) == CONTEXT_USER_ONLY:
        return {"user_id": user_id}
    return {"user_id": user_id, "purpose": purpose}


def encrypt(plaintext: bytes, user_id: str, purpose: str) -> bytes:
    """Encrypt a small secret under the app's KMS key, bound to its owner and its purpose
    (context version CONTEXT, which the caller stores beside the ciphertext)."""
    answer = client("kms").encrypt(
        KeyId=settings().kms_key_id,
        Plaintext=plaintext,
        EncryptionContext=_context(user_id, purpose, CONTEXT),
    )
    return answer["CiphertextBlob"]


def decrypt(ciphertext: bytes, user_id: str, purpose: str, version: int | None) -> bytes:
    """Decrypt a secret for this request only: callers must not keep the result. `version`
    is the context version stored beside the ciphertext."""
    answer = client("kms").decrypt(
        CiphertextBlob=ciphertext,
        KeyId=settings().kms_key_id,
        EncryptionContext=_context(user_id, purpose, version),
    )
    return answer["Plaintext"]


def current(version: int | None) -> bool:
    """Whether a ciphertext was made with the current context (else: rewrite it)."""
    return version == CONTEXT


def generate_mac(message: bytes) -> bytes:
    """HMAC-SHA256 under the recovery-code key, which never leaves KMS."""
    answer = client("kms").generate_mac(
        KeyId=settings().hmac_key_id, Message=message, MacAlgorithm="HMAC_SHA_256"
    )
    return answer["Mac"]


# --- faults of the services behind us -------------------------------------------------------
# Error codes that mean "not now" rather than "no": throttling, the service's own failures,
# timeouts. Anything else a service answers (a refused condition, a bad parameter) is an
# answer about the request, not a fault.
UNAVAILABLE_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "Throttled", "TooManyRequestsException",
    "RequestLimitExceeded", "ProvisionedThroughputExceededException", "LimitExceededException",
    "InternalServerError", "InternalFailure", "InternalError", "InternalServerErrorException",
    "ServiceUnavailable", "ServiceUnavailableException", "KMSInternalException",
    "DependencyTimeoutException", "KeyUnavailableException", "RequestTimeout", "RequestTimeoutException",
    "TransactionInProgressException", "KMSThrottlingException",
})


# Why DynamoDB cancelled a transaction (TransactWriteItems, TransactGetItems), when the
# reason is "not now": a conflicting transaction on an item, or throttling. A cancellation
# that names any other reason (a failed condition) is an answer.
NOT_NOW_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
                             "RequestLimitExceeded"})


def _cancelled_for_now(exc: Any) -> bool:
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
    # PynamoDB's VerboseClientError keeps them parsed, as objects (None for "no reason")
    reasons += [getattr(reason, "code", None) for reason in getattr(exc, "cancellation_reasons", None) or []]
    codes = {code for code in reasons if code and code != "None"}
    return bool(codes) and codes <= NOT_NOW_REASONS


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """`exc` and what it wraps (PynamoDB keeps botocore's error as `cause`), at most 10 deep."""
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
        seen += 1


def unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it wraps) is a service behind us throttling, failing, timing
    out or out of reach."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    for link in _chain(exc):
        if isinstance(link, (ConnectionError, HTTPClientError)):
            return True
        if isinstance(link, ClientError):
            error = link.response.get("Error", {})
            status = link.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            if error.get("Code") in UNAVAILABLE_CODES or int(status) >= 500 or _cancelled_for_now(link):
                return True
    return False


def fault_name(exc: BaseException) -> str:
    """What a log line may say of a fault: `exc`'s type and the botocore error it wraps, with
    its AWS error code (never a message, which may quote the request)."""
    from botocore.exceptions import BotoCoreError, ClientError

    for link in _chain(exc):
        if isinstance(link, ClientError):
            code = link.response.get("Error", {}).get("Code")
            inner = f"{type(link).__name__} ({code})" if code else type(link).__name__
        elif isinstance(link, BotoCoreError):
            inner = type(link).__name__
        else:
            continue
        return inner if link is exc else f"{type(exc).__name__}: {inner}"
    return type(exc).__name__
