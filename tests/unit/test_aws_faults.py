"""What counts as a fault of a service behind us (`aws.unavailable`), and the retry budget
(`aws.client_config`): bounded so that a call that keeps failing answers 503 well inside
the Lambda function's timeout."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pynamodb.exceptions import (
    DeleteError,
    GetError,
    PutError,
    QueryError,
    TransactGetError,
    TransactWriteError,
    UpdateError,
)

from chalicelib import aws

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("dynamodb", "kms", "sns", "sesv2")
# Of the Lambda timeout, how much one call that keeps failing may take: the rest is for the
# request's other calls and the write that gives a claim back before it answers 503.
SHARE_OF_THE_TIMEOUT = 0.75


def client_error(code: str, status: int = 400, operation: str = "GetItem", **extra) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code},
                        "ResponseMetadata": {"HTTPStatusCode": status}, **extra}, operation)


def wrapped_as_pynamodb(exc: Exception, kind: type = GetError) -> Exception:
    """As PynamoDB raises it: botocore's ClientError becomes a VerboseClientError (raised
    from the original), kept as the `cause` of GetError, TransactWriteError and the rest."""
    from pynamodb.connection.base import VerboseClientError

    cause = exc
    if isinstance(exc, ClientError):
        try:
            try:
                raise exc
            except ClientError as original:
                raise VerboseClientError({"Error": original.response.get("Error", {})}, original.operation_name,
                                         {"request_id": "", "table_name": "t"},
                                         cancellation_reasons=()) from original
        except VerboseClientError as verbose:
            cause = verbose
    return kind("failed", cause)


FAULTS = [
    client_error("ProvisionedThroughputExceededException"),
    client_error("ThrottlingException"),
    client_error("RequestLimitExceeded"),
    client_error("ThrottlingException", operation="Decrypt"),
    client_error("Throttling", operation="Publish"),
    client_error("TooManyRequestsException", 429, operation="SendEmail"),
    client_error("InternalServerError", 500),
    client_error("KMSInternalException", 500, operation="Decrypt"),
    client_error("InternalError", 500, operation="Publish"),
    client_error("ServiceUnavailable", 503),
    client_error("SomethingNew", 502),  # any 5xx, named or not
    client_error("KeyUnavailableException", 500, operation="Decrypt"),
    client_error("DependencyTimeoutException", 503, operation="Decrypt"),
    client_error("TransactionInProgressException"),
    ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://kms.eu-west-1.amazonaws.com"),
    EndpointConnectionError(endpoint_url="https://sns.eu-west-1.amazonaws.com"),
]
NOT_FAULTS = [
    client_error("ConditionalCheckFailedException"),
    client_error("ValidationException"),
    client_error("ResourceNotFoundException"),
    client_error("AccessDeniedException", operation="Decrypt"),
    client_error("InvalidCiphertextException", operation="Decrypt"),
    client_error("OptedOut", operation="Publish"),
    client_error("InvalidParameter", operation="Publish"),
    client_error("TransactionCanceledException", operation="TransactWriteItems",
                 CancellationReasons=[{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]),
    ValueError("not a service"),
    None,
]


def _id(exc) -> str:
    if isinstance(exc, ClientError):
        return exc.response["Error"]["Code"]
    return type(exc).__name__


@pytest.mark.parametrize("exc", FAULTS, ids=_id)
def test_throttles_5xx_timeouts_and_unreachable_endpoints_are_faults(exc):
    assert aws.unavailable(exc)


@pytest.mark.parametrize("kind", [GetError, PutError, UpdateError, DeleteError, QueryError, TransactGetError,
                                  TransactWriteError])
@pytest.mark.parametrize("exc", FAULTS, ids=_id)
def test_faults_wrapped_in_pynamodbs_exceptions_are_faults(exc, kind):
    assert aws.unavailable(wrapped_as_pynamodb(exc, kind))


def test_a_fault_raised_while_handling_another_error_is_found():
    """`raise X from fault` and an exception raised inside `except fault:` both count."""
    from chalicelib.errors import ServiceUnavailable

    try:
        try:
            raise ReadTimeoutError(endpoint_url="https://dynamodb")
        except ReadTimeoutError:
            raise RuntimeError("while handling it")
    except RuntimeError as during:
        assert aws.unavailable(during)
    try:
        raise ServiceUnavailable() from wrapped_as_pynamodb(client_error("ThrottlingException"), TransactWriteError)
    except ServiceUnavailable as chained:
        assert aws.unavailable(chained)


@pytest.mark.parametrize("exc", NOT_FAULTS, ids=_id)
def test_answers_about_the_request_are_not_faults(exc):
    assert not aws.unavailable(exc)
    if exc is not None:
        assert not aws.unavailable(wrapped_as_pynamodb(exc, TransactWriteError))


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
                                    "RequestLimitExceeded"])
@pytest.mark.parametrize("operation", ["TransactWriteItems", "TransactGetItems"])
def test_a_transaction_cancelled_for_a_throttle_or_a_conflict_is_a_fault(reason, operation):
    """DynamoDB reports a throttle or a conflict inside a transaction as a cancellation whose
    reasons name no failed condition (both TransactWriteItems and TransactGetItems)."""
    exc = client_error("TransactionCanceledException", operation=operation,
                       CancellationReasons=[{"Code": "None"}, {"Code": reason}])
    assert aws.unavailable(exc)
    assert aws.unavailable(wrapped_as_pynamodb(exc, TransactGetError))


def test_a_cancellation_with_a_failed_condition_is_an_answer_even_beside_a_conflict():
    exc = client_error("TransactionCanceledException", operation="TransactWriteItems",
                       CancellationReasons=[{"Code": "ConditionalCheckFailed"}, {"Code": "TransactionConflict"}])
    assert not aws.unavailable(exc)


# --- the retry budget ----------------------------------------------------------------------

def lambda_timeout() -> float:
    return float(json.loads((REPO / ".chalice" / "config.json").read_text())["lambda_timeout"])


def worst_case_seconds(service: str) -> float:
    """The longest one call can take before botocore gives up, as botocore's standard
    retry mode computes its waits (botocore/retries/standard.py ExponentialBackoff): every
    attempt takes its connect and read timeouts in full, and before each retry botocore
    sleeps its throttling backoff at its largest (rand(0, 1) = 1, base 1 s doubling, capped),
    raised by up to `_RETRY_AFTER_MAX_ADDITIONAL` seconds more when the service's answer
    carries `x-amz-retry-after`."""
    from botocore.retries.standard import ExponentialBackoff

    config = aws.client_config(service)
    attempts = config.retries["total_max_attempts"]
    per_attempt = config.connect_timeout + config.read_timeout
    scale = max(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG.values())
    backoff = sum(min(scale * ExponentialBackoff._BASE ** (retry - 1), ExponentialBackoff._MAX_BACKOFF)
                  + ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL
                  for retry in range(1, attempts))
    return attempts * per_attempt + backoff


@pytest.mark.parametrize("service", SERVICES)
def test_each_client_has_bounded_retries_and_the_stated_timeouts(service):
    config = aws.client_config(service)
    assert config.retries["mode"] in ("standard", "adaptive")
    assert config.retries["total_max_attempts"] == aws.ATTEMPTS
    assert 1 <= aws.ATTEMPTS <= 3
    assert config.connect_timeout == aws.CONNECT_TIMEOUT
    assert config.read_timeout == aws.READ_TIMEOUT[service]


@pytest.mark.parametrize("service", SERVICES)
def test_the_clients_botocore_builds_keep_the_budget(service):
    """What botocore made of the config: the standard-mode retry handler it registered
    stops at ATTEMPTS (botocore internals, so a botocore upgrade that moves them shows here)."""
    import botocore.session

    session = botocore.session.get_session()
    client = session.create_client(service, region_name="eu-west-1", config=aws.client_config(service),
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
    assert client.meta.config.retries["total_max_attempts"] == aws.ATTEMPTS
    assert client.meta.config.connect_timeout == aws.CONNECT_TIMEOUT
    assert client.meta.config.read_timeout == aws.READ_TIMEOUT[service]
    retry_handler = client.meta.events._emitter._unique_id_handlers[
        f"retry-config-{client.meta.service_model.service_id.hyphenize()}"]["handler"].__self__
    checker = retry_handler._retry_policy._retry_checker._max_attempts_checker
    assert checker._max_attempts == aws.ATTEMPTS


@pytest.mark.parametrize("service", SERVICES)
def test_one_call_that_keeps_failing_answers_well_inside_the_lambda_timeout(service):
    worst = worst_case_seconds(service)
    budget = SHARE_OF_THE_TIMEOUT * lambda_timeout()
    assert worst <= budget, (f"{service}: {aws.ATTEMPTS} attempts can take {worst:.1f} s, more than "
                             f"{budget:.1f} s of the {lambda_timeout():.0f} s Lambda timeout")


def test_the_backoff_model_is_botocores():
    """The waits `worst_case_seconds` adds up are the ones botocore sleeps: the throttling
    backoff at its largest, raised by a service's x-amz-retry-after up to 5 s more."""
    from botocore.retries.standard import ExponentialBackoff

    class Throttling:
        def is_throttling_error_from_context(self, context):
            return True

    backoff = ExponentialBackoff(random=lambda: 1.0, service_name="dynamodb", throttling_detector=Throttling())
    plain = SimpleNamespace(attempt_number=2, http_response=SimpleNamespace(headers={}))
    assert backoff.delay_amount(plain) == 2.0
    asked = SimpleNamespace(attempt_number=2, http_response=SimpleNamespace(headers={"x-amz-retry-after": "60000"}))
    assert backoff.delay_amount(asked) == 2.0 + ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_emulator_gets_the_longer_read_timeout(service, monkeypatch):
    """The emulator answers one request at a time, so a call in a burst waits behind the
    others; real AWS keeps the stated timeout."""
    monkeypatch.setenv("TWOSTEP_STAGE", "local")
    monkeypatch.setenv("TWOSTEP_AWS_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setattr(aws, "_clients", {})  # this client is not kept for the tests after
    emulated = aws.client(service)
    assert emulated.meta.config.read_timeout == aws.EMULATOR_READ_TIMEOUT
    assert emulated.meta.config.retries["total_max_attempts"] == aws.ATTEMPTS
    assert aws.client_config(service).read_timeout == aws.READ_TIMEOUT[service] < aws.EMULATOR_READ_TIMEOUT


def test_a_faults_log_name_is_the_botocore_error_it_wraps_and_its_code_never_its_message():
    timeout = wrapped_as_pynamodb(ReadTimeoutError(endpoint_url="https://dynamodb"), TransactWriteError)
    assert aws.fault_name(timeout) == "TransactWriteError: ReadTimeoutError"
    throttled = wrapped_as_pynamodb(client_error("ThrottlingException", 400), UpdateError)
    assert aws.fault_name(throttled) == "UpdateError: VerboseClientError (ThrottlingException)"
    assert aws.fault_name(client_error("KMSInternalException", 500)) == "ClientError (KMSInternalException)"
    assert aws.fault_name(RuntimeError("no botocore inside")) == "RuntimeError"
