"""The delivery worker every `teaminbox serve` runs: it sends replies through their
account's provider (the rules are resolvers/delivery.py's; the provider's protocol is
providers/').

One loop per instance: the clock's work (`expire`), then as many due jobs as it has room
for (`claim`), each sent in its own task, its answer recorded (`record_send`). It sleeps
until woken by a reply queued in this process, or for POLL_SECONDS (replies queued on
other instances, retries coming due)."""
from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress

import httpx

from models.db import DATABASE_UNAVAILABLE
from providers.base import OutboundMessage, SendOutcome, SendResult, StatusReport
from resolvers import channels, delivery
from resolvers.delivery import NO_CHANNEL, RECIPIENT_OPTED_OUT, ClaimedSend

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
EXPIRE_EVERY_SECONDS = 10.0


class DeliveryWorker:
    def __init__(self, public_url: str, *, concurrency: int = 32):
        self.instance = f"instance-{uuid.uuid4().hex[:12]}"
        self.public_url = public_url.rstrip("/")
        self.concurrency = concurrency
        self._http = httpx.AsyncClient()
        self._wake = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._unregister = delivery.on_enqueue(self._wake.set)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="delivery-worker")

    async def stop(self) -> None:
        self._unregister()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        # Sends in flight finish (each has the provider's timeout); one cut off here is a
        # send that may have gone: its lease runs out and the clock waits for its report.
        if self._sending:
            await asyncio.wait(self._sending, timeout=15)
        await self._http.aclose()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_expiry = 0.0
        while True:
            try:
                if loop.time() >= next_expiry:
                    await delivery.expire()
                    next_expiry = loop.time() + EXPIRE_EVERY_SECONDS
                room = self.concurrency - len(self._sending)
                claimed = await delivery.claim(self.instance, room) if room > 0 else []
                for send in claimed:
                    task = asyncio.create_task(self._send(send), name=f"deliver-{send.message.id}")
                    self._sending.add(task)
                    task.add_done_callback(self._done)
                if len(claimed) == room and room > 0:
                    continue  # there may be more due: go on without sleeping
            except DATABASE_UNAVAILABLE as error:
                log.warning("delivery worker: database unavailable (%s); retrying", error)
            except Exception:
                log.exception("delivery worker: unexpected error; retrying")
            self._wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._wake.set()  # room for another, and the conversation's next reply may be due

    async def _send(self, send: ClaimedSend) -> None:
        try:
            if send.channel is None:
                await delivery.fail_unsendable(
                    send, NO_CHANNEL, "No messaging provider is connected: an admin connects one (setMessagingChannel)"
                )
                return
            if send.opted_out:  # STOP arrived while the reply waited in the queue: never send it
                await delivery.fail_unsendable(
                    send, RECIPIENT_OPTED_OUT, "The customer opted out (STOP) before this reply was sent"
                )
                return
            result = await self._through_provider(send)
            await delivery.record_send(send, result)
            for delay, report in result.later_reports:
                self._later(delay, send.message.account_id, report)
        except Exception:
            # Not recorded: the lease runs out and the clock treats it as maybe sent.
            log.exception("delivery of message %s failed unexpectedly", send.message.id)

    def _later(self, delay: float, account_id: int, report: StatusReport) -> None:
        async def apply() -> None:
            await asyncio.sleep(delay)
            with suppress(*DATABASE_UNAVAILABLE):
                await delivery.apply_report(account_id, report)

        task = asyncio.create_task(apply(), name="delivery-report")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _through_provider(self, send: ClaimedSend) -> SendResult:
        assert send.channel is not None
        try:
            provider, credentials = channels.provider_and_credentials(send.channel)
        except ValueError as error:  # the server's key does not open the stored credentials
            return SendResult(SendOutcome.REJECTED, error_code="CREDENTIALS_UNREADABLE", error_message=str(error))
        try:
            return await provider.send(self._http, credentials, OutboundMessage(
                message_id=send.message.id, to_number=send.to_number, body=send.message.body,
                status_url=channels.callback_url(send.channel, self.public_url, "status"),
            ))
        except Exception as error:  # a provider module's bug: the request may have gone
            log.exception("provider %s raised while sending message %s", provider.name, send.message.id)
            return SendResult(SendOutcome.MAYBE_SENT, error_code="PROVIDER_ERROR", error_message=str(error)[:200])
