"""The second-factor step of login, common to every factor.

After the password only a login token exists: it carries the user server-side, opens nothing
but /api/login/sms and /api/login/verify, lives 5 minutes and dies after use. Every attempt
first claims its place on the account's one second-factor counter (a conditional UpdateItem
on the user item, which is also the read of the user), then the factor's items are read and
the code examined. A success is one DynamoDB transaction: the factor's own single-use writes
(the TOTP step, the recovery code), the token's `used_at`, the new credential, the counter's
reset and the security log, so a code and a token are spent together or not at all. Heroku's
authorizations take a code in a header along with the password, with no login token:
`verify_code` checks and spends it through the same `redeem`.

Throttling (SECURITY.md): one counter per account across methods; after 3 consecutive
failures each attempt waits 1 s doubling to 15 minutes; at 100 the authenticator app and SMS
are locked and the token dies, while a recovery code still works and unlocks them. Because
the claim comes first, attempts fired at once are examined no more often than the same
attempts one after another, and a burst at 99 failures passes the lock by one at most.
"""
from __future__ import annotations

from typing import Any, Callable

from pynamodb.exceptions import DoesNotExist

from chalicelib import aws, clock, events, throttle
from chalicelib.auth import accounts, sessions, tokens
from chalicelib.auth.login import LoginResult
from chalicelib.config import settings
from chalicelib.context import Client
from chalicelib.errors import InvalidRequest, LoginCodeInvalid, TwoFactorLocked, Unauthenticated
from chalicelib.factors import login_factors
from chalicelib.factors import sms
from chalicelib.factors.base import LoginFactor, Proof, TxOp
from chalicelib.store.models import CommitRefused, EphemeralModel, UserModel, commit, get_many, ttl


def counter(email: str) -> throttle.Counter:
    """The account's one second-factor counter, kept on the user item itself."""
    return throttle.Counter(UserModel(email), UserModel.second_factor_failures,
                            UserModel.second_factor_failed_at, throttle.SECOND_FACTOR)


def _locked(user: UserModel) -> bool:
    """Whether the authenticator app and SMS are locked (recovery codes never are)."""
    return int(user.second_factor_failures or 0) >= throttle.LOCK_AT


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
    writes = [lambda tx: tx.save(item, condition=EphemeralModel.pk.does_not_exist())]
    if reset is not None:
        writes.append(reset)
    commit(writes)
    locked = _locked(user)
    methods = [f.method for f in login_factors() if f.offered(user) and not (locked and f.lockable)]
    return LoginResult(status="two_factor_required", user=user, login_token=token, methods=methods,
                       phone_hint=user.phone_hint)


def send_sms(token: str | None, client: Client) -> str:
    """Text a login code to the verified phone (POST /api/login/sms)."""
    login = load_login(token)
    user = _user_of(login, accounts.find(login.email))
    if _locked(user):
        raise TwoFactorLocked()
    return sms.send_login_code(user, login, client)


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


def _chosen(submitted: dict[str, Any]) -> tuple[LoginFactor, str]:
    present = [(f, submitted[f.field]) for f in login_factors() if submitted.get(f.field) is not None]
    if len(present) != 1:
        raise InvalidRequest("Send exactly one of: " + ", ".join(f.field for f in login_factors()) + ".")
    factor, value = present[0]
    if not isinstance(value, str) or not value or len(value) > factor.max_length:
        raise InvalidRequest(f"{factor.field} must be a short string.")
    return factor, value


def _claim(email: str, user_id: str, factor: LoginFactor, login: EphemeralModel | None) -> tuple[throttle.Counter, throttle.Counted]:
    """Claim this attempt's place on the account's counter: the read of the user, too."""
    user_counter = counter(email)
    extra = (UserModel.user_id == user_id) & UserModel.two_factor_enabled_at.exists()
    if factor.lockable:
        extra = extra & (UserModel.second_factor_failures.does_not_exist()
                         | (UserModel.second_factor_failures < throttle.LOCK_AT))
    try:
        return user_counter, user_counter.claim(extra)
    except throttle.CounterRefused as refused:
        user = refused.item
        if user is None or user.user_id != user_id or user.two_factor_enabled_at is None:
            raise _expired() from None
        if refused.wait > 0:
            raise refused.rate_limited() from None
        raise TwoFactorLocked() from None  # only the lock is left to have refused it


def _failed(login: EphemeralModel | None, user: UserModel, factor: LoginFactor, count: int, client: Client) -> None:
    """An examined wrong code: already counted by its claim; the log says so, and at the
    lock the login token dies with it."""
    writes: list[TxOp] = [events.logged(
        user.user_id, events.TWO_FACTOR_FAILED, client, {"method": factor.method, "consecutive_failures": count})]
    if count == throttle.LOCK_AT:
        writes.append(events.logged(user.user_id, events.TWO_FACTOR_LOCKED, client, {"consecutive_failures": count}))
    if count >= throttle.LOCK_AT and login is not None:
        writes.append(lambda tx: tx.delete(login))
    commit(writes)
    raise LoginCodeInvalid()


