"""What every example of bad input must satisfy (tests/test_bad_input_property.py): an
answer that is no failure, no failure in the server's log, nothing stored unless the
input was a request that succeeded."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.server_log import answered_tracebacks, described, failures
from tests.support.stored import row_counts

MASKED = "Internal server error"  # schema/app.py: what an unexpected exception is answered with
# A failure of ours, whatever the message: nothing in these tests takes the database away.
FAILURE_CODES = {"INTERNAL_SERVER_ERROR", "UNAVAILABLE"}
GRAPHQL_JSON = ("application/json", "application/graphql-response+json")


@dataclass
class Example:
    """One example: what was sent, and the log records and row counts before it."""
    what: object
    caplog: pytest.LogCaptureFixture
    records_from: int
    counts: dict[str, int]
    stores: bool = False  # set when the input was a request that succeeded (and may store)

    def tracebacks(self) -> list[str]:
        """The tracebacks behind the errors answered meanwhile: where a masked one came from."""
        return answered_tracebacks(self.caplog.records[self.records_from:])

    async def check(self) -> None:
        new = failures(self.caplog.records[self.records_from:])
        assert new == [], (self.what, described(new))
        if not self.stores:
            assert await row_counts() == self.counts, self.what


@asynccontextmanager
async def examining(caplog: pytest.LogCaptureFixture, what: object) -> AsyncIterator[Example]:
    """The checks every example ends with, after the test's own."""
    current = Example(what, caplog, len(caplog.records), await row_counts())
    yield current
    await current.check()


def assert_not_failed(errors: list[Any], current: Example) -> None:
    """No error (GraphQL's or a payload's userError) is the masked message or a failure's code."""
    for error in errors:
        assert isinstance(error, dict) and isinstance(error.get("message"), str), (current.what, error)
        code = error.get("code") or (error.get("extensions") or {}).get("code")
        assert error["message"] != MASKED and code not in FAILURE_CODES, (current.what, error, current.tracebacks())


def assert_graphql_answer(response: httpx.Response, current: Example) -> dict:
    """Below 500, a GraphQL JSON body; a request error (no `data`) says why with a code."""
    what = current.what
    assert response.status_code < 500, (what, response.status_code, response.text[:2000], current.tracebacks())
    assert response.headers.get("content-type", "").split(";")[0] in GRAPHQL_JSON, (what, response.headers)
    answer = response.json()
    assert isinstance(answer, dict) and ("data" in answer or answer.get("errors")), (what, answer)
    errors = answer.get("errors") or []
    assert_not_failed(errors, current)
    if "data" not in answer:
        assert all((error.get("extensions") or {}).get("code") for error in errors), (what, answer)
    for payload in (answer.get("data") or {}).values():
        if isinstance(payload, dict):
            assert_not_failed(payload.get("userErrors") or [], current)
    return answer


def mutation_succeeded(answer: dict) -> bool:
    """Whether a mutation in it did what it was asked (a payload with no userErrors)."""
    payloads = (answer.get("data") or {}).values()
    return any(isinstance(payload, dict) and payload.get("userErrors") == [] for payload in payloads)


def outcome(answer: dict) -> str:
    """The kind of answer, for hypothesis' statistics (--hypothesis-show-statistics): how
    many examples got past the type checks to the code behind them."""
    if "data" not in answer:
        return f"request error {_codes(answer['errors'])}"
    if answer.get("errors"):
        return f"field error {_codes(answer['errors'])}"
    payloads = [payload for payload in (answer["data"] or {}).values()
                if isinstance(payload, dict) and "userErrors" in payload]
    if payloads:
        errors = [error for payload in payloads for error in payload["userErrors"]]
        return f"userErrors {','.join(sorted({error['code'] for error in errors}))}" if errors else "done"
    return "data"


def _codes(errors: list[dict]) -> str:
    return ",".join(sorted({str((error.get("extensions") or {}).get("code")) for error in errors}))
