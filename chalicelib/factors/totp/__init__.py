"""Authenticator apps (TOTP, RFC 6238): enrolled by QR code, one or several per account.

Each authenticator keeps the last time step it accepted; a code is accepted only for a later
step, by a conditional write (`last_step < :step`), so a code works once however many
requests race with it. Secrets are KMS-encrypted with the user id and their purpose as
context and decrypted per request. The maths is in codes.py, the QR code in qr.py.
"""
from __future__ import annotations

import hmac
import secrets
from typing import Any

from chalicelib import aws, clock, events, fields
from chalicelib.config import settings
from chalicelib.errors import InvalidCode, NotFound
from chalicelib.factors.contract import Enrolment, Factor, Proof, digits
from chalicelib.factors.totp import codes
from chalicelib.store import db, keys
from chalicelib.store.models import FactorModel, UserModel

KIND = "totp"
PENDING_ID = keys.pending(KIND)
PENDING_SECONDS = 15 * 60
DEFAULT_NAME = "Authenticator app"
PURPOSE = "totp_secret"  # the secret's KMS encryption context purpose
_NOT_WAITING = "No authenticator is waiting to be confirmed. Start again."


def _secret(user_id: str, item: FactorModel) -> str:
    return aws.decrypt(item.secret_ciphertext, user_id, PURPOSE, item.secret_context).decode()


class TotpFactor(Factor):
    method = KIND
    label = "Authenticator app"
    field = "code"
    input = "code"
    lockable = True
    max_length = 32
    enrols = True
    noun = "authenticator"
    added_event = events.AUTHENTICATOR_ADDED
    removed_event = events.AUTHENTICATOR_REMOVED
    not_found = "No such authenticator."

    # --- login ---------------------------------------------------------------------------
    def recognises(self, value: Any) -> bool:
        return isinstance(value, str) and digits(value) is not None

    def reads(self, user_id: str, factor_ids: set[str], value: Any) -> list:
        if not self.recognises(value):
            return []
        return [(FactorModel, user_id, factor_id) for factor_id in sorted(factor_ids)
                if keys.kind_of(factor_id) == KIND]

    def check(self, user: UserModel, value: Any, login: Any, items: list) -> Proof | None:
        code = digits(value) or ""
        now = clock.now()
        for item in items:
            if item is None:
                continue
            secret = _secret(user.user_id, item)
            step = codes.match(secret, code, now, after_step=int(item.last_step if item.last_step is not None else -1))
            if step is None:
                continue
            skew = (step - codes.current_step(now)) * codes.STEP_SECONDS
            actions = [FactorModel.last_step.set(step), FactorModel.last_used_at.set(now)]
            if not aws.current(item.secret_context):
                # made before purposes were in the encryption context: rewritten in the same
                # write, once (one Encrypt more, no DynamoDB call more)
                actions += [FactorModel.secret_ciphertext.set(aws.encrypt(secret.encode(), user.user_id, PURPOSE)),
                            FactorModel.secret_context.set(aws.CONTEXT)]
            spend = db.update(item, actions, FactorModel.last_step < step)  # false once the item is gone, too
            return Proof(ops=[spend], detail={"method": self.method, "authenticator": item.name},
                         answer={"clock_skew_seconds": skew} if skew else {})
        return None

    # --- enrolment -----------------------------------------------------------------------
    def begin_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"name": (fields.string(data, "name", max_length=64, required=False) or "").strip() or DEFAULT_NAME}

    def begin(self, user: UserModel, checked: dict[str, Any], requester: Any) -> dict[str, Any]:
        """Make (or replace) the one pending authenticator; nothing else changes until it is
        confirmed."""
        from chalicelib.factors.totp.qr import qr_svg

        name = checked["name"]
        secret = codes.new_secret()
        authenticator_id = secrets.token_hex(8)
        now = clock.now()
        FactorModel(
            user.user_id, PENDING_ID, kind=KIND, name=name, pending_id=authenticator_id,
            secret_ciphertext=aws.encrypt(secret.encode(), user.user_id, PURPOSE), secret_context=aws.CONTEXT,
            created_at=now, expires_at=db.ttl(now + PENDING_SECONDS),
        ).save()
        uri = codes.otpauth_uri(secret, user.email, settings().issuer)
        return {"authenticator_id": authenticator_id, "secret": secret, "otpauth_uri": uri, "qr_svg": qr_svg(uri)}

    def finish(self, user: UserModel, data: dict[str, Any], requester: Any) -> Enrolment:
        """The pending authenticator confirmed by its first code, which counts as used."""
        authenticator_id = fields.string(data, "authenticator_id", max_length=64)
        code = fields.string(data, "code", max_length=32)
        pending = db.get(FactorModel, user.user_id, PENDING_ID)
        if not db.alive(pending) or not hmac.compare_digest(pending.pending_id or "", authenticator_id):
            raise NotFound(_NOT_WAITING)
        step = codes.match(_secret(user.user_id, pending), digits(code) or "", clock.now())
        if step is None:
            raise InvalidCode("That code is not valid. Check the time on your phone and try again.")
        factor_id = keys.factor(KIND, pending.pending_id)
        confirmed = FactorModel(
            user.user_id, factor_id, kind=KIND, name=pending.name, secret_ciphertext=pending.secret_ciphertext,
            secret_context=pending.secret_context, last_step=step, created_at=clock.now(), last_used_at=None,
        )
        return Enrolment(factor_id=factor_id, name=pending.name, detail={"authenticator": pending.name}, ops=[
            db.delete(pending, FactorModel.pending_id == pending.pending_id),
            db.create(confirmed),
        ])

    def listing(self, user_id: str) -> list[dict[str, Any]]:
        items = FactorModel.query(user_id, FactorModel.factor_id.startswith(keys.factor(KIND, "")),
                                  consistent_read=True)
        return [{"id": keys.key_of(item.factor_id), "name": item.name,
                 "created_at": clock.rfc3339(item.created_at), "last_used_at": clock.rfc3339(item.last_used_at)}
                for item in items]


FACTOR = TotpFactor()
