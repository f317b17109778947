"""SMS recovery: a verified phone number and 6-digit codes sent through SNS.

SMS is the weakest factor, offered only as a recovery option beside the authenticator app
and recovery codes. Numbers are parsed with phonenumbers (lite) and only MOBILE and
FIXED_LINE_OR_MOBILE are accepted. The number is stored KMS-encrypted; answers show only
its last two digits. Codes come from `secrets`, live 10 minutes, are stored as a hash bound
to what they were sent for (the phone setup, or one login token), and a new send replaces
the old code. Sending is capped per account, per number and globally (throttle.Cap).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from chalicelib import aws, clock, throttle
from chalicelib.config import settings
from chalicelib.errors import InvalidCode, NotFound, TwostepError
from chalicelib.factors.base import Proof, digits
from chalicelib.sms_sender import SmsFailed, sender
from chalicelib.store.models import EphemeralModel, FactorModel, UserModel, connection, ttl

PHONE_ID = "phone"
PENDING_ID = "pending#phone"
CODE_SECONDS = 10 * 60
DIGITS = 6


class PhoneNotAllowed(TwostepError):
    code = "phone_not_allowed"


class SmsUnavailable(TwostepError):
    status = 502
    code = "sms_failed"
    message = ("We could not send a text message to this number just now. Use your authenticator "
               "app or a recovery code instead, or try again later.")


_REFUSED = {
    "FIXED_LINE": "This looks like a landline, which cannot receive text messages. Use a mobile number.",
    "VOIP": "VoIP numbers (such as Google Voice) are not allowed: they can be taken over online. Use a mobile number.",
    "PREMIUM_RATE": "Premium-rate numbers are not allowed. Use a mobile number.",
    "TOLL_FREE": "Toll-free numbers are not allowed. Use a mobile number.",
    "SHARED_COST": "Shared-cost numbers are not allowed. Use a mobile number.",
    "PAGER": "Pager numbers are not allowed. Use a mobile number.",
    "PERSONAL_NUMBER": "Personal (forwarding) numbers are not allowed. Use a mobile number.",
    "UAN": "Universal access numbers are not allowed. Use a mobile number.",
    "VOICEMAIL": "Voicemail numbers are not allowed. Use a mobile number.",
}


def parse(raw: str, country: str | None) -> str:
    """E.164 for a mobile number, or PhoneNotAllowed naming why not."""
    import phonenumbers  # only the phone paths pay for it

    region = (country or "").upper() or None
    if region is not None and (len(region) != 2 or not region.isalpha()):
        raise PhoneNotAllowed("country must be an ISO 3166 code such as \"GB\".", code="invalid_request")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise PhoneNotAllowed("This is not a valid phone number. Use the international format, e.g. +44 7400 123456.") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneNotAllowed("This is not a valid phone number. Check the digits and the country.")
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        name = next((n for n, v in vars(phonenumbers.PhoneNumberType).items() if v == kind), "UNKNOWN")
        raise PhoneNotAllowed(_REFUSED.get(name, "This kind of number cannot receive our text messages. Use a mobile number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def hint(e164: str) -> str:
    return "+•• ••• ••• ••" + e164[-2:]


def new_code() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def code_hash(binding: str, code: str) -> str:
    return hashlib.sha256(f"{binding}:{code}".encode()).hexdigest()


def _caps(user_id: str, number_key: str) -> list[throttle.Cap]:
    cfg = settings()
    return [
        throttle.Cap("sms-account-gap", user_id, gap=cfg.sms_gap_seconds),
        throttle.Cap("sms-number-gap", number_key, gap=cfg.sms_gap_seconds),
        throttle.Cap("sms-account-hour", user_id, limit=cfg.sms_per_account_per_hour, window=3600),
        throttle.Cap("sms-number-day", number_key, limit=cfg.sms_per_number_per_day, window=86400),
        throttle.Cap("sms-global-hour", "all", limit=cfg.sms_global_per_hour, window=3600),
    ]


def _send(user_id: str, e164: str, text: str, record_failure) -> None:
    number_key = aws.generate_mac(f"phone:{e164}".encode()).hex()
    throttle.claim(_caps(user_id, number_key), "Too many text messages. Wait before asking for another code.")
    try:
        sender().send(e164, text, hint(e164))
    except SmsFailed as exc:
        record_failure(exc.reason)
        raise SmsUnavailable() from None


def phone(user_id: str) -> FactorModel | None:
    try:
        return FactorModel.get(user_id, PHONE_ID, consistent_read=True)
    except DoesNotExist:
        return None


def status(user: UserModel) -> dict[str, Any] | None:
    if user.phone_hint is not None:
        return {"hint": user.phone_hint, "verified": True}
    waiting = pending(user.user_id)
    return None if waiting is None else {"hint": waiting.name, "verified": False}


# --- setup ---------------------------------------------------------------------------------

def start_setup(user: UserModel, e164: str, record_failure) -> str:
    """Send a setup code to a new number; the number is bound only once the code comes back."""
    code = new_code()
    setup_id = secrets.token_hex(8)
    _send(user.user_id, e164, f"Your twostep setup code is {code}. It expires in 10 minutes.", record_failure)
    now = clock.now()
    FactorModel(
        user.user_id,
        PENDING_ID,
        kind="sms",
        name=hint(e164),
        pending_id=setup_id,
        secret_ciphertext=aws.encrypt(e164.encode(), user.user_id),
        code_hash=code_hash(setup_id, code),
        created_at=now,
        expires_at=ttl(now + CODE_SECONDS),
    ).save()
    return hint(e164)


def _setup_counter(user_id: str) -> str:
    return f"phone-setup#{user_id}"


def pending(user_id: str) -> FactorModel | None:
    try:
        item = FactorModel.get(user_id, PENDING_ID, consistent_read=True)
    except DoesNotExist:
        return None
    if item.expires_at is None or item.expires_at.timestamp() <= clock.now():
        return None
    return item


def verify_setup(user: UserModel, code: str) -> str:
    """Bind the pending number. Wrong codes count on a per-account counter with the
    second-factor backoff, which a new send does not reset."""
    key = _setup_counter(user.user_id)
    counter = throttle.read(key)
    throttle.check(counter, throttle.SECOND_FACTOR)
    item = pending(user.user_id)
    if item is None:
        raise InvalidCode("This code has expired or no number is waiting to be verified. Add the number again.")
    typed = digits(code, DIGITS)
    if typed is None or not hmac.compare_digest(code_hash(item.pending_id, typed), item.code_hash or ""):
        throttle.record_failure(key, throttle.SECOND_FACTOR)
        raise InvalidCode("That code is not valid. Check the latest text message and try again.")
    confirmed = FactorModel(user.user_id, PHONE_ID, kind="sms", name=item.name,
                            secret_ciphertext=item.secret_ciphertext, created_at=clock.now())
    with TransactWrite(connection=connection()) as tx:
        tx.delete(item, condition=FactorModel.code_hash == item.code_hash)
        tx.save(confirmed)
        tx.update(user, actions=[UserModel.phone_hint.set(item.name)],
                  condition=UserModel.two_factor_enabled_at.exists())
        reset = throttle.reset_op(key, counter)
        if reset is not None:
            reset(tx)
    return item.name


def remove(user: UserModel) -> bool:
    """Forget the phone (verified or pending); False when there was none."""
    if user.phone_hint is None and pending(user.user_id) is None:
        return False
    with TransactWrite(connection=connection()) as tx:
        tx.delete(FactorModel(user.user_id, PHONE_ID))
        tx.delete(FactorModel(user.user_id, PENDING_ID))
        tx.update(user, actions=[UserModel.phone_hint.remove()])
    return True


# --- login ---------------------------------------------------------------------------------

def send_login_code(user: UserModel, login: EphemeralModel, record_failure) -> str:
    item = phone(user.user_id)
    if item is None:
        raise NotFound("This account has no verified phone number.")
    e164 = aws.decrypt(item.secret_ciphertext, user.user_id).decode()
    code = new_code()
    _send(user.user_id, e164, f"Your twostep login code is {code}. It expires in 10 minutes.", record_failure)
    now = clock.now()
    login.update(
        actions=[EphemeralModel.sms_code_hash.set(code_hash(login.pk, code)), EphemeralModel.sms_sent_at.set(now)],
        condition=EphemeralModel.used_at.does_not_exist(),
    )
    return item.name


class SmsFactor:
    method = "sms"
    field = "sms_code"
    lockable = True
    max_length = 32

    def offered(self, user: UserModel) -> bool:
        return user.phone_hint is not None

    def recognises(self, value: str) -> bool:
        return digits(value, DIGITS) is not None

    def reads(self, user_id: str, authenticator_ids: set[str], value: str) -> list:
        return []  # the code's hash is on the login token itself

    def check(self, user: UserModel, value: str, login: EphemeralModel | None, items: list) -> Proof | None:
        typed = digits(value, DIGITS)
        if login is None or typed is None:
            return None  # an SMS code belongs to the login attempt it was sent for
        if not login.sms_code_hash or login.sms_sent_at is None or login.sms_sent_at + CODE_SECONDS <= clock.now():
            return None
        if not hmac.compare_digest(code_hash(login.pk, typed), login.sms_code_hash):
            return None
        # Single use: the code is bound to this login token, which the login flow spends in
        # the same transaction (its `used_at` condition), so no write of its own is needed.
        return Proof(ops=[], detail={"method": self.method})
