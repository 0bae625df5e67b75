"""One POST to a provider, and what its outcome means for sending again.

What happened on the wire decides (httpx's exceptions name the phase that failed,
https://www.python-httpx.org/exceptions/):
- no connection made (ConnectError, ConnectTimeout, PoolTimeout, ProxyError): not one
  byte of the request left, so NOT_SENT;
- the request was being written or had been written (WriteError, WriteTimeout,
  ReadTimeout, ReadError, RemoteProtocolError, anything else): the provider may have
  acted on it, so MAYBE_SENT;
- a request we cannot even build (a bad URL, a header h11 refuses, text without a
  UTF-8 form): REJECTED, since sending again would fail the same way.
A response: 2xx is the provider's to read; 429, 408 and 503 with Retry-After are
NOT_SENT; other 5xx MAYBE_SENT; 3xx and other 4xx REJECTED (401/403: credentials).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from providers.base import SendOutcome, SendResult

# Connect and read a few seconds each: a provider slower than that is treated as one
# that may have sent (read) or certainly did not (connect).
DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=5.0, write=5.0, pool=3.0)
# An answer larger than this is not a provider's JSON; only its start is read.
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes  # its start; cut short when the connection failed while it was read

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None


async def post(http: httpx.AsyncClient, url: str, *, timeout: httpx.Timeout, **request: Any) -> Answer | SendResult:
    """POST and read at most MAX_ANSWER_BYTES of the answer; a SendResult when no
    answer came."""
    try:
        async with http.stream("POST", url, timeout=timeout, follow_redirects=False, **request) as response:
            return Answer(response.status_code, response.headers, await _read(response))
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError) as error:
        return SendResult(SendOutcome.NOT_SENT, error_message=f"Could not connect to the provider: {_describe(error)}")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError) as error:
        return SendResult(SendOutcome.REJECTED, error_code="CONFIGURATION",
                          error_message=f"The request cannot be made: {_describe(error)}")
    except UnicodeError as error:  # text that has no UTF-8 form (a lone surrogate): refused before sending
        return unsendable(error)
    except httpx.TimeoutException as error:  # read or write: the request may be in
        return SendResult(SendOutcome.MAYBE_SENT,
                          error_message=f"No answer from the provider in time after sending: {_describe(error)}")
    except httpx.HTTPError as error:  # reset, closed without an answer, a broken answer
        return SendResult(SendOutcome.MAYBE_SENT,
                          error_message=f"The connection failed after sending: {_describe(error)}")


async def _read(response: httpx.Response) -> bytes:
    """The body's first MAX_ANSWER_BYTES, or what arrived of it: once the status line is
    in, a failure reading the rest no longer makes the outcome unknown."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_ANSWER_BYTES:
                break
    except httpx.HTTPError:
        pass
    return b"".join(chunks)[:MAX_ANSWER_BYTES]


def unsendable(error: Exception) -> SendResult:
    return SendResult(SendOutcome.REJECTED, error_code="UNSENDABLE",
                      error_message=f"The message cannot be encoded: {_describe(error)}")


def _describe(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP-date, RFC 9110 §10.2.3), or None."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if not raw.isascii():  # float() would read other scripts' digits
        return None
    if raw.isdigit():
        return float(int(raw))
    try:
        seconds = float(raw)  # not RFC, but some servers send "1.5"
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


ErrorReader = Callable[[Answer], tuple[str | None, str | None]]


def refused(answer: Answer, provider: str, error_of: ErrorReader, opted_out_codes: frozenset[str] = frozenset()
            ) -> SendResult:
    """The outcome of an answer that is not 2xx; `error_of` reads the provider's
    (code, message) from it, either None when the body has none."""
    code, message = error_of(answer)
    status = answer.status
    code = code or str(status)
    described = message or httpx.codes.get_reason_phrase(status) or "no reason given"
    wait = retry_after(answer.headers)
    if status == 429 or status == 408 or (status == 503 and wait is not None):
        return SendResult(SendOutcome.NOT_SENT, retry_after=wait, error_code=code,
                          error_message=f"{provider} asked us to send later (HTTP {status}): {described}")
    if status >= 500:
        return SendResult(SendOutcome.MAYBE_SENT, error_code=code,
                          error_message=f"{provider} failed (HTTP {status}); the message may have gone: {described}")
    if status in (401, 403):
        return SendResult(SendOutcome.REJECTED, error_code=code,
                          error_message=f"{provider} refused the channel's credentials (HTTP {status}): {described}")
    if 300 <= status < 400:
        location = answer.headers.get("location", "")
        return SendResult(SendOutcome.REJECTED, error_code=code,
                          error_message=f"{provider} redirected us (HTTP {status} to {location!r}): check the URL")
    return SendResult(SendOutcome.REJECTED, error_code=code, opted_out=code in opted_out_codes,
                      error_message=f"{provider} refused the message: {described}")
