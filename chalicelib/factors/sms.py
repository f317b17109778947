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
import logging
import hmac
import secrets
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import aws, clock, events, throttle
from chalicelib.config import settings
from chalicelib.context import Client
from chalicelib.errors import InvalidCode, NotFound, TwostepError, Unauthenticated
from chalicelib.factors.base import Proof, digits
from chalicelib.sms_sender import SmsFailed, sender
from chalicelib.store.models import CommitRefused, EphemeralModel, FactorModel, UserModel, commit, ttl

log = logging.getLogger("twostep.sms")

PHONE_ID = "phone"
PENDING_ID = "pending#phone"
PURPOSE = "phone"  # the number's KMS encryption context purpose
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


def parse(raw: str, country: str | None) -> tuple[str, str]:
    """(E.164, ISO 3166 region) for a mobile number, or PhoneNotAllowed naming why not."""
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
    region = phonenumbers.region_code_for_number(number) or "ZZ"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), region


def check_country(region: str, allowed: frozenset[str]) -> None:
    """The optional allow-list of destination countries (TWOSTEP_SMS_COUNTRIES; empty: all),
    a defence against SMS pumping to expensive destinations."""
    if allowed and region not in allowed:
        raise PhoneNotAllowed("We do not send text messages to this country. Use your authenticator app "
                              "and recovery codes instead.")


def hint(e164: str) -> str:
    return "+•• ••• ••• ••" + e164[-2:]


def new_code() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def code_hash(binding: str, code: str) -> str:
    return hashlib.sha256(f"{binding}:{code}".encode()).hexdigest()


def _caps(user_id: str, number_key: str, client: Client) -> list[throttle.Cap]:
    cfg = settings()
    return [
        throttle.Cap("sms-account-gap", user_id, gap=cfg.sms_gap_seconds),
        throttle.Cap("sms-number-gap", number_key, gap=cfg.sms_gap_seconds),
        throttle.Cap("sms-account-hour", user_id, limit=cfg.sms_per_account_per_hour, window=3600),
        throttle.Cap("sms-number-day", number_key, limit=cfg.sms_per_number_per_day, window=86400),
        throttle.Cap("sms-ip-hour", client.network, limit=cfg.sms_per_ip_per_hour, window=3600),
        throttle.Cap("sms-global-hour", "all", limit=cfg.sms_global_per_hour, window=3600),
    ]


def _send(user_id: str, e164: str, text: str, client: Client, writes: list, purpose: str,
          undo: Any = None) -> None:
    """Claim every cap and make `writes` (the code stored) in one transaction, then text it:
    over a cap nothing is stored or sent. If the text then fails, `undo` takes back what
    only made sense with it (a pending phone); a code left on a login token is known to
    nobody. The log says `sms_sent` or `sms_failed` after the fact."""
    number_key = aws.generate_mac(f"phone:{e164}".encode()).hex()
    throttle.claim(_caps(user_id, number_key, client), "Too many text messages. Wait before asking for another code.",
                   writes=writes)
    try:
        sender().send(e164, text, hint(e164))
    except Exception as exc:
        reason = exc.reason if isinstance(exc, SmsFailed) else type(exc).__name__
        _quietly(undo)
        _quietly(lambda: events.record(user_id, events.SMS_FAILED, client, {"purpose": purpose, "reason": reason}))
        if isinstance(exc, SmsFailed):
            raise SmsUnavailable() from None
        raise
    # The text has gone: a fault from here on must not make the person send another.
    _quietly(lambda: events.record(user_id, events.SMS_SENT, client, {"purpose": purpose}))


def _quietly(write: Any) -> None:
    """A write after the fact whose failure must not replace the answer already decided."""
    if write is None:
        return
    try:
        write()
    except Exception:  # noqa: BLE001
        log.warning("a follow-up write after an SMS failed", exc_info=False)


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

def start_setup(user: UserModel, e164: str, region: str, client: Client) -> str:
    """Send a setup code to a new number; the number is bound only once the code comes back.
    A new number replaces a pending one, and with it the code sent to that one."""
    check_country(region, settings().sms_countries)
    code = new_code()
    setup_id = secrets.token_hex(8)
    now = clock.now()
    item = FactorModel(
        user.user_id,
        PENDING_ID,
        kind="sms",
        name=hint(e164),
        pending_id=setup_id,
        secret_ciphertext=aws.encrypt(e164.encode(), user.user_id, PURPOSE),
        secret_context=aws.CONTEXT,
        region=region,
        code_hash=code_hash(setup_id, code),
        created_at=now,
        expires_at=ttl(now + CODE_SECONDS),
    )
    added = events.build(user.user_id, events.PHONE_ADDED, client, {"phone_hint": hint(e164)})
    _send(user.user_id, e164, f"Your twostep setup code is {code}. It expires in 10 minutes.", client,
          [lambda tx: tx.save(item), lambda tx: tx.save(added)], "phone_setup",
          undo=lambda: item.delete(condition=FactorModel.pending_id == setup_id))
    return hint(e164)


