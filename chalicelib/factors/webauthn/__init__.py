"""Security keys and passkeys (WebAuthn): a signature from a key the account registered,
which a phishing page cannot ask for (the browser signs for the site's own origin only).

A security key is a second factor after the password; a passkey is a discoverable
credential registered with user verification, which also signs in alone (auth/passkey.py)
and then counts as both factors. Both are one kind here and share the last-factor rule.

Registration: `begin` keeps fido2's state (the challenge) in the one pending item of the kind
(`pending#webauthn`, 5 minutes); `finish` checks the browser's answer against it and stores
the credential under `webauthn#<key>`, the key being a hash of the credential id, in the
same transaction that deletes the pending item on condition that it is the one answered.

Login after the password: the challenge (`POST /api/login/challenge`) keeps fido2's state and
the account's public keys (not secret) on the login attempt, bound to the token and dying
with it; the assertion is checked against them, so the second step reads no item of its own.
Its write is the key's signature counter, on condition that the stored one is lower (or
that both are zero, for keys without a counter): a counter that does not go forward is
refused and logged as a possible copy of the key. A refusal counts on the account's
second-factor counter like a wrong code; keys are not locked at 100 (`lockable`), as a
signature cannot be guessed, but the backoff applies.

The ceremonies are ceremony.py's (fido2, imported only here, on the paths that use keys);
request shapes are values.py's.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

from chalicelib import clock, events, fields
from chalicelib.config import settings
from chalicelib.errors import Conflict, InvalidCode, NotFound, Unauthenticated
from chalicelib.factors.contract import Enrolment, Factor, Proof, Refusal
from chalicelib.factors.webauthn import values
from chalicelib.store import db, keys
from chalicelib.store.models import FactorModel, LoginAttemptModel, UserModel, plain

KIND = "webauthn"
PENDING_ID = keys.pending(KIND)
CHALLENGE_SECONDS = 5 * 60
MAX_NAME = 64
NO_RELYING_PARTY = ("Security keys and passkeys need this site's own domain name, which this deployment does not "
                    "have. Use an authenticator app.")


def credential_key(credential_id: bytes) -> str:
    """A credential's key within its account: 128 bits of the id's SHA-256 (ids may be
    1023 bytes, too long for a sort key). The API shows it as the credential's id."""
    return hashlib.sha256(credential_id).hexdigest()[:32]


def rewound(stored: int, given: int) -> bool:
    """Whether a signature counter failed to go forward: refused as a possible copy. Zero on
    both sides is a key that keeps no counter."""
    return (given != 0 or stored != 0) and given <= stored


def verified(state: dict[str, Any], credential: str, stored_count: int, response: dict[str, Any]) -> Any:
    """An assertion checked against one stored credential and its last known counter, after
    the password or alone: ceremony.Refused (`cloned` when the counter went back), or what
    it proved (its counter, whether the person was verified)."""
    from chalicelib.factors.webauthn import ceremony

    result = ceremony.asserted(state, credential, response)
    if rewound(stored_count, result.sign_count):
        raise ceremony.Refused("signature counter went back", cloned=True)
    return result


def spend(user_id: str, factor_id: str, sign_count: int) -> Any:
    """The key's use, as a write of the login's transaction: its counter moved on, on
    condition that the key is still there and its stored counter still below the one given
    (or zero with zero), whatever raced with this attempt."""
    stored = FactorModel.sign_count
    moved_on = (stored < sign_count) if sign_count > 0 else (stored == 0)
    return db.update(FactorModel(user_id, factor_id),
                     [FactorModel.sign_count.set(sign_count), FactorModel.last_used_at.set(clock.now())],
                     FactorModel.factor_id.exists() & (stored.does_not_exist() | moved_on))


def credentials(user_id: str) -> list[FactorModel]:
    return list(FactorModel.query(user_id, FactorModel.factor_id.startswith(keys.factor(KIND, "")),
                                  consistent_read=True))


def descriptor(item: FactorModel) -> tuple[bytes, list[str]]:
    props = plain(item.properties)
    return values.b64decode(props["credential_id"]), list(props.get("transports") or [])


def entry(item: FactorModel) -> dict[str, Any]:
    """How the API shows one credential."""
    return {"id": keys.key_of(item.factor_id), "name": item.name, "created_at": clock.rfc3339(item.created_at),
            "last_used_at": clock.rfc3339(item.last_used_at), "passkey": bool(plain(item.properties).get("passkey"))}


def require_relying_party() -> None:
    if not settings().rp_id:
        raise Conflict(NO_RELYING_PARTY)


