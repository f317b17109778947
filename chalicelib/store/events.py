"""The account's security log: one item per event, newest read first."""
from __future__ import annotations

import itertools
import secrets
from typing import Any

from chalicelib import clock
from chalicelib.context import Requester
from chalicelib.store.db import ttl
from chalicelib.store.models import EventModel, plain

RETENTION_SECONDS = 400 * 24 * 3600
MAX_USER_AGENT = 256
# Orders the events one container writes within the same millisecond.
_sequence = itertools.count()


def record(user_id: str, type_: str, requester: Requester, detail: dict[str, Any] | None = None) -> None:
    """Write one event. `detail` must never hold a password, code, secret, token or key."""
    build(user_id, type_, requester, detail).save()


def build(user_id: str, type_: str, requester: Requester, detail: dict[str, Any] | None = None) -> EventModel:
    """One event, not yet written: for a caller that writes it in its own transaction."""
    now = clock.now()
    return EventModel(
        user_id,
        f"{int(now * 1000):015d}#{next(_sequence) % 10**9:09d}#{secrets.token_hex(4)}",
        type=type_,
        at=now,
        ip=requester.ip,
        user_agent=(requester.user_agent or "")[:MAX_USER_AGENT] or None,
        detail=detail or {},
        expires_at=ttl(now + RETENTION_SECONDS),
    )


def recent(user_id: str, limit: int = 100) -> list[dict[str, Any]]:
    events = EventModel.query(user_id, scan_index_forward=False, limit=limit)
    return [
        {
            "type": e.type,
            "at": clock.rfc3339(e.at),
            "ip": e.ip,
            "user_agent": e.user_agent,
            "detail": plain(e.detail),
        }
        for e in events
    ]