def setup_counter(user_id: str) -> throttle.Counter:
    """Wrong setup codes count here, with the second-factor curve; a new send keeps it."""
    return throttle.ephemeral_counter(f"phone-setup#{user_id}", throttle.SECOND_FACTOR)


def pending(user_id: str) -> FactorModel | None:
    try:
        item = FactorModel.get(user_id, PENDING_ID, consistent_read=True)
    except DoesNotExist:
        return None
    if item.expires_at is None or item.expires_at.timestamp() <= clock.now():
        return None
    return item


def verify_setup(user: UserModel, code: str, client: Client) -> str:
    """Bind the pending number. Each attempt claims its place on the setup counter first."""
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
        raise InvalidCode("This code has expired or no number is waiting to be verified. Add the number again.")
    typed = digits(code, DIGITS)
    if typed is None or not hmac.compare_digest(code_hash(item.pending_id, typed), item.code_hash or ""):
        events.record(user.user_id, events.PHONE_VERIFY_FAILED, client, {"consecutive_failures": counted.failures})
        raise InvalidCode("That code is not valid. Check the latest text message and try again.")
    phone_id = secrets.token_hex(8)
    confirmed = FactorModel(user.user_id, PHONE_ID, kind="sms", name=item.name, pending_id=phone_id,
                            secret_ciphertext=item.secret_ciphertext, secret_context=item.secret_context,
                            region=item.region, created_at=clock.now())
    try:
        commit([
            lambda tx: tx.delete(item, condition=FactorModel.code_hash == item.code_hash),
            lambda tx: tx.save(confirmed),
            lambda tx: tx.update(user, actions=[UserModel.phone_hint.set(item.name), UserModel.phone_id.set(phone_id)],
                                 condition=UserModel.two_factor_enabled_at.exists()),
            lambda tx: tx.delete(counter.item),
            events.logged(user.user_id, events.PHONE_VERIFIED, client, {"phone_hint": item.name}),
        ])
    except CommitRefused:
        raise InvalidCode("This code has expired or no number is waiting to be verified. Add the number again.") from None
    return item.name


def remove(user: UserModel, client: Client) -> bool:
    """Forget the phone (verified or pending) and with it every code sent to it; False when
    there was none."""
    if user.phone_hint is None and pending(user.user_id) is None:
        return False
    commit([
        lambda tx: tx.delete(FactorModel(user.user_id, PHONE_ID)),
        lambda tx: tx.delete(FactorModel(user.user_id, PENDING_ID)),
        lambda tx: tx.update(user, actions=[UserModel.phone_hint.remove(), UserModel.phone_id.remove()],
                             condition=UserModel.user_id == user.user_id),
        events.logged(user.user_id, events.PHONE_REMOVED, client),
    ])
    return True


# --- login ---------------------------------------------------------------------------------

def _number(user: UserModel, item: FactorModel) -> tuple[str, str]:
    """The phone's number in clear and its country. An item written before purposes were
    in the encryption context, or before countries were kept, is brought up to date here
    (once per phone, outside the login budgets)."""
    e164 = aws.decrypt(item.secret_ciphertext, user.user_id, PURPOSE, item.secret_context).decode()
    region = item.region
    actions = []
    if not aws.current(item.secret_context):
        actions += [FactorModel.secret_ciphertext.set(aws.encrypt(e164.encode(), user.user_id, PURPOSE)),
                    FactorModel.secret_context.set(aws.CONTEXT)]
    if region is None:
        import phonenumbers

        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or "ZZ"
        actions.append(FactorModel.region.set(region))
    if actions:
        item.update(actions=actions, condition=FactorModel.secret_ciphertext == item.secret_ciphertext)
    return e164, region


def send_login_code(user: UserModel, login: EphemeralModel, client: Client) -> str:
    item = phone(user.user_id)
    if item is None or user.phone_id is None:
        raise NotFound("This account has no verified phone number.")
    e164, region = _number(user, item)
    check_country(region, settings().sms_countries)
    code = new_code()
    store = lambda tx: tx.update(  # noqa: E731
        login,
        actions=[EphemeralModel.sms_code_hash.set(code_hash(login.pk, code)), EphemeralModel.sms_sent_at.set(clock.now()),
                 EphemeralModel.sms_phone_id.set(user.phone_id)],
        condition=EphemeralModel.used_at.does_not_exist() & EphemeralModel.pk.exists(),
    )
    try:
        _send(user.user_id, e164, f"Your twostep login code is {code}. It expires in 10 minutes.", client,
              [store], "login")
    except CommitRefused:
        raise Unauthenticated("This login has expired. Start again with your email and password.") from None
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
        phone_id = login.sms_phone_id
        if phone_id is None or not hmac.compare_digest(user.phone_id or "", phone_id):
            return None  # and to the phone it was sent to: removed or replaced, it is dead
        if not hmac.compare_digest(code_hash(login.pk, typed), login.sms_code_hash):
            return None
        # Single use: the code is bound to this login token, which the login flow spends in
        # the same transaction (its `used_at` condition), so no write of its own is needed;
        # the phone must still be the account's when it is spent.
        return Proof(ops=[], detail={"method": self.method}, user_condition=UserModel.phone_id == phone_id)
