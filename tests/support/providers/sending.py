"""What the provider tests send: a reply to a customer, a short client timeout, and a
loopback address where nothing listens."""
from __future__ import annotations

import httpx

from providers.base import OutboundMessage
from tests.support.ports import free_port

# Short enough that a request the emulator never answers fails fast; no test asserts a time.
TIMEOUT = httpx.Timeout(connect=2.0, read=0.5, write=2.0, pool=2.0)
CUSTOMER = "+14155550123"


def outbound(status_url: str, message_id: int = 42, body: str = "Your order shipped today.",
             to_number: str = CUSTOMER) -> OutboundMessage:
    return OutboundMessage(message_id=message_id, to_number=to_number, body=body, status_url=status_url)


def nothing_listening() -> str:
    """A loopback URL where nothing accepts connections."""
    return f"http://127.0.0.1:{free_port()}"
