"""Authenticator apps (TOTP, RFC 6238): SHA1, 6 digits, 30 s, one step of drift either way.

Codes are made by pyotp and compared with `hmac.compare_digest`. Each authenticator keeps
the last time step it accepted; a code is accepted only for a later step, by a conditional
write (`last_step < :step`), so a code works once however many requests race with it.
Secrets are KMS-encrypted with the user id as context and decrypted per request.
"""
from __future__ import annotations

import hmac
import io
import secrets
from typing import Any

import pyotp
from pynamodb.exceptions import DoesNotExist

from chalicelib import aws, clock
from chalicelib.errors import InvalidCode, NotFound
from chalicelib.factors.base import Proof
from chalicelib.factors.base import digits as typed_digits  # `digits` names match()'s width
from chalicelib.store.models import EphemeralModel, FactorModel, UserModel, ttl

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
PREFIX = "totp#"
PENDING_ID = "pending#totp"
PENDING_SECONDS = 15 * 60
DEFAULT_NAME = "Authenticator app"
PURPOSE = "totp_secret"  # the secret's KMS encryption context purpose


def new_secret() -> str:
    """160 bits from `secrets`, base32 (pyotp.random_base32 uses SystemRandom)."""
    return pyotp.random_base32(length=32)


def current_step(now: float) -> int:
    return int(now // STEP_SECONDS)


def code_at(secret: str, step: int, digits: int = DIGITS) -> str:
    totp = pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS)
    return totp.generate_otp(step)


def match(secret: str, code: str, now: float, after_step: int = -1, digits: int = DIGITS) -> int | None:
    """The step (now, one before or one after) whose code this is, if later than `after_step`."""
    if typed_digits(code, digits) != code:
        return None
    now_step = current_step(now)
    found = None
    for step in (now_step, now_step - DRIFT_STEPS, now_step + DRIFT_STEPS):
        # Every candidate is compared, so timing does not tell which step matched.
        if hmac.compare_digest(code_at(secret, step, digits), code) and step > after_step and found is None:
            found = step
    return found


def otpauth_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """A standalone SVG document of the URI, with a quiet zone, scannable by a phone camera."""
    import segno  # only the enrolment path pays for it

    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=4, xmldecl=False,
                                    svgns=True, nl=False, dark="#000", light="#fff")
    return buffer.getvalue().decode("utf-8")


# --- enrolment ---------------------------------------------------------------------------

def start(user: UserModel, name: str, issuer: str) -> dict[str, Any]:
    """Make (or replace) the one pending authenticator; nothing else changes until confirmed."""
    secret = new_secret()
    authenticator_id = secrets.token_hex(8)
    now = clock.now()
    FactorModel(
        user.user_id,
        PENDING_ID,
        kind="totp",
        name=name,
        pending_id=authenticator_id,
        secret_ciphertext=aws.encrypt(secret.encode(), user.user_id, PURPOSE),
        secret_context=aws.CONTEXT,
        created_at=now,
        expires_at=ttl(now + PENDING_SECONDS),
    ).save()
    uri = otpauth_uri(secret, user.email, issuer)
    return {"authenticator_id": authenticator_id, "secret": secret, "otpauth_uri": uri, "qr_svg": qr_svg(uri)}


def check_pending(user: UserModel, authenticator_id: str, code: str) -> tuple[FactorModel, int]:
    """The pending item and the step its first code came from; InvalidCode when wrong."""
    try:
        pending = FactorModel.get(user.user_id, PENDING_ID, consistent_read=True)
    except DoesNotExist:
        raise NotFound("No authenticator is waiting to be confirmed. Start again.") from None
    expired = pending.expires_at is not None and pending.expires_at.timestamp() <= clock.now()
    if expired or not hmac.compare_digest(pending.pending_id or "", authenticator_id):
        raise NotFound("No authenticator is waiting to be confirmed. Start again.")
    secret = aws.decrypt(pending.secret_ciphertext, user.user_id, PURPOSE, pending.secret_context).decode()
    step = match(secret, typed_digits(code) or "", clock.now())
    if step is None:
        raise InvalidCode("That code is not valid. Check the time on your phone and try again.")
    return pending, step


def confirm_ops(user: UserModel, pending: FactorModel, step: int) -> list:
    """The writes that turn the pending item into a confirmed authenticator whose first
    code counts as used."""
    now = clock.now()
    confirmed = FactorModel(
        user.user_id,
        PREFIX + pending.pending_id,
        kind="totp",
        name=pending.name,
        secret_ciphertext=pending.secret_ciphertext,
        secret_context=pending.secret_context,
        last_step=step,
        created_at=now,
        last_used_at=None,
    )
    return [
        lambda tx: tx.delete(pending, condition=FactorModel.pending_id == pending.pending_id),
        lambda tx: tx.save(confirmed, condition=FactorModel.factor_id.does_not_exist()),
    ]


def authenticators(user_id: str) -> list[FactorModel]:
    return list(FactorModel.query(user_id, FactorModel.factor_id.startswith(PREFIX), consistent_read=True))


def listing(user_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": item.factor_id[len(PREFIX):],
            "name": item.name,
            "created_at": clock.rfc3339(item.created_at),
            "last_used_at": clock.rfc3339(item.last_used_at),
        }
        for item in authenticators(user_id)
    ]


# --- login ---------------------------------------------------------------------------------

class TotpFactor:
    method = "totp"
    field = "code"
    lockable = True
    max_length = 32

    def offered(self, user: UserModel) -> bool:
        return True

    def recognises(self, value: str) -> bool:
        return typed_digits(value) is not None

    def reads(self, user_id: str, authenticator_ids: set[str], value: str) -> list:
        if not self.recognises(value):
            return []
        return [(FactorModel, user_id, PREFIX + authenticator_id) for authenticator_id in sorted(authenticator_ids)]

    def check(self, user: UserModel, value: str, login: EphemeralModel | None, items: list) -> Proof | None:
        code = typed_digits(value) or ""
        now = clock.now()
        for item in items:
            if item is None:
                continue
            secret = aws.decrypt(item.secret_ciphertext, user.user_id, PURPOSE, item.secret_context).decode()
            step = match(secret, code, now, after_step=int(item.last_step if item.last_step is not None else -1))
            if step is None:
                continue
            skew = (step - current_step(now)) * STEP_SECONDS
            actions = [FactorModel.last_step.set(step), FactorModel.last_used_at.set(now)]
            if not aws.current(item.secret_context):
                # made before purposes were in the encryption context: rewritten in the same
                # write, once (one Encrypt more, no DynamoDB call more)
                actions += [FactorModel.secret_ciphertext.set(aws.encrypt(secret.encode(), user.user_id, PURPOSE)),
                            FactorModel.secret_context.set(aws.CONTEXT)]
            ops = [lambda tx, item=item, step=step, actions=actions: tx.update(
                item, actions=actions,
                condition=FactorModel.last_step < step,  # false once the item is gone, too
            )]
            detail = {"method": self.method, "authenticator": item.name}
            return Proof(ops=ops, detail=detail, answer={"clock_skew_seconds": skew} if skew else {})
        return None
