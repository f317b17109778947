"""Turning two-factor on and off, and managing authenticators and recovery codes.

Enabling is one DynamoDB transaction: the authenticator confirmed (its first code spent),
the user marked enabled with a raised session epoch (every other session and authorization
ends) and a new API key, the current session moved to the new epoch, and the recovery codes
written. Either all of it happens or none.
"""
from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import size

from chalicelib import clock, events
from chalicelib.auth import accounts, sessions
from chalicelib.auth.sessions import Principal
from chalicelib.config import settings
from chalicelib.context import Client
from chalicelib.errors import Conflict, NotFound
from chalicelib.factors import recovery, totp
from chalicelib.store.models import CommitRefused, FactorModel, SessionModel, UserModel, commit


def _commit(ops: list, conflict: str) -> None:
    try:
        commit(ops)
    except CommitRefused:
        raise Conflict(conflict) from None


def setup(principal: Principal, password: str, name: str | None, client: Client) -> dict[str, Any]:
    accounts.require_password(principal.user, password, client, "authenticator_setup")
    return totp.start(principal.user, (name or "").strip() or totp.DEFAULT_NAME, settings().issuer)


def confirm(principal: Principal, authenticator_id: str, code: str, client: Client) -> dict[str, Any]:
    user = principal.user
    pending, step = totp.check_pending(user, authenticator_id, code)
    ops = totp.confirm_ops(user, pending, step)
    if user.two_factor_enabled_at is not None:
        ops.append(lambda tx: tx.update(user, actions=[UserModel.authenticator_ids.add({pending.pending_id})],
                                        condition=UserModel.two_factor_enabled_at.exists()))
        ops.append(events.logged(user.user_id, events.AUTHENTICATOR_ADDED, client, {"name": pending.name}))
        _commit(ops, "Two-factor changed meanwhile. Start again.")
        return {"enabled": True}

    now = clock.now()
    new_epoch = int(user.session_epoch) + 1
    key_actions, key_ops, api_key = accounts.api_key_rotation(user, client, epoch=new_epoch)
    codes, code_ops = recovery.new_set_ops(user)
    old_key_id = user.api_key_id
    ops.append(lambda tx: tx.update(
        user,
        actions=[
            UserModel.two_factor_enabled_at.set(now),
            UserModel.session_epoch.set(new_epoch),
            UserModel.authenticator_ids.set({pending.pending_id}),
            UserModel.second_factor_failures.remove(),
            UserModel.second_factor_failed_at.remove(),
            *key_actions,
        ],
        condition=UserModel.two_factor_enabled_at.does_not_exist() & (UserModel.api_key_id == old_key_id),
    ))
    ops.extend(key_ops)
    if principal.session.kind != sessions.API_KEY:
        # the session doing this survives: it moves to the new epoch with the user
        ops.append(lambda tx: tx.update(principal.session, actions=[SessionModel.epoch.set(new_epoch)],
                                        condition=SessionModel.revoked_at.does_not_exist()))
    ops.extend(code_ops)
    ops.append(events.logged(user.user_id, events.TWO_FACTOR_ENABLED, client, {"authenticator": pending.name}))
    ops.append(events.logged(user.user_id, events.API_KEY_REGENERATED, client, {"reason": "two_factor_enabled"}))
    _commit(ops, "Two-factor changed meanwhile. Start again.")
    return {"enabled": True, "recovery_codes": codes, "api_key": api_key}


def disable(principal: Principal, password: str, client: Client) -> dict[str, Any]:
    user = principal.user
    accounts.require_password(user, password, client, "two_factor_disabled")
    if user.two_factor_enabled_at is None:
        return {"enabled": False}
    ops: list = [lambda tx: tx.update(
        user,
        actions=[UserModel.two_factor_enabled_at.remove(), UserModel.authenticator_ids.remove(),
                 UserModel.phone_hint.remove(), UserModel.phone_id.remove(), UserModel.second_factor_failures.remove(),
                 UserModel.second_factor_failed_at.remove()],
        condition=UserModel.two_factor_enabled_at.exists(),
    ), events.logged(user.user_id, events.TWO_FACTOR_DISABLED, client)]
    for item in FactorModel.query(user.user_id, consistent_read=True):
        if item.factor_id == recovery.SET_ID:
            ops.extend(recovery.delete_ops(item))
        else:
            ops.append(lambda tx, item=item: tx.delete(item))
    _commit(ops, "Two-factor changed meanwhile. Try again.")
    return {"enabled": False}


def remove_authenticator(principal: Principal, authenticator_id: str, password: str, client: Client) -> None:
    user = principal.user
    accounts.require_password(user, password, client, "authenticator_removed")
    item = next((a for a in totp.authenticators(user.user_id) if a.factor_id == totp.PREFIX + authenticator_id), None)
    if item is None:
        raise NotFound("No such authenticator.")
    if len(user.authenticator_ids or ()) <= 1:
        raise Conflict("This is your last authenticator. To stop using two-factor, disable it instead.")
    _commit([
        lambda tx: tx.delete(item, condition=FactorModel.factor_id.exists()),
        lambda tx: tx.update(user, actions=[UserModel.authenticator_ids.delete({authenticator_id})],
                             condition=size(UserModel.authenticator_ids) > 1),
        events.logged(user.user_id, events.AUTHENTICATOR_REMOVED, client, {"name": item.name}),
    ], "This is your last authenticator. To stop using two-factor, disable it instead.")


def view_recovery_codes(principal: Principal, password: str, client: Client) -> list[dict[str, Any]]:
    user = principal.user
    accounts.require_password(user, password, client, "recovery_codes_viewed")
    _require_enabled(user)
    codes = recovery.view(user)
    events.record(user.user_id, events.RECOVERY_CODES_VIEWED, client)
    return codes


def regenerate_recovery_codes(principal: Principal, password: str, client: Client) -> list[dict[str, Any]]:
    user = principal.user
    accounts.require_password(user, password, client, "recovery_codes_regenerated")
    _require_enabled(user)
    codes, ops = recovery.new_set_ops(user, replacing=recovery.current_set(user.user_id))
    ops.append(events.logged(user.user_id, events.RECOVERY_CODES_REGENERATED, client))
    _commit(ops, "The recovery codes changed meanwhile. Try again.")
    return [{"code": code, "used_at": None} for code in codes]


def _require_enabled(user: UserModel) -> None:
    if user.two_factor_enabled_at is None:
        raise Conflict("Two-factor authentication is not enabled.")
