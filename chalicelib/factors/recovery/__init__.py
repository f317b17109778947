"""Recovery codes (look-up secrets): ten single-use codes of 80 bits each, a recovery option
of two-factor (they never turn it on by themselves).

Each code is stored only as HMAC-SHA256(user id, code) computed by KMS GenerateMac under a
key that never leaves KMS; that MAC is the item's key. One KMS ciphertext of the whole set
lets the owner view them again after re-entering the password. A code is spent by a
conditional write (`used_at` must not exist and the set must still be current), so
concurrent redemptions give one success, and regenerating kills the whole old set at once.
The format is in codes.py.
"""
from __future__ import annotations

import json
import secrets
from typing import Any

from chalicelib import aws, clock, events
from chalicelib.factors.contract import Factor, Proof
from chalicelib.factors.recovery import codes as code_format
from chalicelib.store import db, keys
from chalicelib.store.models import FactorModel, RecoveryCodeModel, UserModel

SET_ID = keys.RECOVERY_SET
PURPOSE = "recovery_codes"  # the set's KMS encryption context purpose
LOW = code_format.LOW


def code_hash(user_id: str, code: str) -> str:
    raw = code_format.normalise(code)
    assert raw is not None
    return aws.generate_mac(f"{user_id}:{raw}".encode()).hex()


def new_set_ops(user: UserModel, replacing: FactorModel | None = None) -> tuple[list[str], list]:
    """Ten new codes and the writes that store them (and delete the old set, if any)."""
    codes = code_format.generate()
    set_id = secrets.token_hex(8)
    hashes = [code_hash(user.user_id, code) for code in codes]
    set_item = FactorModel(
        user.user_id, SET_ID, kind="recovery", set_id=set_id, code_hashes=hashes, remaining=code_format.COUNT,
        secret_ciphertext=aws.encrypt(json.dumps(codes).encode(), user.user_id, PURPOSE),
        secret_context=aws.CONTEXT, created_at=clock.now(),
    )
    if replacing is not None:
        ops = [db.put(set_item, FactorModel.set_id == replacing.set_id),
               *(db.delete(RecoveryCodeModel(h)) for h in replacing.code_hashes or [])]
    else:
        ops = [db.create(set_item)]
    ops.extend(db.create(RecoveryCodeModel(digest, user_id=user.user_id, set_id=set_id, position=position))
               for position, digest in enumerate(hashes))
    return codes, ops


def current_set(user_id: str) -> FactorModel | None:
    return db.get(FactorModel, user_id, SET_ID)


def delete_ops(set_item: FactorModel) -> list:
    return [db.delete(set_item), *(db.delete(RecoveryCodeModel(h)) for h in set_item.code_hashes or [])]


def remaining(user_id: str) -> int:
    found = current_set(user_id)
    return int(found.remaining or 0) if found is not None else 0


def view(user: UserModel) -> list[dict[str, Any]]:
    """The current set in order, each with when it was used (one Decrypt, one batch read)."""
    set_item = current_set(user.user_id)
    if set_item is None:
        return []
    plaintext = aws.decrypt(set_item.secret_ciphertext, user.user_id, PURPOSE, set_item.secret_context)
    codes = json.loads(plaintext)
    if not aws.current(set_item.secret_context):
        set_item.update(actions=[FactorModel.secret_ciphertext.set(aws.encrypt(plaintext, user.user_id, PURPOSE)),
                                 FactorModel.secret_context.set(aws.CONTEXT)],
                        condition=FactorModel.set_id == set_item.set_id)
    items = db.get_many([(RecoveryCodeModel, h, None) for h in set_item.code_hashes or []])
    used = {int(item.position): item.used_at for item in items if item is not None}
    return [{"code": code, "used_at": clock.rfc3339(used.get(i))} for i, code in enumerate(codes)]


class RecoveryCodeFactor(Factor):
    method = "recovery_code"
    label = "Recovery code"
    field = "recovery_code"
    input = "recovery_code"
    lockable = False  # 80 bits need no lock; the backoff still applies
    max_length = 64
    noun = "recovery_codes"

    def offered(self, user: UserModel) -> bool:
        return True  # every account with two-factor has its set

    def recognises(self, value: Any) -> bool:
        return isinstance(value, str) and code_format.normalise(value) is not None

    def reads(self, user_id: str, factor_ids: set[str], value: Any) -> list:
        if not self.recognises(value):
            return []
        return [(RecoveryCodeModel, code_hash(user_id, value), None)]

    def check(self, user: UserModel, value: Any, login: Any, items: list) -> Proof | None:
        item = items[0] if items else None
        if item is None or item.user_id != user.user_id or item.used_at is not None:
            return None
        set_id = item.set_id
        position = int(item.position) + 1
        ops = [
            db.update(item, [RecoveryCodeModel.used_at.set(clock.now())],
                      RecoveryCodeModel.used_at.does_not_exist() & (RecoveryCodeModel.set_id == set_id)),
            db.update(FactorModel(user.user_id, SET_ID), [FactorModel.remaining.add(-1)], FactorModel.set_id == set_id),
        ]
        return Proof(ops=ops, detail={"method": self.method, "position": position},
                     events=[(events.RECOVERY_CODE_USED, {"position": position})])


FACTOR = RecoveryCodeFactor()
