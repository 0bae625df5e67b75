"""The client's address: the TCP peer, or, behind trusted proxies only, the nearest
untrusted address in X-Forwarded-For."""
from __future__ import annotations

import pytest

from server.client_address import client_address, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "127.0.0.1"])


def scope(peer: str | None, *forwarded: str) -> dict:
    return {
        "client": (peer, 4321) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("203.0.113.5", (), "203.0.113.5"),
    # a peer that is no proxy: its header is its own say-so
    ("203.0.113.5", ("198.51.100.1",), "203.0.113.5"),
    # one trusted proxy: the address it got the request from
    ("10.1.2.3", ("198.51.100.1",), "198.51.100.1"),
    # a client-chosen entry left of the real one is not believed
    ("10.1.2.3", ("6.6.6.6, 198.51.100.1",), "198.51.100.1"),
    # a chain of trusted proxies, across repeated headers
    ("127.0.0.1", ("198.51.100.1, 10.0.0.9", "10.0.0.8"), "198.51.100.1"),
    # every hop trusted: the first of them
    ("10.1.2.3", ("10.9.9.9",), "10.9.9.9"),
    # garbage in the chain: the last address a trusted proxy vouched for
    ("10.1.2.3", ("not-an-ip, 10.0.0.7",), "10.0.0.7"),
    ("10.1.2.3", ("",), "10.1.2.3"),
    ("::1", (), "::1"),
    (None, ("198.51.100.1",), None),
])
def test_the_client_address(peer, forwarded, expected):
    assert client_address(scope(peer, *forwarded), PROXIES) == expected


def test_a_setting_that_is_no_address_is_refused_by_name():
    with pytest.raises(ValueError, match="'proxy.example'"):
        parse_networks(["10.0.0.0/8", "proxy.example"])