class WebAuthnFactor(Factor):
    method = KIND
    label = "Security key or passkey"
    field = "webauthn"
    input = "credential"
    lockable = False
    challenge_status = 200
    enrols = True
    noun = "security_key"
    added_event = events.SECURITY_KEY_ADDED
    removed_event = events.SECURITY_KEY_REMOVED
    not_found = "No such security key or passkey."

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "rp_id": settings().rp_id}

    # --- login ---------------------------------------------------------------------------
    def value(self, raw: Any) -> Any:
        return values.assertion(raw, self.field)

    def challenge(self, user: UserModel, login: LoginAttemptModel, requester: Any) -> dict[str, Any]:
        """Request options for the account's own keys; their public keys go on the login
        attempt with fido2's state, so that the answer is checked without another read."""
        from chalicelib.factors.webauthn import ceremony

        require_relying_party()
        items = credentials(user.user_id)
        if not items:
            raise NotFound("This account has no security key or passkey.")
        public_key, state = ceremony.request_options([descriptor(item) for item in items], user_verification=False)
        known = {keys.key_of(item.factor_id): {"credential": plain(item.properties)["credential"],
                                               "sign_count": int(item.sign_count or 0), "name": item.name}
                 for item in items}
        store = db.update(login, [LoginAttemptModel.challenges[KIND].set({"state": state, "keys": known})],
                          LoginAttemptModel.used_at.does_not_exist() & LoginAttemptModel.challenges.exists())
        try:
            db.commit([store])
        except db.CommitRefused:
            raise Unauthenticated("This login has expired. Start again with your email and password.") from None
        return {"publicKey": public_key}

    def check(self, user: UserModel, value: Any, login: LoginAttemptModel | None, items: list) -> Proof | Refusal | None:
        from chalicelib.factors.webauthn import ceremony

        sent = login.challenge(KIND) if login is not None else {}
        key = credential_key(values.raw_id(value))
        known = plain(sent.get("keys")).get(key)
        if not sent.get("state") or not isinstance(known, dict):
            return Refusal({"reason": "no challenge for this key" if sent.get("state") else "no challenge"})
        name = known.get("name")
        try:
            result = verified(plain(sent["state"]), known["credential"], int(known.get("sign_count") or 0), value)
        except ceremony.Refused as refused:
            return Refusal({"reason": str(refused), "name": name},
                           [(events.SECURITY_KEY_CLONED, {"name": name})] if refused.cloned else [])
        return Proof(ops=[spend(user.user_id, keys.factor(KIND, key), result.sign_count)],
                     detail={"method": self.method, "name": name, "user_verified": result.user_verified})

    # --- enrolment -----------------------------------------------------------------------
    def begin_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"passkey": fields.boolean(data, "passkey")}

    def begin(self, user: UserModel, checked: dict[str, Any], requester: Any) -> dict[str, Any]:
        """Creation options, with the account's keys excluded (one credential per account on
        an authenticator); the state waits 5 minutes in the kind's one pending item."""
        from chalicelib.factors.webauthn import ceremony

        require_relying_party()
        passkey = checked["passkey"]
        public_key, state = ceremony.creation_options(
            user.user_id, user.email, [descriptor(item) for item in credentials(user.user_id)], passkey)
        registration_id = secrets.token_urlsafe(16)
        now = clock.now()
        FactorModel(user.user_id, PENDING_ID, kind=KIND, pending_id=registration_id,
                    properties={"state": state, "passkey": passkey}, created_at=now,
                    expires_at=db.ttl(now + CHALLENGE_SECONDS)).save()
        return {"registration_id": registration_id, "publicKey": public_key}

    def finish(self, user: UserModel, data: dict[str, Any], requester: Any) -> Enrolment:
        from chalicelib.factors.webauthn import ceremony

        registration_id = fields.string(data, "registration_id", max_length=64)
        response = values.registration(data.get("credential"))
        name = (fields.string(data, "name", max_length=MAX_NAME, required=False) or "").strip()
        pending = db.get(FactorModel, user.user_id, PENDING_ID)
        if (not db.alive(pending) or not secrets.compare_digest(pending.pending_id or "", registration_id)):
            raise NotFound("No security key is waiting to be added. Start again.")
        props = plain(pending.properties)
        passkey = bool(props.get("passkey"))
        try:
            made = ceremony.registered(plain(props.get("state")), response, passkey)
        except ceremony.Refused:
            raise InvalidCode("The security key's answer could not be verified. Try again.") from None
        name = name or ("Passkey" if passkey else "Security key")
        factor_id = keys.factor(KIND, credential_key(made.credential_id))
        if factor_id in user.factor_ids_of():
            raise Conflict("This security key is already on your account.")
        item = FactorModel(
            user.user_id, factor_id, kind=KIND, name=name, created_at=clock.now(), last_used_at=None,
            sign_count=made.sign_count,
            properties={"credential": made.credential, "credential_id": values.b64encode(made.credential_id),
                        "transports": made.transports, "passkey": passkey,
                        # what a passkey sign-in finds the account by (its user item's key)
                        "email": user.email},
        )
        return Enrolment(factor_id=factor_id, name=name, detail={"name": name, "passkey": passkey},
                         answer={"credential": entry(item)}, ops=[
                             db.delete(pending, FactorModel.pending_id == pending.pending_id),
                             db.create(item),
                         ])

    def listing(self, user_id: str) -> list[dict[str, Any]]:
        return [entry(item) for item in credentials(user_id)]


FACTOR = WebAuthnFactor()
