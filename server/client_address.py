"""The client's address, as login throttling and the audit log see it.

The peer of the TCP connection, unless that peer is one of TEAMINBOX_TRUSTED_PROXIES:
then the nearest address in `X-Forwarded-For` that is not itself a trusted proxy (each
proxy appends the address it got the request from, so the entries left of the first
untrusted one are whatever the client chose to send). Nothing else is believed: with no
trusted proxies the header is ignored, so a client cannot pick its own address."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR ranges ("10.0.0.0/8"); ValueError names the first that is neither."""
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {item!r}") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: tuple[Network, ...]) -> bool:
    return any(address in network for network in proxies)


def client_address(scope: Mapping[str, Any], proxies: tuple[Network, ...]) -> str | None:
    """The client's address for an ASGI HTTP or WebSocket scope, or None when the server
    cannot tell (no peer: an in-process test client)."""
    client = scope.get("client")
    peer = _address(client[0]) if client else None
    if peer is None:
        return None
    if not _trusted(peer, proxies):
        return str(peer)
    forwarded = [
        value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"
    ]
    hops = [hop for header in forwarded for hop in header.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage from the client side of the chain: the last proxy's peer is all we know
        if not _trusted(address, proxies):
            return str(address)
        peer = address
    return str(peer)
