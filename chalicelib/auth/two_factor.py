"""Two-factor on an account: adding and removing factors of any kind, turning it off, the
recovery codes, and the `two_factor` block of GET /api/account.

A factor of a kind that enrols (chalicelib/factors: an authenticator app, a security key) is
added in two steps, the password first (`enrol`, then `confirm` with its proof). The first
one turns two-factor on, in one DynamoDB transaction: the factor stored (its proof spent),
the user marked enabled with a raised session epoch (every other session and authorization
ends) and a new API key, the current session moved to the new epoch, and the recovery codes
written. Either all of it happens or none. The account's factor ids across kinds
(`UserModel.factor_ids`) guard the last one: it cannot be removed, only two-factor disabled.
"""
from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import size

from chalicelib import clock, events, factors, fields
from chalicelib.auth import accounts, credentials
from chalicelib.auth.credentials import Principal
from chalicelib.context import Requester
from chalicelib.errors import Conflict, NotFound
from chalicelib.factors import recovery
from chalicelib.factors.contract import Enrolment, Factor
from chalicelib.store import db, keys
from chalicelib.store.models import CredentialModel, FactorModel, UserModel



def _last(factor: Factor) -> Conflict:
    return Conflict(f"This is your last {factor.label[0].lower() + factor.label[1:]}, and your account's last "
                    "two-factor method. To stop using two-factor, disable it instead.")

CHANGED = "Two-factor changed meanwhile. Start again."


def _enrolling(method: str) -> Factor:
    factor = factors.get(method)
    if factor is None or not factor.enrols:
        raise NotFound("No such kind of two-factor method.")
    return factor


def enrol(principal: Principal, method: str, data: dict[str, Any], requester: Requester) -> dict[str, Any]:
    """The first step of adding a factor: the password, then what the person needs to make
    its proof (a QR code, a key's creation options)."""
    factor = _enrolling(method)
    password = fields.password(data)
    checked = factor.begin_fields(data)  # a malformed request costs no password attempt
    user = accounts.require_password(principal.user, password, requester, f"{factor.noun}_setup")
    return factor.begin(user, checked, requester)


def confirm(principal: Principal, method: str, data: dict[str, Any], requester: Requester) -> dict[str, Any]:
    """The second step: the proof checked by its kind, then stored with the account's list of
    factors; the first factor of any kind turns two-factor on."""
    factor = _enrolling(method)
    added = factor.finish(principal.user, data, requester)
    if principal.user.two_factor_enabled_at is not None:
        return _add(principal, factor, added, requester)
    return _enable(principal, factor, added, requester)


def _add(principal: Principal, factor: Factor, added: Enrolment, requester: Requester) -> dict[str, Any]:
    user = principal.user
    db.commit_or([
        *added.ops,
        db.update(user, [UserModel.factor_ids.add({added.factor_id})], UserModel.two_factor_enabled_at.exists()),
        events.logged(user.user_id, factor.added_event, requester, {**added.detail, "name": added.name}),
    ], lambda failed: Conflict(CHANGED))
    return {"enabled": True, **added.answer}


def _enable(principal: Principal, factor: Factor, added: Enrolment, requester: Requester) -> dict[str, Any]:
    user = principal.user
    new_epoch = int(user.session_epoch) + 1
    key_actions, key_ops, api_key = accounts.api_key_rotation(user, requester, epoch=new_epoch)
    codes, code_ops = recovery.new_set_ops(user)
    writes = [*added.ops, db.update(
        user,
        [UserModel.two_factor_enabled_at.set(clock.now()), UserModel.session_epoch.set(new_epoch),
         UserModel.factor_ids.set({added.factor_id}), UserModel.second_factor_failures.remove(),
         UserModel.second_factor_failed_at.remove(), *key_actions],
        UserModel.two_factor_enabled_at.does_not_exist() & (UserModel.api_key_id == user.api_key_id),
    ), *key_ops]
    if principal.session.kind != credentials.API_KEY:
        # the session doing this survives: it moves to the new epoch with the user
        writes.append(db.update(principal.session, [CredentialModel.epoch.set(new_epoch)],
                                CredentialModel.revoked_at.does_not_exist()))
    writes.extend(code_ops)
    writes.append(events.logged(user.user_id, events.TWO_FACTOR_ENABLED, requester,
                                {**added.detail, "method": factor.method}))
    writes.append(events.logged(user.user_id, events.API_KEY_REGENERATED, requester, {"reason": "two_factor_enabled"}))
    db.commit_or(writes, lambda failed: Conflict(CHANGED))
    return {"enabled": True, **added.answer, "recovery_codes": codes, "api_key": api_key}


