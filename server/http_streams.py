"""Subscriptions streamed over HTTP, on Strawberry's transports, each framed as its
clients read it:

- Apollo's multipart protocol (`Accept: multipart/mixed;subscriptionSpec=1.0`, Apollo
  Client's HttpLink): one media type in Content-Type (Strawberry lists two), and a body
  that opens with its boundary and closes with the close delimiter (RFC 2046: Strawberry
  sends neither, which Apollo tolerates and a strict parser does not).
- Server-Sent Events (graphql-sse's distinct connections mode; `Accept:
  text/event-stream`, urql's `fetchSubscriptions`): LF line endings. Strawberry ends
  lines with CRLF, which the SSE format allows but urql does not read (it splits events
  on a blank LF line only), so urql would receive nothing; GraphQL Yoga sends LF.

Upstream: Strawberry should frame multipart so and emit LF (or urql accept CRLF)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from strawberry.http.streaming import MULTIPART_SUBSCRIPTION_BOUNDARY, MultipartSubscriptionTransport, SSETransport

MULTIPART_CONTENT_TYPE = f'multipart/mixed;boundary="{MULTIPART_SUBSCRIPTION_BOUNDARY}";subscriptionSpec="1.0"'


class MultipartTransport(MultipartSubscriptionTransport):
    # Each part Strawberry writes is CRLF, headers, body, CRLF and the delimiter: after an
    # opening delimiter, that is well-formed multipart; the delimiter after the last part
    # only needs its closing dashes.

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Content-Type": MULTIPART_CONTENT_TYPE}

    def encode_complete(self) -> str:
        return "--\r\n"


async def opened_multipart(stream: AsyncIterator[str]) -> AsyncIterator[str]:
    """The multipart body with its opening delimiter."""
    yield f"--{MULTIPART_SUBSCRIPTION_BOUNDARY}"
    async for chunk in stream:
        yield chunk


class LineFeedSSETransport(SSETransport):
    def encode_event(self, event: str, data: str | None = None) -> str:
        return super().encode_event(event, data).replace("\r\n", "\n")

    def encode_comment(self, comment: str) -> str:
        return super().encode_comment(comment).replace("\r\n", "\n")
