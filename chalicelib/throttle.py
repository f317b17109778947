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
        item = EphemeralModel.get(pk, consistent_read=True)
    except DoesNotExist:
        return Counter()
    if item.expires_at is not None and item.expires_at.timestamp() <= clock.now():
        return Counter()
    return Counter(int(item.failures or 0), float(item.last_failure_at or 0.0))


def check(counter: Counter, policy: Backoff) -> None:
    wait = counter.wait(policy, clock.now())
    if wait > 0:
        raise RateLimited(wait)


def record_failure(pk: str, policy: Backoff) -> int:
    now = clock.now()
    item = EphemeralModel(pk)
    item.update(
        actions=[
            EphemeralModel.failures.add(1),
            EphemeralModel.last_failure_at.set(now),
            EphemeralModel.expires_at.set(ttl(now + policy.keep_seconds)),
        ]
    )
    return int(item.failures)


def reset(pk: str, counter: Counter) -> None:
    if counter.failures:
        EphemeralModel(pk).delete()


def reset_op(pk: str, counter: Counter):
    """The same reset as a write inside a caller's transaction (None when nothing to reset)."""
    if not counter.failures:
        return None
    return lambda tx: tx.delete(EphemeralModel(pk))
