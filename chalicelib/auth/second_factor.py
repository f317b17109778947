"""The second-factor step of login, common to every factor (chalicelib/factors).

After the password only a login token exists: it carries the user server-side, opens nothing
but /api/login/challenge (and its alias /api/login/sms) and /api/login/verify, lives 5
minutes and dies after use. Every attempt first claims its place on the account's one
second-factor counter (a conditional UpdateItem on the user item, which is also the read of
the user), then the factor's items are read and the value examined. A success is one
DynamoDB transaction: the factor's own single-use writes (the TOTP step, the recovery code),
the token's `used_at`, the new credential, the counter's reset and the security log, so a
code and a token are spent together or not at all. Heroku's authorizations take a code in a
header along with the password, with no login token: `verify_code` checks and spends it
through the same `redeem`.

Throttling (SECURITY.md): one counter per account across methods; after 3 consecutive
failures each attempt waits 1 s doubling to 15 minutes; at 100 the lockable methods (the
authenticator app, SMS) are locked and the token dies, while a recovery code still works and
unlocks them. Because the claim comes first, attempts fired at once are examined no more
often than the same attempts one after another, and a burst at 99 failures passes the lock
by one at most.
"""
from __future__ import annotations

from typing import Any, Callable

from chalicelib import aws, clock, events, factors, throttle
from chalicelib.auth import accounts, tokens
from chalicelib.auth.results import LoginResult
from chalicelib.config import settings
from chalicelib.context import Requester
from chalicelib.errors import InvalidRequest, LoginCodeInvalid, NotFound, TwoFactorLocked, Unauthenticated
from chalicelib.factors.contract import Factor, Proof, Refusal, TxOp
from chalicelib.store import db, keys
from chalicelib.store.models import LoginAttemptModel, UserModel


def counter(email: str) -> throttle.Counter:
    """The account's one second-factor counter, kept on the user item itself."""
    return throttle.Counter(UserModel(email), UserModel.second_factor_failures,
                            UserModel.second_factor_failed_at, throttle.SECOND_FACTOR)


def _locked(user: UserModel) -> bool:
    """Whether the lockable methods are locked (recovery codes never are)."""
    return int(user.second_factor_failures or 0) >= throttle.LOCK_AT


def offered(user: UserModel) -> list[str]:
    locked = _locked(user)
    return [f.method for f in factors.all_factors() if f.offered(user) and not (locked and f.lockable)]


def typeable(user: UserModel) -> list[str]:
    """The account's methods whose code can be typed with the password, with no challenge
    step before it (a terminal's one prompt): none for an account with only keys."""
    return [f.method for f in factors.all_factors()
            if f.input == "code" and f.challenge_status is None and f.offered(user)]


def begin(user: UserModel, client_kind: str, requester: Requester, reset: Any = None) -> LoginResult:
    """The login token after a right password, with what the second step will offer (one
    write, with the password counter's reset when there is one)."""
    now = clock.now()
    token_id, token = tokens.new_token()
    item = LoginAttemptModel(
        keys.login_attempt(token_id),
        user_id=user.user_id,
        email=user.email,
        client_kind=client_kind,
        token_hash=tokens.digest(token),
        factor_ids=set(user.factor_ids or ()) or None,
        created_at=now,
        challenges={},
        expires_at=db.ttl(now + settings().login_token_seconds),
    )
    db.commit([db.create(item), *([reset] if reset is not None else [])])
    return LoginResult(status="two_factor_required", user=user, login_token=token, methods=offered(user),
                       phone_hint=user.phone_hint)


def _method(name: Any) -> Factor:
    factor = factors.get(name) if isinstance(name, str) else None
    if factor is None:
        raise InvalidRequest("method must be one of: " + ", ".join(f.method for f in factors.all_factors()) + ".")
    return factor


def challenge(token: str | None, method: Any, requester: Requester) -> tuple[int, dict[str, Any]]:
    """POST /api/login/challenge: what a method needs before its answer (an SMS code sent, a
    key's request options), as (status, body)."""
    factor = _method(method)
    if factor.challenge_status is None:
        raise InvalidRequest(f"{factor.method} needs no challenge: send its {factor.field} to /api/login/verify.")
    login = load_login(token)
    user = _user_of(login, accounts.find(login.email))
    if factor.lockable and _locked(user):
        raise TwoFactorLocked()
    if not factor.offered(user):
        raise NotFound(f"{factor.label} is not set up on this account.")
    return factor.challenge_status, factor.challenge(user, login, requester)


def _expired() -> Unauthenticated:
    return Unauthenticated("This login has expired. Start again with your email and password.")


def load_login(token: str | None) -> LoginAttemptModel:
    """The live login attempt behind a token, or Unauthenticated (unknown, used, expired)."""
    parsed = tokens.parse(token)
    item = db.get(LoginAttemptModel, keys.login_attempt(parsed[0])) if parsed is not None else None
    if item is None or not tokens.matches(token, item.token_hash) or item.used_at is not None or not db.alive(item):
        raise _expired()
    return item


def _user_of(login: LoginAttemptModel, user: UserModel | None) -> UserModel:
    if user is None or user.user_id != login.user_id or user.two_factor_enabled_at is None:
        raise _expired()
    return user


def _chosen(submitted: dict[str, Any]) -> tuple[Factor, Any]:
    every = factors.all_factors()
    present = [(f, submitted[f.field]) for f in every if submitted.get(f.field) is not None]
    if len(present) != 1:
        raise InvalidRequest("Send exactly one of: " + ", ".join(f.field for f in every) + ".")
    factor, raw = present[0]
    return factor, factor.value(raw)


