"""The SMS recovery phone of a signed-in account: add, verify, remove."""
from __future__ import annotations

from chalicelib.auth import accounts
from chalicelib.auth.sessions import Principal
from chalicelib.context import Client
from chalicelib.errors import Conflict, NotFound
from chalicelib.factors import sms
from chalicelib.store import events


def add(principal: Principal, raw_phone: str, country: str | None, password: str, client: Client) -> str:
    user = principal.user
    accounts.require_password(user, password, client, "phone_added")
    if user.two_factor_enabled_at is None:
        raise Conflict("Turn on two-factor with an authenticator app first: the phone is a recovery option.")
    e164 = sms.parse(raw_phone, country)

    def failed(reason: str) -> None:
        events.record(user.user_id, "sms_failed", client, {"purpose": "phone_setup", "reason": reason})

    phone_hint = sms.start_setup(user, e164, failed)
    events.record(user.user_id, "phone_added", client, {"phone_hint": phone_hint})
    events.record(user.user_id, "sms_sent", client, {"purpose": "phone_setup"})
    return phone_hint


def verify(principal: Principal, code: str, client: Client) -> str:
    phone_hint = sms.verify_setup(principal.user, code)
    events.record(principal.user.user_id, "phone_verified", client, {"phone_hint": phone_hint})
    return phone_hint


def remove(principal: Principal, password: str, client: Client) -> None:
    user = principal.user
    accounts.require_password(user, password, client, "phone_removed")
    if not sms.remove(user):
        raise NotFound("There is no phone number on this account.")
    events.record(user.user_id, "phone_removed", client)
