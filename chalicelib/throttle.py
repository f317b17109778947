"""Failure counters with exponential backoff, and send caps: claimed before the check.

A counter is a pair of attributes on an item (failures so far, time of the last claim): the
password counter of an email address, the second-factor and the password re-entry counters
of an account, the phone setup code's. An attempt first *claims* its place with one
conditional UpdateItem that counts it as a failure in advance and returns the item; only
then is the password or code examined. A success resets the counter (in the same write as
the success itself), a failure is already counted, and an attempt that never reached its
check (a fault of a service behind us) gives its place back.

So N attempts fired at once are examined no more often than the same N one after another:
the condition on the claim is the backoff itself, "fewer than `free` failures, or the wait
for this many failures is over", written out for every count at which the wait changes
(it doubles up to `max_delay`, so a dozen terms). DynamoDB applies the claims one at a
time, and each sees the ones before it.

Send caps ("at most N per window", "at least G seconds apart") are claimed the same way,
all of them in one transaction, before anything is sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import clock
from chalicelib.errors import RateLimited
from chalicelib.store import db, keys
from chalicelib.store.models import CapModel, CounterModel


@dataclass(frozen=True)
class Backoff:
    free: int
    max_delay: float = 15 * 60
    keep_seconds: float = 24 * 3600

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(2 ** (failures - self.free), self.max_delay))

    def wait(self, failures: int, last_at: float, now: float) -> float:
        """Seconds until one more attempt may be examined (0 or less: now)."""
        if failures < self.free:
            return 0.0
        return last_at + self.delay(failures) - now

    def allows(self, failures: Any, last_at: Any, now: float) -> Any:
        """The condition under which one more attempt may be examined at `now`, over the
        item's `failures` and `last_at` attributes: one term per count whose wait differs."""
        condition = failures.does_not_exist() | (failures < self.free)
        count = self.free
        while self.delay(count) < self.max_delay:
            condition = condition | ((failures == count) & (last_at <= now - self.delay(count)))
            count += 1
        return condition | ((failures >= count) & (last_at <= now - self.max_delay))


PASSWORD = Backoff(free=5)
# One counter per account across every second-factor method, on the user item; a successful
# second factor resets it.
SECOND_FACTOR = Backoff(free=3, keep_seconds=365 * 24 * 3600)
LOCK_AT = 100
# Passkey sign-in has no password before it: its refusals count per client network and per
# credential named, never on the owner's counter.
PASSKEY_ADDRESS = Backoff(free=10)
PASSKEY_CREDENTIAL = Backoff(free=5)


@dataclass
class Counted:
    """A claimed attempt: the item as the claim left it and the failures counted so far,
    this attempt included."""

    item: Any
    failures: int


class Counter:
    """One failure counter: the item it lives on, the names of its two attributes, its curve.

    `claim()` is the only way an attempt reaches its check. `extra` adds to the claim's
    condition (the lock at 100, two-factor still on): when the claim is refused, the caller
    is handed the item as it was, to tell the backoff from its own conditions."""

    def __init__(self, item: Any, failures: Any, last_at: Any, policy: Backoff, *, expires: Any = None) -> None:
        self.item = item
        self.failures = failures
        self.last_at = last_at
        self.policy = policy
        self.expires = expires  # the item's TTL attribute, for counters on short-lived items

    def _one_more(self, now: float) -> list:
        """The actions that count one more failure at `now` (and keep the item as long)."""
        actions = [self.failures.add(1), self.last_at.set(now)]
        if self.expires is not None:
            actions.append(self.expires.set(db.ttl(now + self.policy.keep_seconds)))
        return actions

    def claim(self, extra: Any = None) -> Counted:
        now = clock.now()
        condition = self.policy.allows(self.failures, self.last_at, now)
        if extra is not None:
            condition = condition & extra
        try:
            item = db.claim(self.item, self._one_more(now), condition)
        except db.Refused as refused:
            raise CounterRefused(self, refused.item, now) from None
        return Counted(item, int(getattr(item, self.failures.attr_name) or 0))

    def failed_op(self) -> Any:
        """One more failure, as a write of a transaction: for counters that are read rather
        than claimed first (passkey sign-in's, whose attempts are bounded by their tokens)."""
        return db.update(self.item, self._one_more(clock.now()))

    def reset_actions(self) -> list:
        """For the success's own write: the consecutive failures start again from zero."""
        return [self.failures.remove(), self.last_at.remove()]

    def release(self) -> None:
        """Give back a claim whose attempt was never examined (best effort: if this write
        fails too, the attempt stays counted, which only errs on the side of caution)."""
        try:
            db.claim(self.item, [self.failures.add(-1)], self.failures >= 1)
        except Exception:  # noqa: BLE001 - the original fault is what the caller reports
            pass

    def wait(self, item: Any, now: float) -> float:
        if item is None:
            return 0.0
        failures = int(getattr(item, self.failures.attr_name) or 0)
        last_at = float(getattr(item, self.last_at.attr_name) or 0.0)
        return self.policy.wait(failures, last_at, now)


class CounterRefused(Exception):
    """The claim's condition failed: `item` is the item as it was (None if missing)."""

    def __init__(self, counter: Counter, item: Any, now: float) -> None:
        super().__init__("claim refused")
        self.counter = counter
        self.item = item
        self.now = now

    @property
    def failures(self) -> int:
        return 0 if self.item is None else int(getattr(self.item, self.counter.failures.attr_name) or 0)

    @property
    def wait(self) -> float:
        return self.counter.wait(self.item, self.now)

    def rate_limited(self, message: str | None = None) -> RateLimited:
        return RateLimited(max(1.0, self.wait), message)


def ephemeral_counter(pk: str, policy: Backoff) -> Counter:
    """A counter on an item of its own in the ephemeral table (kept `keep_seconds`)."""
    return Counter(CounterModel(pk), CounterModel.failures, CounterModel.last_failure_at, policy,
                   expires=CounterModel.expires_at)


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
            return keys.cap_gap(self.name, self.key)
        return keys.cap_window(self.name, self.key, int(now // self.window))

    def op(self, now: float):
        item = CapModel(self.pk(now))
        if self.gap is not None:
            return db.update(item, [CapModel.last_at.set(now), CapModel.expires_at.set(db.ttl(now + self.gap + 60))],
                             CapModel.last_at.does_not_exist() | (CapModel.last_at <= now - self.gap))
        bucket_end = (int(now // self.window) + 1) * self.window
        return db.update(item, [CapModel.count.add(1), CapModel.expires_at.set(db.ttl(bucket_end + 60))],
                         CapModel.count.does_not_exist() | (CapModel.count < self.limit))

    def retry_after(self, now: float) -> float:
        if self.gap is None:
            return (int(now // self.window) + 1) * self.window - now
        found = db.get(CapModel, self.pk(now))
        last = (found.last_at if found is not None else None) or now
        return max(1.0, last + self.gap - now)


def claim(caps: list[Cap], message: str | None = None, writes: list | None = None) -> None:
    """Claim one use under every cap at once (with `writes`, in the same transaction), or
    none: RateLimited names the wait."""
    now = clock.now()
    try:
        db.commit([cap.op(now) for cap in caps] + list(writes or []))
    except db.CommitRefused as refused:
        failed = [cap for index, cap in enumerate(caps) if index in refused.failed]
        if not failed:
            raise
        raise RateLimited(max(cap.retry_after(now) for cap in failed), message) from None
