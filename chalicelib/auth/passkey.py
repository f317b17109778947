"""Signing in with a passkey alone: no email, no password; a passkey that verified the
person (fingerprint, face, PIN) counts as both factors.

`options` hands out a challenge for any discoverable credential behind a passkey token (a
login token's shape: 5 minutes, its hash stored), capped per client network, since nobody
is known yet. `sign_in` is three DynamoDB calls when it succeeds: one TransactGetItems (the
challenge, the credential the answer names under the account its user handle names, and the
two refusal counters), the account, and one transaction that spends the token, moves the
key's signature counter on, checks the account still has the key and its sessions were not
ended meanwhile, opens the session and logs the login.

Refusals never touch the owner's second-factor counter (SECURITY.md): they count per client
network and per credential named, each with its own backoff, and every attempt spends its
token, refused or not, so the tokens' cap bounds how many answers one network can have
examined, however many it sends at once.
"""
from __future__ import annotations

from typing import Any

from chalicelib import clock, events, throttle
from chalicelib.auth import accounts, second_factor, tokens
from chalicelib.auth.login import CLIENTS
from chalicelib.auth.results import LoginResult
from chalicelib.config import settings
from chalicelib.context import Requester
from chalicelib.errors import InvalidRequest, LoginCodeInvalid, RateLimited, Unauthenticated
from chalicelib.factors import webauthn
from chalicelib.factors.webauthn import values
from chalicelib.store import db, keys
from chalicelib.store.models import FactorModel, PasskeyChallengeModel, UserModel, plain

REFUSED = "That passkey could not be used to sign in. Try again, or sign in with your email and password."
EXPIRED = "This passkey sign-in has expired. Start again."


def _counters(requester: Requester, key: str) -> tuple[throttle.Counter, throttle.Counter]:
    return (throttle.ephemeral_counter(keys.passkey_address_counter(requester.network), throttle.PASSKEY_ADDRESS),
            throttle.ephemeral_counter(keys.passkey_credential_counter(key), throttle.PASSKEY_CREDENTIAL))


def options(requester: Requester) -> dict[str, Any]:
    """POST /api/login/passkey/options: request options for a discoverable credential with
    user verification, behind a new passkey token (one write, with the cap's claim)."""
    from chalicelib.factors.webauthn import ceremony

    webauthn.require_relying_party()
    cfg = settings()
    public_key, state = ceremony.request_options(None, user_verification=True)
    token_id, token = tokens.new_token()
    now = clock.now()
    item = PasskeyChallengeModel(keys.passkey_challenge(token_id), token_hash=tokens.digest(token), state=state,
                                 created_at=now, expires_at=db.ttl(now + webauthn.CHALLENGE_SECONDS))
    throttle.claim([throttle.Cap("passkey-options-ip", requester.network, limit=cfg.passkey_options_per_ip_per_hour)],
                   "Too many passkey sign-ins from this network. Wait a while, or sign in with your password.",
                   writes=[db.create(item)])
    return {"passkey_token": token, "publicKey": public_key}


def _account_of(checked: dict[str, Any]) -> str | None:
    """The user id the answer's user handle names (what registration gave the key)."""
    handle = values.user_handle(checked)
    try:
        user_id = handle.decode("ascii") if handle else ""
    except UnicodeDecodeError:
        return None
    return user_id if 0 < len(user_id) <= 64 and user_id.isalnum() else None


