"""Who is asking: the facts about a request that the domain records (never the body)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    ip: str | None = None
    user_agent: str | None = None
