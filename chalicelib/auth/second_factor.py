"""The second-factor step of login, common to every factor.

After the password only a login token exists: it carries the user server-side, opens nothing
but /api/login/sms and /api/login/verify, lives 5 minutes and dies after use. A success is
one DynamoDB transaction: the factor's own single-use writes (the TOTP step, the recovery
code), the token's `used_at`, the new browser session and the reset of the failure counter,
so a code and a token are spent together or not at all. Heroku's authorizations take a code
in a header along with the password, with no login token: `verify_code` checks and spends
it through the same `redeem`, with the new authorization in the same transaction.

Throttling (SECURITY.md): one counter per account across methods; after 3 consecutive
failures each attempt waits 1 s doubling to 15 minutes; at 100 the authenticator app and SMS
are locked and the token dies, while a recovery code still works and unlocks them.
"""
from __future__ import annotations

from typing import Any, Callable

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, throttle
from chalicelib.auth import accounts, sessions, tokens
from chalicelib.auth.login import LoginResult
from chalicelib.config import settings
from chalicelib.context import Client
from chalicelib.errors import InvalidRequest, LoginCodeInvalid, TwostepError, Unauthenticated
from chalicelib.factors import login_factors
from chalicelib.factors import sms
from chalicelib.factors.base import LoginFactor, Proof, TxOp
from chalicelib.store import events
from chalicelib.store.models import EphemeralModel, UserModel, commit, connection, get_many, ttl


class TwoFactorLocked(TwostepError):
    status = 403
    code = "two_factor_locked"
    message = ("Too many wrong codes: the authenticator app and SMS codes are locked for this "
               "account. Log in with a recovery code to unlock them.")


def counter(user: UserModel) -> throttle.Counter:
    """The account's one second-factor counter, kept on the user item itself."""
    return throttle.Counter(int(user.second_factor_failures or 0), float(user.second_factor_failed_at or 0.0))


def _locked(current: throttle.Counter) -> bool:
    """Whether the authenticator app and SMS are locked (recovery codes never are)."""
    return current.failures >= throttle.LOCK_AT


def _token_key(token_id: str) -> str:
    return f"login#{token_id}"


def begin(user: UserModel, client_kind: str, client: Client, reset: Any = None) -> LoginResult:
    """The login token after a right password, with what the second step will offer (one
    write, with the password counter's reset when there is one)."""
    now = clock.now()
    token_id, token = tokens.new_token()
    item = EphemeralModel(
        _token_key(token_id),
        user_id=user.user_id,
        email=user.email,
        client=client_kind,
        token_hash=tokens.digest(token),
        authenticator_ids=set(user.authenticator_ids or ()) or None,
        created_at=now,
        expires_at=ttl(now + settings().login_token_seconds),
    )
    if reset is None:
        item.save(condition=EphemeralModel.pk.does_not_exist())
    else:
        commit([lambda tx: tx.save(item, condition=EphemeralModel.pk.does_not_exist()), reset])
    locked = _locked(counter(user))
    methods = [f.method for f in login_factors() if f.offered(user) and not (locked and f.lockable)]
    return LoginResult(status="two_factor_required", user=user, login_token=token, methods=methods,
                       phone_hint=user.phone_hint)


def send_sms(token: str | None, client: Client) -> str:
    """Text a login code to the verified phone (POST /api/login/sms)."""
    login = load_login(token)
    user = _user_of(login, accounts.find(login.email))
    if _locked(counter(user)):
        raise TwoFactorLocked()

    def failed(reason: str) -> None:
        events.record(user.user_id, "sms_failed", client, {"purpose": "login", "reason": reason})

    phone_hint = sms.send_login_code(user, login, failed)
    events.record(user.user_id, "sms_sent", client, {"purpose": "login"})
    return phone_hint


def _expired() -> Unauthenticated:
    return Unauthenticated("This login has expired. Start again with your email and password.")


def load_login(token: str | None) -> EphemeralModel:
    """The live login attempt behind a token, or Unauthenticated (unknown, used, expired)."""
    parsed = tokens.parse(token)
    if parsed is None:
        raise _expired()
    try:
        item = EphemeralModel.get(_token_key(parsed[0]), consistent_read=True)
    except DoesNotExist:
        raise _expired() from None
    if (
        not item.token_hash
        or not tokens.matches(token, item.token_hash)
        or item.used_at is not None
        or item.expires_at is None
        or item.expires_at.timestamp() <= clock.now()
    ):
        raise _expired()
    return item


def _user_of(login: EphemeralModel, user: UserModel | None) -> UserModel:
    if user is None or user.user_id != login.user_id or user.two_factor_enabled_at is None:
        raise _expired()
    return user


def _read(email: str, keys: list) -> tuple[UserModel | None, list]:
    """The user and the factor's items, in one call."""
    user, *items = get_many([(UserModel, email, None), *keys])
    return user, items


