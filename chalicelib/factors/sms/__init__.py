"""SMS: 6-digit codes texted through SNS to the account's verified phone, a recovery option.

SMS is the weakest factor, offered only beside the authenticator app and recovery codes (the
phone is added once two-factor is on: setup.py). Its login step has a challenge: the code
is sent (`POST /api/login/challenge` with `method: "sms"`, or its alias `/api/login/sms`)
and its hash kept on the login attempt, bound to the token and to the phone it went to,
for 10 minutes; a new send replaces it. Sending is capped per account, per number, per
network and globally (throttle.Cap). Which numbers are accepted is numbers.py's.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any

from chalicelib import aws, clock, events, throttle
from chalicelib.config import settings
from chalicelib.context import Requester
from chalicelib.errors import NotFound, SmsUnavailable, Unauthenticated
from chalicelib.factors.contract import Factor, Proof, digits
from chalicelib.factors.sms.numbers import check_country, hint
from chalicelib.sms_sender import SmsFailed, sender
from chalicelib.store import db, keys
from chalicelib.store.models import FactorModel, LoginAttemptModel, UserModel

log = logging.getLogger("twostep.sms")

KIND = "sms"
PHONE_ID = keys.PHONE
PURPOSE = "phone"  # the number's KMS encryption context purpose
CODE_SECONDS = 10 * 60
DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def code_hash(binding: str, code: str) -> str:
    return hashlib.sha256(f"{binding}:{code}".encode()).hexdigest()


def _caps(user_id: str, number_key: str, requester: Requester) -> list[throttle.Cap]:
    cfg = settings()
    return [
        throttle.Cap("sms-account-gap", user_id, gap=cfg.sms_gap_seconds),
        throttle.Cap("sms-number-gap", number_key, gap=cfg.sms_gap_seconds),
        throttle.Cap("sms-account-hour", user_id, limit=cfg.sms_per_account_per_hour, window=3600),
        throttle.Cap("sms-number-day", number_key, limit=cfg.sms_per_number_per_day, window=86400),
        throttle.Cap("sms-ip-hour", requester.network, limit=cfg.sms_per_ip_per_hour, window=3600),
        throttle.Cap("sms-global-hour", "all", limit=cfg.sms_global_per_hour, window=3600),
    ]


def send(user_id: str, e164: str, text: str, requester: Requester, writes: list, purpose: str,
         undo: Any = None) -> None:
    """Claim every cap and make `writes` (the code stored) in one transaction, then text it:
    over a cap nothing is stored or sent. If the text then fails, `undo` takes back what
    only made sense with it (a pending phone); a code left on a login token is known to
    nobody. The log says `sms_sent` or `sms_failed` after the fact."""
    number_key = aws.generate_mac(f"phone:{e164}".encode()).hex()
    throttle.claim(_caps(user_id, number_key, requester), "Too many text messages. Wait before asking for another code.",
                   writes=writes)
    try:
        sender().send(e164, text, hint(e164))
    except Exception as exc:
        reason = exc.reason if isinstance(exc, SmsFailed) else type(exc).__name__
        _quietly(undo)
        _quietly(lambda: events.record(user_id, events.SMS_FAILED, requester, {"purpose": purpose, "reason": reason}))
        if isinstance(exc, SmsFailed):
            raise SmsUnavailable() from None
        raise
    # The text has gone: a fault from here on must not make the person send another.
    _quietly(lambda: events.record(user_id, events.SMS_SENT, requester, {"purpose": purpose}))


def _quietly(write: Any) -> None:
    """A write after the fact whose failure must not replace the answer already decided."""
    if write is None:
        return
    try:
        write()
    except Exception:  # noqa: BLE001
        log.warning("a follow-up write after an SMS failed", exc_info=False)


def phone(user_id: str) -> FactorModel | None:
    return db.get(FactorModel, user_id, PHONE_ID)


def _number(user: UserModel, item: FactorModel) -> tuple[str, str]:
    """The phone's number in clear and its country. An item written before purposes were
    in the encryption context, or before countries were kept, is brought up to date here
    (once per phone, outside the login budgets)."""
    from chalicelib.factors.sms.numbers import region_of

    e164 = aws.decrypt(item.secret_ciphertext, user.user_id, PURPOSE, item.secret_context).decode()
    region = item.region
    actions = []
    if not aws.current(item.secret_context):
        actions += [FactorModel.secret_ciphertext.set(aws.encrypt(e164.encode(), user.user_id, PURPOSE)),
                    FactorModel.secret_context.set(aws.CONTEXT)]
    if region is None:
        region = region_of(e164)
        actions.append(FactorModel.region.set(region))
    if actions:
        item.update(actions=actions, condition=FactorModel.secret_ciphertext == item.secret_ciphertext)
    return e164, region


class SmsFactor(Factor):
    method = KIND
    label = "Text message (SMS)"
    field = "sms_code"
    input = "code"
    lockable = True
    max_length = 32
    challenge_status = 202
    noun = "phone"

    def offered(self, user: UserModel) -> bool:
        return user.phone_hint is not None

    def challenge(self, user: UserModel, login: LoginAttemptModel, requester: Requester) -> dict[str, Any]:
        """Text a login code to the verified phone; the answer names where it went."""
        item = phone(user.user_id)
        if item is None or user.phone_id is None:
            raise NotFound("This account has no verified phone number.")
        e164, region = _number(user, item)
        check_country(region, settings().sms_countries)
        code = new_code()
        state = {"code_hash": code_hash(login.pk, code), "sent_at": clock.now(), "phone_id": user.phone_id}
        # (a login attempt without its `challenges` map, made before there was one, is refused:
        # DynamoDB cannot set a path inside a map that is not there)
        store = db.update(login, [LoginAttemptModel.challenges[KIND].set(state)],
                          LoginAttemptModel.used_at.does_not_exist() & LoginAttemptModel.challenges.exists())
        try:
            send(user.user_id, e164, f"Your twostep login code is {code}. It expires in 10 minutes.", requester,
                 [store], "login")
        except db.CommitRefused:
            raise Unauthenticated("This login has expired. Start again with your email and password.") from None
        return {"phone_hint": item.name}

    def recognises(self, value: Any) -> bool:
        return isinstance(value, str) and digits(value, DIGITS) is not None

    def check(self, user: UserModel, value: Any, login: LoginAttemptModel | None, items: list) -> Proof | None:
        typed = digits(value, DIGITS)
        if login is None or typed is None:
            return None  # an SMS code belongs to the login attempt it was sent for
        sent = login.challenge(KIND)
        if not sent.get("code_hash") or float(sent.get("sent_at") or 0) + CODE_SECONDS <= clock.now():
            return None
        phone_id = sent.get("phone_id")
        if not phone_id or not hmac.compare_digest(user.phone_id or "", phone_id):
            return None  # and to the phone it was sent to: removed or replaced, it is dead
        if not hmac.compare_digest(code_hash(login.pk, typed), sent["code_hash"]):
            return None
        # Single use: the code is bound to this login token, which the login flow spends in
        # the same transaction (its `used_at` condition), so no write of its own is needed;
        # the phone must still be the account's when it is spent.
        return Proof(ops=[], detail={"method": self.method}, user_condition=UserModel.phone_id == phone_id)


FACTOR = SmsFactor()
