"""Who is asking: the facts about a request that the domain records (never the body)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPV6_PREFIX = 64  # one customer's allocation: an IPv6 client can use any address inside it


@dataclass(frozen=True)
class Requester:
    ip: str | None = None
    user_agent: str | None = None

    @property
    def network(self) -> str:
        """The key per-address caps count under: an IPv4 address as it is, an IPv6 one as
        its /64, since whoever holds one address of a /64 can send from all of them."""
        if not self.ip:
            return "unknown"
        try:
            address = ipaddress.ip_address(self.ip)
        except ValueError:
            return self.ip
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
        return str(address)
