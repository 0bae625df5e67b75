"""SMS providers behind one interface (providers.base): Twilio, MessageMedia, our own
signed JSON webhook for any other, and the built-in simulation (the demo). `PROVIDERS` maps the name in our URLs
(/webhooks/{name}/...) to the provider; `registry(timeout)` builds the same with other
timeouts (tests of a provider that never answers)."""
from __future__ import annotations

import httpx

from providers.base import Provider
from providers.messagemedia import MessageMedia
from providers.simulated import Simulated
from providers.transport import DEFAULT_TIMEOUT
from providers.twilio import Twilio
from providers.webhook import Webhook


def registry(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> dict[str, Provider]:
    providers: list[Provider] = [Twilio(timeout), MessageMedia(timeout), Webhook(timeout), Simulated()]
    return {provider.name: provider for provider in providers}


PROVIDERS: dict[str, Provider] = registry()
