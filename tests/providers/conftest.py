"""Each provider's emulator running on the loopback, and an HTTP client to reach it."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.providers.messagemedia_emulator import MessageMediaEmulator
from tests.support.providers.twilio_emulator import TwilioEmulator
from tests.support.providers.webhook_emulator import WebhookEmulator


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioEmulator]:
    emulator = TwilioEmulator()
    async with emulator.running():
        yield emulator


@pytest.fixture
async def messagemedia() -> AsyncIterator[MessageMediaEmulator]:
    emulator = MessageMediaEmulator()
    async with emulator.running():
        yield emulator


@pytest.fixture
async def bridge() -> AsyncIterator[WebhookEmulator]:
    emulator = WebhookEmulator()
    async with emulator.running():
        yield emulator
