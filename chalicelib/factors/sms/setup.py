"""The SMS phone of a signed-in account: add it (a setup code is texted), verify it, remove it.

The number is stored KMS-encrypted; answers show only its last two digits. It is bound only
once the setup code comes back; a new number replaces a pending one, and with it the code
sent to that one. Removing or replacing the phone kills every login code sent to the old
one (`UserModel.phone_id`).
"""
from __future__ import annotations

import hmac
import secrets
from typing import Any

from chalicelib import aws, clock, events, throttle
from chalicelib.auth import accounts
from chalicelib.auth.credentials import Principal
from chalicelib.config import settings
from chalicelib.context import Requester
from chalicelib.errors import Conflict, InvalidCode, NotFound
from chalicelib.factors.contract import digits
from chalicelib.factors.sms import CODE_SECONDS, DIGITS, KIND, PHONE_ID, PURPOSE, code_hash, new_code, send
from chalicelib.factors.sms.numbers import check_country, hint, parse
from chalicelib.store import db, keys
from chalicelib.store.models import FactorModel, UserModel

PENDING_ID = keys.pending("phone")
_NOT_WAITING = "This code has expired or no number is waiting to be verified. Add the number again."


def status(user: UserModel) -> dict[str, Any] | None:
    if user.phone_hint is not None:
        return {"hint": user.phone_hint, "verified": True}
    waiting = pending(user.user_id)
    return None if waiting is None else {"hint": waiting.name, "verified": False}


def pending(user_id: str) -> FactorModel | None:
    item = db.get(FactorModel, user_id, PENDING_ID)
    return item if db.alive(item) else None


def setup_counter(user_id: str) -> throttle.Counter:
    """Wrong setup codes count here, with the second-factor curve; a new send keeps it."""
    return throttle.ephemeral_counter(keys.phone_setup_counter(user_id), throttle.SECOND_FACTOR)


def add(principal: Principal, raw_phone: str, country: str | None, password: str, requester: Requester) -> str:
    """Send a setup code to a new number (POST /api/account/phone)."""
    user = principal.user
    accounts.require_password(user, password, requester, "phone_added")
    if user.two_factor_enabled_at is None:
        raise Conflict("Turn on two-factor with an authenticator app first: the phone is a recovery option.")
    e164, region = parse(raw_phone, country)
    check_country(region, settings().sms_countries)
    code = new_code()
    setup_id = secrets.token_hex(8)
    now = clock.now()
    item = FactorModel(
        user.user_id, PENDING_ID, kind=KIND, name=hint(e164), pending_id=setup_id,
        secret_ciphertext=aws.encrypt(e164.encode(), user.user_id, PURPOSE), secret_context=aws.CONTEXT,
        region=region, code_hash=code_hash(setup_id, code), created_at=now, expires_at=db.ttl(now + CODE_SECONDS),
    )
    added = events.logged(user.user_id, events.PHONE_ADDED, requester, {"phone_hint": hint(e164)})
    send(user.user_id, e164, f"Your twostep setup code is {code}. It expires in 10 minutes.", requester,
         [db.put(item), added], "phone_setup",
         undo=lambda: item.delete(condition=FactorModel.pending_id == setup_id))
    return hint(e164)


def verify(principal: Principal, code: str, requester: Requester) -> str:
    """Bind the pending number. Each attempt claims its place on the setup counter first."""
    user = principal.user
    counter = setup_counter(user.user_id)
    try:
        counted = counter.claim()
    except throttle.CounterRefused as refused:
        raise refused.rate_limited() from None
    try:
        item = pending(user.user_id)
    except Exception as exc:
        if aws.unavailable(exc):
            counter.release()
        raise
    if item is None:
        counter.release()  # nothing to examine: not a guess
        raise InvalidCode(_NOT_WAITING)
    typed = digits(code, DIGITS)
    if typed is None or not hmac.compare_digest(code_hash(item.pending_id, typed), item.code_hash or ""):
        events.record(user.user_id, events.PHONE_VERIFY_FAILED, requester, {"consecutive_failures": counted.failures})
        raise InvalidCode("That code is not valid. Check the latest text message and try again.")
    phone_id = secrets.token_hex(8)
    confirmed = FactorModel(user.user_id, PHONE_ID, kind=KIND, name=item.name, pending_id=phone_id,
                            secret_ciphertext=item.secret_ciphertext, secret_context=item.secret_context,
                            region=item.region, created_at=clock.now())
    db.commit_or([
        db.delete(item, FactorModel.code_hash == item.code_hash),
        db.put(confirmed),
        db.update(user, [UserModel.phone_hint.set(item.name), UserModel.phone_id.set(phone_id)],
                  UserModel.two_factor_enabled_at.exists()),
        db.delete(counter.item),
        events.logged(user.user_id, events.PHONE_VERIFIED, requester, {"phone_hint": item.name}),
    ], lambda failed: InvalidCode(_NOT_WAITING))
    return item.name


def remove(principal: Principal, password: str, requester: Requester) -> None:
    """Forget the phone (verified or pending) and with it every code sent to it."""
    user = principal.user
    accounts.require_password(user, password, requester, "phone_removed")
    if user.phone_hint is None and pending(user.user_id) is None:
        raise NotFound("There is no phone number on this account.")
    db.commit([
        db.delete(FactorModel(user.user_id, PHONE_ID)),
        db.delete(FactorModel(user.user_id, PENDING_ID)),
        db.update(user, [UserModel.phone_hint.remove(), UserModel.phone_id.remove()], UserModel.user_id == user.user_id),
        events.logged(user.user_id, events.PHONE_REMOVED, requester),
    ])
