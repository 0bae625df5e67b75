"""The built-in simulated channel (the demo, and any account an operator wants to try
without a provider): nothing leaves the server. Each reply is taken at once, reported
delivered a moment later, or failed when its text contains "fail", so a person sees the
whole life of a reply in the web inbox."""
from __future__ import annotations

import httpx

from providers.base import (
    CallbackError,
    CallbackRequest,
    Credentials,
    InboundMessage,
    OutboundMessage,
    ReportedState,
    SendOutcome,
    SendResult,
    StatusReport,
)

DELIVERY_DELAY_SECONDS = 1.5
SIMULATED_FAILURE = "SIMULATED_FAILURE"


class Simulated:
    name = "simulated"

    async def send(self, http: httpx.AsyncClient, credentials: Credentials, message: OutboundMessage) -> SendResult:
        provider_id = f"sim-{message.message_id}"
        if "fail" in message.body.lower():
            report = StatusReport(
                provider_message_id=provider_id, our_message_id=message.message_id, state=ReportedState.FAILED,
                error_code=SIMULATED_FAILURE, error_message='Simulated failure: the text contains "fail"',
            )
        else:
            report = StatusReport(
                provider_message_id=provider_id, our_message_id=message.message_id, state=ReportedState.DELIVERED
            )
        return SendResult(SendOutcome.ACCEPTED, provider_message_id=provider_id,
                          later_reports=((DELIVERY_DELAY_SECONDS, report),))

    # No callbacks ever arrive from a simulation: any that claims to is refused.
    def verify(self, credentials: Credentials, request: CallbackRequest, account_id: int) -> bool:
        return False

    def is_inbound(self, request: CallbackRequest) -> bool:
        return False

    def parse_status(self, request: CallbackRequest) -> StatusReport:
        raise CallbackError(None, "the simulated channel sends no callbacks")

    def parse_inbound(self, request: CallbackRequest) -> InboundMessage:
        raise CallbackError(None, "the simulated channel sends no callbacks")

    def callback_query(self, credentials: Credentials, account_id: int) -> str:
        return ""
