"""The SMS recovery phone of a signed-in account: add, verify, remove."""
from __future__ import annotations

from chalicelib.auth import accounts
from chalicelib.auth.sessions import Principal
from chalicelib.context import Client
from chalicelib.errors import Conflict, NotFound
from chalicelib.factors import sms


def add(principal: Principal, raw_phone: str, country: str | None, password: str, client: Client) -> str:
    user = principal.user
    accounts.require_password(user, password, client, "phone_added")
    if user.two_factor_enabled_at is None:
        raise Conflict("Turn on two-factor with an authenticator app first: the phone is a recovery option.")
    e164, region = sms.parse(raw_phone, country)
    return sms.start_setup(user, e164, region, client)


def verify(principal: Principal, code: str, client: Client) -> str:
    return sms.verify_setup(principal.user, code, client)


def remove(principal: Principal, password: str, client: Client) -> None:
    user = principal.user
    accounts.require_password(user, password, client, "phone_removed")
    if not sms.remove(user, client):
        raise NotFound("There is no phone number on this account.")