def remove(principal: Principal, method: str, factor_key: str, password: str, requester: Requester) -> None:
    """Remove one factor of a kind; 409 for the account's last factor of any kind."""
    factor = _enrolling(method)
    user = accounts.require_password(principal.user, password, requester, f"{factor.noun}_removed")
    factor_id = keys.factor(factor.method, factor_key)
    stored = user.factor_ids_of()
    item = db.get(FactorModel, user.user_id, factor_id) if factor_id in stored else None
    if item is None:
        raise NotFound(factor.not_found)
    if len(stored) <= 1:
        raise _last(factor)
    db.commit_or([
        db.delete(item, FactorModel.factor_id.exists()),
        db.update(user, [UserModel.factor_ids.delete({stored[factor_id]})], size(UserModel.factor_ids) > 1),
        events.logged(user.user_id, factor.removed_event, requester, {"name": item.name}),
    ], lambda failed: _last(factor))


def listing(user_id: str) -> list[dict[str, Any]]:
    """The account's factors of every kind that enrols, each with its method."""
    return [{**entry, "method": factor.method} for factor in factors.enrolling() for entry in factor.listing(user_id)]


def disable(principal: Principal, password: str, requester: Requester) -> dict[str, Any]:
    user = accounts.require_password(principal.user, password, requester, "two_factor_disabled")
    if user.two_factor_enabled_at is None:
        return {"enabled": False}
    writes = [db.update(
        user,
        [UserModel.two_factor_enabled_at.remove(), UserModel.factor_ids.remove(), UserModel.phone_hint.remove(),
         UserModel.phone_id.remove(), UserModel.second_factor_failures.remove(),
         UserModel.second_factor_failed_at.remove()],
        UserModel.two_factor_enabled_at.exists(),
    ), events.logged(user.user_id, events.TWO_FACTOR_DISABLED, requester)]
    for item in FactorModel.query(user.user_id, consistent_read=True):
        writes.extend(recovery.delete_ops(item) if item.factor_id == recovery.SET_ID else [db.delete(item)])
    db.commit_or(writes, lambda failed: Conflict("Two-factor changed meanwhile. Try again."))
    return {"enabled": False}


def view_recovery_codes(principal: Principal, password: str, requester: Requester) -> list[dict[str, Any]]:
    user = accounts.require_password(principal.user, password, requester, "recovery_codes_viewed")
    _require_enabled(user)
    codes = recovery.view(user)
    events.record(user.user_id, events.RECOVERY_CODES_VIEWED, requester)
    return codes


def regenerate_recovery_codes(principal: Principal, password: str, requester: Requester) -> list[dict[str, Any]]:
    user = accounts.require_password(principal.user, password, requester, "recovery_codes_regenerated")
    _require_enabled(user)
    codes, writes = recovery.new_set_ops(user, replacing=recovery.current_set(user.user_id))
    writes.append(events.logged(user.user_id, events.RECOVERY_CODES_REGENERATED, requester))
    db.commit_or(writes, lambda failed: Conflict("The recovery codes changed meanwhile. Try again."))
    return [{"code": code, "used_at": None} for code in codes]


def _require_enabled(user: UserModel) -> None:
    if user.two_factor_enabled_at is None:
        raise Conflict("Two-factor authentication is not enabled.")


def status(user: UserModel) -> dict[str, Any]:
    """The `two_factor` block of GET /api/account."""
    if user.two_factor_enabled_at is None:
        return {"enabled": False, "enabled_at": None, "phone": None,
                "recovery_codes_remaining": 0, "recovery_codes_low": False}
    from chalicelib.factors.sms import setup as phone  # only accounts with two-factor need it

    remaining = recovery.remaining(user.user_id)
    return {
        "enabled": True,
        "enabled_at": clock.rfc3339(user.two_factor_enabled_at),
        "phone": phone.status(user),
        "recovery_codes_remaining": remaining,
        "recovery_codes_low": remaining <= recovery.LOW,
    }