def sign_in(token: str | None, raw: Any, client_kind: str, requester: Requester) -> LoginResult:
    from chalicelib.factors.webauthn import ceremony

    if client_kind not in CLIENTS:
        raise InvalidRequest('client must be "browser" or "cli".')
    checked = values.assertion(raw, "credential")
    parsed = tokens.parse(token)
    if parsed is None:
        raise Unauthenticated(EXPIRED)
    key = webauthn.credential_key(values.raw_id(checked))
    user_id = _account_of(checked)
    factor_id = keys.factor(webauthn.KIND, key)
    by_address, by_credential = _counters(requester, key)
    challenge, stored, address_item, credential_item = db.get_many([
        (PasskeyChallengeModel, keys.passkey_challenge(parsed[0]), None),
        (FactorModel, user_id or "-", factor_id),
        (type(by_address.item), by_address.item.pk, None),
        (type(by_credential.item), by_credential.item.pk, None),
    ])
    now = clock.now()
    wait = max(by_address.wait(address_item, now), by_credential.wait(credential_item, now))
    if wait > 0:
        raise RateLimited(wait, "Too many refused passkey sign-ins. Wait before trying again.")
    if (challenge is None or not db.alive(challenge) or challenge.used_at is not None
            or not tokens.matches(token, challenge.token_hash)):
        raise Unauthenticated(EXPIRED)

    def refuse(reason: str, owner: str | None = None, extra: list | None = None) -> LoginCodeInvalid:
        writes = [db.update(challenge, [PasskeyChallengeModel.used_at.set(clock.now())]),
                  by_address.failed_op(), by_credential.failed_op()]
        if owner is not None:
            writes.append(events.logged(owner, events.PASSKEY_FAILED, requester, {"reason": reason}))
            writes.extend(events.logged(owner, type_, requester, detail) for type_, detail in extra or [])
        db.commit(writes)
        return LoginCodeInvalid(REFUSED)

    props = plain(stored.properties) if stored is not None else {}
    if stored is None or not props.get("passkey"):
        raise refuse("not a passkey of this site", stored.user_id if stored is not None else None)
    try:
        result = webauthn.verified(plain(challenge.state), props["credential"], int(stored.sign_count or 0), checked)
    except ceremony.Refused as refused:
        raise refuse(str(refused), stored.user_id,
                     [(events.SECURITY_KEY_CLONED, {"name": stored.name})] if refused.cloned else []) from None
    user = accounts.find(str(props.get("email") or ""))
    stored_ids = user.factor_ids_of() if user is not None else {}
    if user is None or user.user_id != stored.user_id or factor_id not in stored_ids:
        raise refuse("the key is no longer on the account", stored.user_id)
    return _finish(user, stored, stored_ids[factor_id], challenge, result, client_kind, requester,
                   credential_item is not None and by_credential)


def _finish(user: UserModel, stored: FactorModel, stored_id: str, challenge: PasskeyChallengeModel, result: Any,
            client_kind: str, requester: Requester, reset_credential: Any) -> LoginResult:
    login = LoginResult(status="authenticated", user=user)
    writes = [
        db.update(challenge, [PasskeyChallengeModel.used_at.set(clock.now())],
                  PasskeyChallengeModel.used_at.does_not_exist() & PasskeyChallengeModel.pk.exists()),
        webauthn.spend(stored.user_id, stored.factor_id, result.sign_count),
        # both factors: the account's own second-factor failures start again, as after any
        # second factor, on condition that the key is still its and nothing ended its sessions
        db.update(user, second_factor.counter(user.email).reset_actions(),
                  UserModel.two_factor_enabled_at.exists() & (UserModel.session_epoch == user.session_epoch)
                  & UserModel.factor_ids.contains(stored_id)),
    ]
    if reset_credential:
        writes.append(db.delete(reset_credential.item))
    writes.extend(accounts.hand_out(user, client_kind, requester, login))
    writes.append(events.logged(user.user_id, events.LOGIN, requester, {
        "client": client_kind, "method": "passkey", "name": stored.name, "user_verified": result.user_verified}))
    try:
        db.commit(writes)
    except db.CommitRefused as refused:
        if 0 in refused.failed:
            raise Unauthenticated(EXPIRED) from None  # a parallel answer spent the token first
        raise LoginCodeInvalid(REFUSED) from None  # the key moved on, or left, meanwhile
    return login
