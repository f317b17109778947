"""Sending a text message. One small interface, so another provider can be plugged in.

`SnsSender` publishes through Amazon SNS as a Transactional SMS with the configured sender
ID. In local mode `ConsoleSender` also prints every message (it stands in for the phone:
the one place a code may appear in the output) after SNS (moto) has stored it.
"""
from __future__ import annotations

import sys
from typing import Protocol

from chalicelib import aws
from chalicelib.config import settings


class SmsFailed(Exception):
    """The provider refused the message (opted out, an invalid number...); `reason` is safe
    to log (no number, no text). A throttle, a timeout or an unreachable SNS is not a
    refusal: it propagates as the fault it is (503 `unavailable`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SmsSender(Protocol):
    def send(self, number: str, text: str, hint: str) -> None: ...


class SnsSender:
    def send(self, number: str, text: str, hint: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            aws.client("sns").publish(
                PhoneNumber=number,
                Message=text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": settings().sms_sender_id},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            if aws.unavailable(exc):
                raise
            if isinstance(exc, ClientError):
                raise SmsFailed(exc.response.get("Error", {}).get("Code", "ClientError")) from None
            raise SmsFailed(type(exc).__name__) from None


class ConsoleSender(SnsSender):
    def send(self, number: str, text: str, hint: str) -> None:
        super().send(number, text, hint)
        print(f"[sms to {hint}] {text}", file=sys.stderr, flush=True)


def sender() -> SmsSender:
    return ConsoleSender() if settings().local else SnsSender()
