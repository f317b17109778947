"""Failure counters with exponential backoff, shared by passwords and second factors.

A counter is one item in the ephemeral table. Failures are counted with an atomic ADD, so
concurrent failures are all counted. The wait is derived from the count and the time of the
last failure: after `free` consecutive failures each further attempt waits 1 s, doubling per
failure up to `max_delay`. Any attempt during the wait, right or wrong, gets 429.
"""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from chalicelib import clock
from chalicelib.errors import RateLimited
from chalicelib.store.models import EphemeralModel, ttl


@dataclass(frozen=True)
class Backoff:
    free: int
    max_delay: float = 15 * 60
    keep_seconds: float = 24 * 3600

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(2 ** (failures - self.free), self.max_delay))


PASSWORD = Backoff(free=5)
# One counter per account across every second-factor method. It is kept for a year, so the
# lock at LOCK_AT outlives any pause; a successful login resets it.
SECOND_FACTOR = Backoff(free=3, keep_seconds=365 * 24 * 3600)
LOCK_AT = 100


@dataclass(frozen=True)
class Counter:
    failures: int = 0
    last_failure_at: float = 0.0

    def wait(self, policy: Backoff, now: float) -> float:
        if not self.failures:
            return 0.0
        return self.last_failure_at + policy.delay(self.failures) - now


def read(pk: str) -> Counter:
    try:
        return counter_of(EphemeralModel.get(pk, consistent_read=True))
    except DoesNotExist:
        return Counter()


def counter_of(item: EphemeralModel | None) -> Counter:
    """The counter an item holds (an expired one counts as none: TTL deletion is lazy)."""
    if item is None or (item.expires_at is not None and item.expires_at.timestamp() <= clock.now()):
        return Counter()
    return Counter(int(item.failures or 0), float(item.last_failure_at or 0.0))


def check(counter: Counter, policy: Backoff) -> None:
    wait = counter.wait(policy, clock.now())
    if wait > 0:
        raise RateLimited(wait)


def _failure_actions(policy: Backoff) -> list:
    now = clock.now()
    return [
        EphemeralModel.failures.add(1),
        EphemeralModel.last_failure_at.set(now),
        EphemeralModel.expires_at.set(ttl(now + policy.keep_seconds)),
    ]


def record_failure(pk: str, policy: Backoff) -> int:
    item = EphemeralModel(pk)
    item.update(actions=_failure_actions(policy))
    return int(item.failures)


def failure_op(pk: str, policy: Backoff):
    """The same count as a write inside a caller's transaction (atomic ADD all the same)."""
    return lambda tx: tx.update(EphemeralModel(pk), actions=_failure_actions(policy))


def reset(pk: str, counter: Counter) -> None:
    if counter.failures:
        EphemeralModel(pk).delete()


def reset_op(pk: str, counter: Counter):
    """The same reset as a write inside a caller's transaction (None when nothing to reset)."""
    if not counter.failures:
        return None
    return lambda tx: tx.delete(EphemeralModel(pk))


# --- send caps: "at most N per window" and "at least G seconds apart" ---------------------

@dataclass(frozen=True)
class Cap:
    """A cap on an action for one key: `limit` per fixed `window`, or, with `gap`, at least
    `gap` seconds between two. Claimed with conditional writes, so concurrent claims can
    never exceed it."""

    name: str
    key: str
    limit: int = 1
    window: float = 3600
    gap: float | None = None

    def pk(self, now: float) -> str:
        if self.gap is not None:
            return f"gap#{self.name}#{self.key}"
        return f"cap#{self.name}#{self.key}#{int(now // self.window)}"

    def op(self, now: float):
        item = EphemeralModel(self.pk(now))
        if self.gap is not None:
            return lambda tx: tx.update(
                item,
                actions=[EphemeralModel.last_failure_at.set(now), EphemeralModel.expires_at.set(ttl(now + self.gap + 60))],
                condition=EphemeralModel.last_failure_at.does_not_exist()
                | (EphemeralModel.last_failure_at <= now - self.gap),
            )
        bucket_end = (int(now // self.window) + 1) * self.window
        return lambda tx: tx.update(
            item,
            actions=[EphemeralModel.count.add(1), EphemeralModel.expires_at.set(ttl(bucket_end + 60))],
            condition=EphemeralModel.count.does_not_exist() | (EphemeralModel.count < self.limit),
        )

    def retry_after(self, now: float) -> float:
        if self.gap is None:
            return (int(now // self.window) + 1) * self.window - now
        try:
            last = EphemeralModel.get(self.pk(now), consistent_read=True).last_failure_at or now
        except DoesNotExist:
            last = now
        return max(1.0, last + self.gap - now)


def claim(caps: list[Cap], message: str | None = None) -> None:
    """Claim one use under every cap at once, or none: RateLimited names the wait."""
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.store.models import commit

    now = clock.now()
    try:
        commit([cap.op(now) for cap in caps])
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        failed = [cap for cap, reason in zip(caps, reasons)
                  if reason is not None and reason.code == "ConditionalCheckFailed"]
        if not failed:
            raise
        raise RateLimited(max(cap.retry_after(now) for cap in failed), message) from None