def redeem(email: str, user_id: str, factor: LoginFactor, value: str, client: Client,
           reads: Callable[[UserModel], list], issue: Callable[[UserModel], list[TxOp]],
           event_detail: dict[str, Any], login: EphemeralModel | None = None) -> tuple[UserModel, Proof]:
    """Claim, read, check one code and spend it in one transaction with what `issue(user)`
    writes (the new credential), or raise LoginCodeInvalid with the failure counted.

    Every way in shares this: the login token's step and a code sent along with the password
    (Heroku's authorizations), so the account's one counter, its backoff, the lock, the
    single use of codes and the security log are the same whichever way a code arrives.
    With a `login`, its token is spent in the same transaction. The user item is written in
    it too (the counter reset), on condition that two-factor is still on and its sessions
    were not ended meanwhile."""
    user_counter, counted = _claim(email, user_id, factor, login)
    user = counted.item
    try:
        keys = reads(user)
        items = get_many(keys) if keys else []
        proof = factor.check(user, value, login, items)
    except Exception as exc:
        if aws.unavailable(exc):
            user_counter.release()  # the code was never examined
        raise
    if proof is None:
        _failed(login, user, factor, counted.failures, client)
    unchanged = UserModel.two_factor_enabled_at.exists() & (UserModel.session_epoch == user.session_epoch)
    if proof.user_condition is not None:
        unchanged = unchanged & proof.user_condition
    logged = [events.build(user.user_id, events.LOGIN, client, {**event_detail, **proof.detail})]
    if proof.detail.get("method") == "recovery_code":
        logged.append(events.build(user.user_id, events.RECOVERY_CODE_USED, client,
                                   {"position": proof.detail.get("position")}))
    writes: list[TxOp] = []
    if login is not None:
        writes.append(lambda tx: tx.update(login, actions=[EphemeralModel.used_at.set(clock.now())],
                                           condition=EphemeralModel.used_at.does_not_exist() & EphemeralModel.pk.exists()))
    writes.extend(proof.ops)
    writes.append(lambda tx: tx.update(user, actions=user_counter.reset_actions(), condition=unchanged))
    try:
        writes.extend(issue(user))
    except Exception as exc:
        if aws.unavailable(exc):
            user_counter.release()  # the right code was not spent
        raise
    writes.extend(lambda tx, event=event: tx.save(event) for event in logged)
    try:
        commit(writes)
    except CommitRefused as refused:
        if login is not None and 0 in refused.failed:
            raise _expired() from None
        # the code itself was spent meanwhile (a replay racing us), or its factor is gone:
        # a wrong code, already counted
        _failed(login, user, factor, counted.failures, client)
    except Exception as exc:
        if aws.unavailable(exc):
            user_counter.release()  # nothing was written: the right code may be sent again
        raise
    return user, proof


def verify(token: str | None, submitted: dict[str, Any], client: Client) -> LoginResult:
    """POST /api/login/verify: at most four DynamoDB calls (the token; the claim, which reads
    the user; the factor's items, when it has any; the commit) and one KMS call per secret
    the factor reads."""
    factor, value = _chosen(submitted)
    login = load_login(token)
    result = LoginResult(status="authenticated", user=None)  # type: ignore[arg-type]
    snapshot = set(login.authenticator_ids or ())

    def issue(user: UserModel) -> list[TxOp]:
        if login.client == "cli":
            result.api_key = accounts.api_key(user)
            return []
        session, result.cookie = sessions.build(user, sessions.BROWSER, client)
        return [lambda tx: tx.save(session)]

    user, proof = redeem(login.email, login.user_id, factor, value, client,
                         lambda user: factor.reads(user.user_id, snapshot, value), issue,
                         {"client": login.client or "browser"}, login=login)
    result.user = user
    result.extra = dict(proof.answer)
    return result


def verify_code(user: UserModel, code: str, client: Client, issue: Callable[[UserModel], list[TxOp]],
                event_detail: dict[str, Any]) -> Proof:
    """A code sent with the password, without saying which kind it is (Heroku's
    `Heroku-Two-Factor-Code` header): the factor whose shape it has takes it; a code of no
    known shape is a wrong authenticator code, and counts as one."""
    factors = login_factors()
    factor = next((f for f in factors if f.recognises(code)), factors[0])
    if len(code) > factor.max_length:
        raise InvalidRequest("The two-factor code is too long.")
    _, proof = redeem(user.email, user.user_id, factor, code, client,
                      lambda current: factor.reads(current.user_id, set(current.authenticator_ids or ()), code),
                      issue, event_detail)
    return proof
