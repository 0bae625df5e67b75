"""GraphQL over Server-Sent Events (graphql-sse, distinct connections mode) for clients
that stream subscriptions with fetch and ask for `text/event-stream` (urql's
`fetchSubscriptions`): Strawberry's transport, with LF line endings.

Strawberry ends lines with CRLF, which the SSE format allows but urql does not read (it
splits events on a blank LF line only): it would receive nothing. GraphQL Yoga sends LF.
Upstream: urql should accept CRLF, or Strawberry emit LF."""
from __future__ import annotations

from strawberry.http.streaming import SSETransport


class LineFeedSSETransport(SSETransport):
    def encode_event(self, event: str, data: str | None = None) -> str:
        return super().encode_event(event, data).replace("\r\n", "\n")

    def encode_comment(self, comment: str) -> str:
        return super().encode_comment(comment).replace("\r\n", "\n")