def _chosen(submitted: dict[str, Any]) -> tuple[LoginFactor, str]:
    present = [(f, submitted[f.field]) for f in login_factors() if submitted.get(f.field) is not None]
    if len(present) != 1:
        raise InvalidRequest("Send exactly one of: " + ", ".join(f.field for f in login_factors()) + ".")
    factor, value = present[0]
    if not isinstance(value, str) or not value or len(value) > factor.max_length:
        raise InvalidRequest(f"{factor.field} must be a short string.")
    return factor, value


def _fail(login: EphemeralModel | None, user: UserModel, factor: LoginFactor, client: Client) -> None:
    user.update(actions=[UserModel.second_factor_failures.add(1),
                         UserModel.second_factor_failed_at.set(clock.now())])
    failures = int(user.second_factor_failures)
    events.record(user.user_id, "two_factor_failed", client,
                  {"method": factor.method, "consecutive_failures": failures})
    if failures == throttle.LOCK_AT:
        events.record(user.user_id, "two_factor_locked", client, {"consecutive_failures": failures})
    if failures >= throttle.LOCK_AT and login is not None:
        login.delete()  # the login token dies with the lock
    raise LoginCodeInvalid()


def redeem(user: UserModel, factor: LoginFactor, value: str, items: list, client: Client,
           issue: Callable[[], list[TxOp]], event_detail: dict[str, Any],
           login: EphemeralModel | None = None) -> Proof:
    """Check one code and spend it in one transaction with what `issue()` writes (the new
    credential), or count a failure and raise LoginCodeInvalid.

    Every way in shares this: the login token's step and a code sent along with the password
    (Heroku's authorizations), so the account's one counter, its backoff, the lock, the
    single use of codes and the security log are the same whichever way a code arrives.
    With a `login`, its token is spent in the same transaction. The user item is written (the
    counter reset) or checked in it too: two-factor still on, sessions not ended meanwhile."""
    current = counter(user)
    throttle.check(current, throttle.SECOND_FACTOR)
    if factor.lockable and _locked(current):
        raise TwoFactorLocked()
    proof = factor.check(user, value, login, items)
    if proof is None:
        _fail(login, user, factor, client)
    unchanged = UserModel.two_factor_enabled_at.exists() & (UserModel.session_epoch == user.session_epoch)
    logged = [events.build(user.user_id, "login", client, {**event_detail, **proof.detail})]
    if proof.detail.get("method") == "recovery_code":
        logged.append(events.build(user.user_id, "recovery_code_used", client,
                                   {"position": proof.detail.get("position")}))
    try:
        with TransactWrite(connection=connection()) as tx:
            if login is not None:
                tx.update(login, actions=[EphemeralModel.used_at.set(clock.now())],
                          condition=EphemeralModel.used_at.does_not_exist() & EphemeralModel.pk.exists())
            for op in proof.ops:
                op(tx)
            if current.failures:
                tx.update(user, actions=[UserModel.second_factor_failures.remove(),
                                         UserModel.second_factor_failed_at.remove()], condition=unchanged)
            else:
                tx.condition_check(UserModel, user.email, condition=unchanged)
            for op in issue():
                op(tx)
            for event in logged:
                tx.save(event)
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        if login is not None and reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
            raise _expired() from None
        # the code itself was spent meanwhile (a replay racing us): a wrong code
        _fail(login, user, factor, client)
    return proof


def verify(token: str | None, submitted: dict[str, Any], client: Client) -> LoginResult:
    """POST /api/login/verify: three DynamoDB calls (the token; the user with the factor's
    items; the commit) and one KMS call per secret the factor reads."""
    factor, value = _chosen(submitted)
    login = load_login(token)
    keys = factor.reads(login.user_id, set(login.authenticator_ids or ()), value)
    found, items = _read(login.email, keys)
    user = _user_of(login, found)
    result = LoginResult(status="authenticated", user=user)

    def issue() -> list[TxOp]:
        if login.client == "cli":
            result.api_key = accounts.api_key(user)
            return []
        session, result.cookie = sessions.build(user, sessions.BROWSER, client)
        return [lambda tx: tx.save(session)]

    proof = redeem(user, factor, value, items, client, issue, {"client": login.client or "browser"}, login=login)
    result.extra = dict(proof.answer)
    return result


def verify_code(user: UserModel, code: str, client: Client, issue: Callable[[], list[TxOp]],
                event_detail: dict[str, Any]) -> Proof:
    """A code sent with the password, without saying which kind it is (Heroku's
    `Heroku-Two-Factor-Code` header): the factor whose shape it has takes it; a code of no
    known shape is a wrong authenticator code, and counts as one."""
    factors = login_factors()
    factor = next((f for f in factors if f.recognises(code)), factors[0])
    if len(code) > factor.max_length:
        raise InvalidRequest("The two-factor code is too long.")
    keys = factor.reads(user.user_id, set(user.authenticator_ids or ()), code)
    items = get_many(keys) if keys else []
    return redeem(user, factor, code, items, client, issue, event_detail)