def _claim(email: str, user_id: str, factor: Factor) -> tuple[throttle.Counter, throttle.Counted]:
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


def _failed(login: LoginAttemptModel | None, user: UserModel, factor: Factor, count: int,
            requester: Requester, refusal: Refusal | None = None) -> None:
    """An examined wrong value: already counted by its claim; the log says so (with the
    factor's reason, when it gave one), and at the lock the login token dies with it."""
    refusal = refusal or Refusal()
    writes: list[TxOp] = [events.logged(
        user.user_id, events.TWO_FACTOR_FAILED, requester,
        {**refusal.detail, "method": factor.method, "consecutive_failures": count})]
    writes.extend(events.logged(user.user_id, type_, requester, detail) for type_, detail in refusal.events)
    if count == throttle.LOCK_AT:
        writes.append(events.logged(user.user_id, events.TWO_FACTOR_LOCKED, requester, {"consecutive_failures": count}))
    if count >= throttle.LOCK_AT and login is not None:
        writes.append(db.delete(login))
    db.commit(writes)
    raise LoginCodeInvalid()


def redeem(email: str, user_id: str, factor: Factor, value: Any, requester: Requester,
           factor_ids: Callable[[UserModel], set[str]], issue: Callable[[UserModel], list[TxOp]],
           event_detail: dict[str, Any], login: LoginAttemptModel | None = None) -> tuple[UserModel, Proof]:
    """Claim, read, check one value and spend it in one transaction with what `issue(user)`
    writes (the new credential), or raise LoginCodeInvalid with the failure counted.

    Every way in shares this: the login token's step and a code sent along with the password
    (Heroku's authorizations), so the account's one counter, its backoff, the lock, the
    single use of codes and the security log are the same whichever way a code arrives.
    With a `login`, its token is spent in the same transaction. The user item is written in
    it too (the counter reset), on condition that two-factor is still on and its credentials
    were not ended meanwhile."""
    user_counter, counted = _claim(email, user_id, factor)
    user = counted.item
    try:
        reads = factor.reads(user.user_id, factor_ids(user), value)
        proof = factor.check(user, value, login, db.get_many(reads) if reads else [])
    except Exception as exc:
        if aws.unavailable(exc):
            user_counter.release()  # the value was never examined
        raise
    if proof is None or isinstance(proof, Refusal):
        _failed(login, user, factor, counted.failures, requester, proof)
    unchanged = UserModel.two_factor_enabled_at.exists() & (UserModel.session_epoch == user.session_epoch)
    if proof.user_condition is not None:
        unchanged = unchanged & proof.user_condition
    writes: list[TxOp] = []
    if login is not None:
        writes.append(db.update(login, [LoginAttemptModel.used_at.set(clock.now())],
                                LoginAttemptModel.used_at.does_not_exist() & LoginAttemptModel.pk.exists()))
    writes.extend(proof.ops)
    writes.append(db.update(user, user_counter.reset_actions(), unchanged))
    try:
        writes.extend(issue(user))
    except Exception as exc:
        if aws.unavailable(exc):
            user_counter.release()  # the right value was not spent
        raise
    writes.append(events.logged(user.user_id, events.LOGIN, requester, {**event_detail, **proof.detail}))
    writes.extend(events.logged(user.user_id, type_, requester, detail) for type_, detail in proof.events)
    try:
        db.commit(writes)
    except db.CommitRefused as refused:
        if login is not None and 0 in refused.failed:
            raise _expired() from None
        # the value itself was spent meanwhile (a replay racing us), or its factor is gone:
        # a wrong value, already counted
        _failed(login, user, factor, counted.failures, requester)
    except Exception as exc:
        if aws.unavailable(exc):
            user_counter.release()  # nothing was written: the right value may be sent again
        raise
    return user, proof


def verify(token: str | None, submitted: dict[str, Any], requester: Requester) -> LoginResult:
    """POST /api/login/verify: at most four DynamoDB calls (the token; the claim, which reads
    the user; the factor's items, when it has any; the commit) and one KMS call per secret
    the factor reads."""
    factor, value = _chosen(submitted)
    login = load_login(token)
    result = LoginResult(status="authenticated", user=None)
    snapshot = login.factor_ids_of()

    def issue(user: UserModel) -> list[TxOp]:
        return accounts.hand_out(user, login.client_kind or "browser", requester, result)

    user, proof = redeem(login.email, login.user_id, factor, value, requester, lambda user: snapshot, issue,
                         {"client": login.client_kind or "browser"}, login=login)
    result.user = user
    result.extra = dict(proof.answer)
    return result


def verify_code(user: UserModel, code: str, requester: Requester, issue: Callable[[UserModel], list[TxOp]],
                event_detail: dict[str, Any]) -> Proof:
    """A code sent with the password, without saying which kind it is (Heroku's
    `Heroku-Two-Factor-Code` header): the factor whose shape it has takes it; a code of no
    known shape is a wrong code of the first factor (the authenticator app's), and counts
    as one."""
    every = factors.all_factors()
    factor = next((f for f in every if f.recognises(code)), every[0])
    if len(code) > factor.max_length:
        raise InvalidRequest("The two-factor code is too long.")
    _, proof = redeem(user.email, user.user_id, factor, code, requester,
                      lambda current: set(current.factor_ids_of()), issue, event_detail)
    return proof
