"""Recovery codes (look-up secrets): ten single-use codes of 80 bits each.

Each code is stored only as HMAC-SHA256(user id, code) computed by KMS GenerateMac under a
key that never leaves KMS; that MAC is the item's key. One KMS ciphertext of the whole set
lets the owner view them again after re-entering the password. A code is spent by a
conditional write (`used_at` must not exist and the set must still be current), so
concurrent redemptions give one success, and regenerating kills the whole old set at once.
"""
from __future__ import annotations

import json
import secrets
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactGet

from chalicelib import aws, clock
from chalicelib.factors.base import Proof
from chalicelib.store.models import EphemeralModel, FactorModel, RecoveryCodeModel, UserModel, connection

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32, lowercase: no i l o u
LENGTH = 16
COUNT = 10
LOW = 3
SET_ID = "recovery"
PURPOSE = "recovery_codes"  # the set's KMS encryption context purpose
_READS_AS = {"o": "0", "i": "1", "l": "1"}


def generate() -> list[str]:
    codes: set[str] = set()
    while len(codes) < COUNT:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        codes.add("-".join(raw[i:i + 4] for i in range(0, LENGTH, 4)))
    return sorted(codes, key=lambda _: secrets.randbits(32))


def normalise(value: str) -> str | None:
    """Any case, with or without dashes and spaces; o reads as 0, i and l as 1."""
    raw = "".join(_READS_AS.get(c, c) for c in value.lower() if c not in "- \t")
    if len(raw) != LENGTH or any(c not in ALPHABET for c in raw):
        return None
    return raw


def code_hash(user_id: str, code: str) -> str:
    raw = normalise(code)
    assert raw is not None
    return aws.generate_mac(f"{user_id}:{raw}".encode()).hex()


def new_set_ops(user: UserModel, replacing: FactorModel | None = None) -> tuple[list[str], list]:
    """Ten new codes and the writes that store them (and delete the old set, if any)."""
    codes = generate()
    set_id = secrets.token_hex(8)
    hashes = [code_hash(user.user_id, code) for code in codes]
    now = clock.now()
    set_item = FactorModel(
        user.user_id,
        SET_ID,
        kind="recovery",
        set_id=set_id,
        code_hashes=hashes,
        remaining=COUNT,
        secret_ciphertext=aws.encrypt(json.dumps(codes).encode(), user.user_id, PURPOSE),
        secret_context=aws.CONTEXT,
        created_at=now,
    )
    ops: list = []
    if replacing is not None:
        old_set = replacing.set_id
        ops.append(lambda tx: tx.save(set_item, condition=FactorModel.set_id == old_set))
        ops.extend(_delete_op(h) for h in replacing.code_hashes or [])
    else:
        ops.append(lambda tx: tx.save(set_item, condition=FactorModel.factor_id.does_not_exist()))
    for position, digest in enumerate(hashes):
        item = RecoveryCodeModel(digest, user_id=user.user_id, set_id=set_id, position=position)
        ops.append(lambda tx, item=item: tx.save(item, condition=RecoveryCodeModel.code_hash.does_not_exist()))
    return codes, ops


def _delete_op(digest: str):
    return lambda tx: tx.delete(RecoveryCodeModel(digest))


def current_set(user_id: str) -> FactorModel | None:
    try:
        return FactorModel.get(user_id, SET_ID, consistent_read=True)
    except DoesNotExist:
        return None


def delete_ops(set_item: FactorModel) -> list:
    ops = [lambda tx: tx.delete(set_item)]
    ops.extend(_delete_op(h) for h in set_item.code_hashes or [])
    return ops


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
    used: dict[int, float | None] = {}
    with TransactGet(connection=connection()) as tg:
        futures = [tg.get(RecoveryCodeModel, h) for h in set_item.code_hashes or []]
    for future in futures:
        item = future.get()
        used[int(item.position)] = item.used_at
    return [{"code": code, "used_at": clock.rfc3339(used.get(i))} for i, code in enumerate(codes)]


class RecoveryCodeFactor:
    method = "recovery_code"
    field = "recovery_code"
    lockable = False  # 80 bits need no lock; the backoff still applies
    max_length = 64

    def offered(self, user: UserModel) -> bool:
        return True

    def recognises(self, value: str) -> bool:
        return normalise(value) is not None

    def reads(self, user_id: str, authenticator_ids: set[str], value: str) -> list:
        if not self.recognises(value):
            return []
        return [(RecoveryCodeModel, code_hash(user_id, value), None)]

    def check(self, user: UserModel, value: str, login: EphemeralModel | None, items: list) -> Proof | None:
        item = items[0] if items else None
        if item is None or item.user_id != user.user_id or item.used_at is not None:
            return None
        now = clock.now()
        set_id = item.set_id
        ops = [
            lambda tx: tx.update(item, actions=[RecoveryCodeModel.used_at.set(now)],
                                 condition=RecoveryCodeModel.used_at.does_not_exist()
                                 & (RecoveryCodeModel.set_id == set_id)),
            lambda tx: tx.update(FactorModel(user.user_id, SET_ID), actions=[FactorModel.remaining.add(-1)],
                                 condition=FactorModel.set_id == set_id),
        ]
        return Proof(ops=ops, detail={"method": self.method, "position": int(item.position) + 1})
