"""Replies on their way to the customer: the life of a delivery job.

`sendMessage` stores the reply PENDING with a QUEUED job, in one transaction (`enqueue`).
A worker in every instance (server/delivery_worker.py) claims due jobs (`claim`), sends
each through the account's provider (providers/), and records the provider's answer
(`record_send`); delivery reports (`apply_report`) and the clock (`expire`) do the rest.

- Exactly once: a job is claimed by one instance (PostgreSQL: FOR UPDATE SKIP LOCKED;
  SQLite serialises writers), and a send that may have gone out (a timeout, a reset, a
  crash between claiming and recording) is never repeated: it waits for a delivery
  report, and without one is FAILED as unconfirmed (the member may retry it, knowingly).
- In order: a conversation's job is claimed only once no earlier job of that
  conversation is queued or sending, so the customer reads the replies as they were sent.
- Retried only when the provider says nothing was sent (429, 503, a refused connection),
  with exponential backoff and jitter, honouring Retry-After, at most MAX_ATTEMPTS times.
- Forward only: PENDING -> SENT -> DELIVERED, or FAILED; a late or repeated report never
  moves a message back, and a failure never overrides DELIVERED. The one exception is the
  truth arriving late: a DELIVERED report for a reply we had called unconfirmed."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from tortoise import connections
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models import (
    PLAN_CAPABILITIES,
    Account,
    Capability,
    Contact,
    Conversation,
    DeliveryJob,
    DeliveryJobState,
    DeliveryStatus,
    Message,
    MessagingChannel,
    NotificationKind,
    Plan,
)
from providers.base import ReportedState, SendOutcome, SendResult, StatusReport
from resolvers.conversations import conversation_facts
from resolvers.errors import DomainError, ErrorCode, not_found, validation
from resolvers.ids import parse_id
from resolvers.notifications import notify
from resolvers.opt_out import opt_out
from resolvers.outbox import Outbox, utcnow, write_transaction
from resolvers.sql import model_from_row, placeholder, prefixed_columns
from resolvers.viewer import Viewer
from subscriptions.events import MESSAGE_DELIVERY_CHANGED

MAX_ATTEMPTS = 6
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 300.0
# A claimed send finishes (or times out) well within this; past it, the instance that
# claimed it is presumed to have died midway.
SEND_LEASE = timedelta(seconds=60)
# How long a reply that may have gone out waits for the provider's report.
REPORT_WAIT = timedelta(minutes=30)

NO_CHANNEL = "NO_CHANNEL"
RECIPIENT_OPTED_OUT = "RECIPIENT_OPTED_OUT"
UNCONFIRMED = "UNCONFIRMED"
GAVE_UP = "GAVE_UP"

_RANK = {DeliveryStatus.PENDING: 0, DeliveryStatus.SENT: 1, DeliveryStatus.DELIVERED: 2, DeliveryStatus.FAILED: 2}
_REPORTED = {ReportedState.SENT: DeliveryStatus.SENT, ReportedState.DELIVERED: DeliveryStatus.DELIVERED,
             ReportedState.FAILED: DeliveryStatus.FAILED}
_NEXT_ATTEMPT_AT = DeliveryJob._meta.fields_map["next_attempt_at"]


def moves_forward(current: DeliveryStatus, new: DeliveryStatus, current_code: str | None) -> bool:
    if new == DeliveryStatus.DELIVERED and current == DeliveryStatus.FAILED:
        return current_code == UNCONFIRMED  # it went after all
    return _RANK[new] > _RANK[current]


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds before the next try after `attempt` tries the provider said were not sent:
    doubling with jitter (so instances and conversations do not retry in step), never
    sooner than the provider asked."""
    backoff = min(FIRST_RETRY_SECONDS * 2.0 ** (attempt - 1), MAX_RETRY_SECONDS)
    return max(backoff * random.uniform(0.8, 1.2), retry_after or 0.0)


async def enqueue(outbox: Outbox, message: Message) -> None:
    """The reply's job, in the reply's transaction (the caller's; the reply is stored
    PENDING: `pending_reply`)."""
    await DeliveryJob.create(
        account_id=message.account_id, conversation_id=message.conversation_id, message_id=message.id,
        next_attempt_at=message.created_at, using_db=outbox.connection,
    )


def pending_reply(now: datetime) -> dict[str, object]:
    """The delivery fields of a reply as it is stored."""
    return {"delivery_status": DeliveryStatus.PENDING, "delivery_updated_at": now}


@dataclass(frozen=True)
class ClaimedSend:
    """A job this instance now sends, with what sending needs."""

    job_id: int
    message: Message
    to_number: str
    channel: MessagingChannel | None
    # The customer sent STOP after this reply was queued (sendMessage refuses replies to
    # an opted-out customer; one already waiting in the queue must not go either).
    opted_out: bool = False


async def claim(instance: str, limit: int) -> list[ClaimedSend]:
    """Due jobs (at most `limit`), each the next of its conversation, now SENDING for
    this instance until its lease ends."""
    now = utcnow()
    async with in_transaction() as connection:
        postgres = connection.capabilities.dialect == "postgres"
        rows = await connection.execute_query_dict(
            "SELECT j.id FROM delivery_job j WHERE j.state = 'QUEUED' AND j.next_attempt_at <= "
            f"{placeholder(connection, 0)}"
            " AND NOT EXISTS (SELECT 1 FROM delivery_job e WHERE e.conversation_id = j.conversation_id"
            " AND e.id < j.id AND e.state IN ('QUEUED', 'SENDING'))"
            " AND NOT EXISTS (SELECT 1 FROM delivery_job s WHERE s.conversation_id = j.conversation_id"
            " AND s.state = 'SENDING')"
            f" ORDER BY j.id LIMIT {int(limit)}" + (" FOR UPDATE OF j SKIP LOCKED" if postgres else ""),
            [_NEXT_ATTEMPT_AT.to_db_value(now, DeliveryJob)],
        )
        ids = [row["id"] for row in rows]
        if not ids:
            return []
        await DeliveryJob.filter(id__in=ids).using_db(connection).update(
            state=DeliveryJobState.SENDING, deadline=now + SEND_LEASE, claimed_by=instance,
            attempts=F("attempts") + 1,
        )
    return await _claimed(ids)


@cache  # built on first use: the models' column lists are complete only once Tortoise is set up
def _claimed_sql() -> str:
    return (
        f"SELECT j.id AS job_id, ct.phone AS phone, ct.opted_out AS opted_out, {prefixed_columns(Message, 'm', 'm__')}"
        " FROM delivery_job j JOIN message m ON m.id = j.message_id JOIN conversation c ON c.id = j.conversation_id"
        " JOIN contact ct ON ct.id = c.contact_id WHERE j.id IN "
    )


async def _claimed(ids: list[int]) -> list[ClaimedSend]:
    """What sending the claimed jobs needs, in two statements (the worker claims a few at a
    time, many times a second: one join instead of a query per table)."""
    connection = connections.get("default")
    marks = ", ".join(placeholder(connection, index) for index in range(len(ids)))
    rows = await connection.execute_query_dict(_claimed_sql() + f"({marks}) ORDER BY j.id", ids)
    messages = [model_from_row(Message, row, "m__") for row in rows]
    channels = {channel.account_id: channel for channel in
                await MessagingChannel.filter(account_id__in={message.account_id for message in messages})}
    return [ClaimedSend(row["job_id"], message, row["phone"], channels.get(message.account_id),
                        bool(row["opted_out"])) for row, message in zip(rows, messages, strict=True)]


async def record_send(send: ClaimedSend, result: SendResult) -> None:
    """What the provider answered this instance's send, applied to its job and message."""
    if result.outcome == SendOutcome.ACCEPTED:
        await _record_accepted(send, result)
        return
    now = utcnow()
    async with write_transaction(send.message.account_id) as outbox:
        job = await _locked_job(outbox, send.job_id)
        if job is None or job.state != DeliveryJobState.SENDING:
            return  # not ours any more (a lease that ran out meanwhile): the clock decided
        message = await _locked_message(outbox, job.message_id)
        if result.outcome == SendOutcome.NOT_SENT and job.attempts < MAX_ATTEMPTS:
            job.state, job.deadline = DeliveryJobState.QUEUED, None
            job.next_attempt_at = now + timedelta(seconds=retry_delay(job.attempts, result.retry_after))
            await _note_error(outbox, message, result.error_code, result.error_message, now)
        elif result.outcome == SendOutcome.NOT_SENT:
            job.state, job.deadline = DeliveryJobState.DONE, None
            await _fail(outbox, message, GAVE_UP, _gave_up(result), now)
        elif result.outcome == SendOutcome.MAYBE_SENT:
            job.state, job.deadline = DeliveryJobState.AWAITING_REPORT, now + REPORT_WAIT
            message.provider_message_id = result.provider_message_id
            await _note_error(outbox, message, result.error_code, result.error_message, now)
        else:  # REJECTED: permanent
            job.state, job.deadline = DeliveryJobState.DONE, None
            await _fail(outbox, message, result.error_code or "REJECTED",
                        result.error_message or "The provider refused the message", now)
            if result.opted_out:
                await _opt_out(outbox, job.conversation_id, now)
        await job.save(using_db=outbox.connection)
    await outbox.publish()


async def _record_accepted(send: ClaimedSend, result: SendResult) -> None:
    """The common answer, in as few statements as the rules allow (a busy worker records
    many a second): each guarded update says whether it applied, instead of a read under
    lock before it. Job, then message: the order every path here locks them in."""
    now = utcnow()
    async with write_transaction(send.message.account_id) as outbox:
        connection = outbox.connection
        ours = await DeliveryJob.filter(id=send.job_id, state=DeliveryJobState.SENDING).using_db(connection).update(
            state=DeliveryJobState.DONE, deadline=None
        )
        if not ours:
            return  # not ours any more (a lease that ran out meanwhile): the clock decided
        moved = await Message.filter(id=send.message.id, delivery_status=DeliveryStatus.PENDING).using_db(
            connection
        ).update(delivery_status=DeliveryStatus.SENT, delivery_error_code=None, delivery_error_message=None,
                 delivery_updated_at=now, provider_message_id=result.provider_message_id)
        if not moved:  # a report got there first (SENT or further): keep what it said, learn the id
            await Message.filter(id=send.message.id, provider_message_id=None).using_db(connection).update(
                provider_message_id=result.provider_message_id
            )
            return
        conversation = await Conversation.filter(id=send.message.conversation_id).using_db(connection).get()
        outbox.record(
            MESSAGE_DELIVERY_CHANGED,
            {**conversation_facts(conversation), "message_id": send.message.id,
             "delivery_status": DeliveryStatus.SENT.value},
            conversation_id=conversation.id,
        )
    await outbox.publish()


async def fail_unsendable(send: ClaimedSend, code: str, reason: str) -> None:
    """A claimed job that cannot be sent at all (no channel, the customer opted out):
    FAILED at once, nothing sent."""
    async with write_transaction(send.message.account_id) as outbox:
        job = await _locked_job(outbox, send.job_id)
        if job is None or job.state != DeliveryJobState.SENDING:
            return
        job.state, job.deadline = DeliveryJobState.DONE, None
        await job.save(using_db=outbox.connection)
        await _fail(outbox, await _locked_message(outbox, job.message_id), code, reason, utcnow())
    await outbox.publish()


async def apply_report(account_id: int, report: StatusReport) -> bool:
    """A delivery report, matched by the provider's id or, where the provider carries it,
    ours. False when it names no message of the account; True otherwise (also when it
    moved nothing: a repeated or late report is answered as handled)."""
    state = _REPORTED.get(report.state) if report.state is not None else None
    message_id = await _reported_message_id(account_id, report)
    if message_id is None:
        return False
    async with write_transaction(account_id) as outbox:
        # Job, then message: the order record_send and expire lock them in (no deadlock).
        job = await (DeliveryJob.filter(message_id=message_id).select_for_update(no_key=True)
                     .using_db(outbox.connection).first())
        message = await _locked_message(outbox, message_id)
        now = utcnow()
        if _of_an_earlier_attempt(message, job, report):
            state = None  # handled (the provider stops repeating it), but it moves nothing
        elif report.provider_message_id and not message.provider_message_id:
            message.provider_message_id = report.provider_message_id
        if state is not None and job is not None and job.state == DeliveryJobState.AWAITING_REPORT:
            job.state, job.deadline = DeliveryJobState.DONE, None  # it went: the provider says so
            await job.save(using_db=outbox.connection)
        if state == DeliveryStatus.FAILED:
            await _fail(outbox, message, report.error_code or "FAILED",
                        report.error_message or "The provider could not deliver the message", now)
        elif state is not None:
            await _move(outbox, message, state, None, None, now)
        if report.opted_out:
            await _opt_out(outbox, message.conversation_id, now)
    await outbox.publish()
    return True


def _of_an_earlier_attempt(message: Message, job: DeliveryJob | None, report: StatusReport) -> bool:
    """Whether a report, matched by our message id (which every attempt carries), is about
    an attempt before a retryMessage: it names a provider id other than the reply's now,
    or any while the retry waits to be handed to the provider. A provider repeating its
    "undelivered" for the first attempt must not fail the second."""
    if not report.provider_message_id or report.provider_message_id == message.provider_message_id:
        return False
    return message.provider_message_id is not None or (job is not None and job.state == DeliveryJobState.QUEUED)


async def expire() -> int:
    """The clock's part: a send whose instance died midway may have gone out (it now waits
    for a report), and a reply that waited for a report too long is FAILED as unconfirmed.
    Returns how many jobs it moved."""
    now = utcnow()
    moved = await DeliveryJob.filter(state=DeliveryJobState.SENDING, deadline__lt=now).update(
        state=DeliveryJobState.AWAITING_REPORT, deadline=now + REPORT_WAIT
    )
    for job in await DeliveryJob.filter(state=DeliveryJobState.AWAITING_REPORT, deadline__lt=now).limit(100):
        async with write_transaction(job.account_id) as outbox:
            locked = await _locked_job(outbox, job.id)
            if locked is None or locked.state != DeliveryJobState.AWAITING_REPORT:
                continue
            locked.state, locked.deadline = DeliveryJobState.DONE, None
            await locked.save(using_db=outbox.connection)
            await _fail(outbox, await _locked_message(outbox, locked.message_id), UNCONFIRMED,
                        "The provider never confirmed this message: it may or may not have reached the customer",
                        now)
        await outbox.publish()
        moved += 1
    return moved


async def _opt_out(outbox: Outbox, conversation_id: int, now: datetime) -> None:
    conversation = await Conversation.filter(id=conversation_id).using_db(outbox.connection).get()
    await opt_out(outbox.connection, conversation.contact_id, now)


def _gave_up(result: SendResult) -> str:
    detail = f" (last: {result.error_message})" if result.error_message else ""
    return f"The provider did not take the message after {MAX_ATTEMPTS} tries{detail}"


async def _locked_job(outbox: Outbox, job_id: int) -> DeliveryJob | None:
    return await (DeliveryJob.filter(id=job_id).select_for_update(no_key=True)
                  .using_db(outbox.connection).first())


async def _locked_message(outbox: Outbox, message_id: int) -> Message:
    return await Message.filter(id=message_id).select_for_update(no_key=True).using_db(outbox.connection).get()


async def _reported_message_id(account_id: int, report: StatusReport) -> int | None:
    """The reply a report names: by the provider's id, or by ours where the provider
    carries it back (a report may come before our record of the provider's answer)."""
    replies = Message.filter(account_id=account_id, delivery_status__isnull=False)
    if report.provider_message_id:
        found = await replies.filter(provider_message_id=report.provider_message_id).first()
        if found is not None:
            return found.id
    if report.our_message_id is None or not 0 < report.our_message_id < 2**31:  # ids are 32-bit
        return None
    found = await replies.filter(id=report.our_message_id).first()
    return None if found is None else found.id


async def _note_error(
    outbox: Outbox, message: Message, code: str | None, text: str | None, now: datetime
) -> None:
    """Why the last try did not go (still PENDING): shown while it waits to retry."""
    message.delivery_error_code, message.delivery_error_message = code, _clip(text)
    message.delivery_updated_at = now
    await message.save(using_db=outbox.connection, update_fields=[
        "delivery_error_code", "delivery_error_message", "delivery_updated_at", "provider_message_id"])


async def _move(
    outbox: Outbox, message: Message, status: DeliveryStatus, code: str | None, text: str | None, now: datetime
) -> bool:
    current = DeliveryStatus(message.delivery_status) if message.delivery_status else DeliveryStatus.PENDING
    if not moves_forward(current, status, message.delivery_error_code):
        if message.provider_message_id:  # learnt from a late report: keep it
            await message.save(using_db=outbox.connection, update_fields=["provider_message_id"])
        return False
    message.delivery_status = status
    message.delivery_error_code, message.delivery_error_message = code, _clip(text)
    message.delivery_updated_at = now
    await message.save(using_db=outbox.connection, update_fields=[
        "delivery_status", "delivery_error_code", "delivery_error_message", "delivery_updated_at",
        "provider_message_id"])
    conversation = await Conversation.filter(id=message.conversation_id).using_db(outbox.connection).get()
    outbox.record(
        MESSAGE_DELIVERY_CHANGED,
        {**conversation_facts(conversation), "message_id": message.id, "delivery_status": status.value},
        conversation_id=conversation.id,
    )
    return True


async def _fail(outbox: Outbox, message: Message, code: str, text: str, now: datetime) -> None:
    """FAILED, and the member who should know is told: the conversation's assignee, or
    the reply's author when nobody holds it."""
    if not await _move(outbox, message, DeliveryStatus.FAILED, code, text, now):
        return
    conversation = await Conversation.filter(id=message.conversation_id).using_db(outbox.connection).get()
    recipient = conversation.assignee_id or message.author_id
    # Notifications are a TEAM_INBOX feature: on a plan without it nobody could read one.
    plan = await Account.filter(id=message.account_id).using_db(outbox.connection).values_list("plan", flat=True)
    if recipient is not None and plan and Capability.TEAM_INBOX in PLAN_CAPABILITIES[Plan(plan[0])]:
        await notify(outbox, recipient, NotificationKind.DELIVERY_FAILED, conversation, message=message)


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:500]


RETRY_WINDOW = timedelta(hours=24)


async def retry_message(viewer: Viewer, message_id: str) -> Message:
    """Send a FAILED reply again, for real: PENDING with a fresh job of its own (up to
    MAX_ATTEMPTS tries again). Refused for any other status, for a reply older than
    RETRY_WINDOW (a day-old answer is better rewritten), and while the customer is opted out."""
    viewer.require_writer()
    wanted = parse_id(message_id, "Message", "messageId")
    message = await Message.get_or_none(id=wanted, account_id=viewer.account_id)
    if message is None or message.delivery_status is None:
        raise not_found("Message", "messageId")
    if message.delivery_status != DeliveryStatus.FAILED:
        raise validation(f"Only a failed reply can be retried (this one is {message.delivery_status.value})",
                         "messageId")
    now = utcnow()
    if now - message.created_at > RETRY_WINDOW:
        raise validation("A reply older than a day cannot be retried: send it again as a new reply", "messageId")
    conversation = await Conversation.get(id=message.conversation_id)
    if await Contact.filter(id=conversation.contact_id, opted_out=True).exists():
        raise DomainError(ErrorCode.RECIPIENT_OPTED_OUT, "The customer opted out (STOP)", "messageId")
    async with write_transaction(viewer.account_id) as outbox:
        locked = await _locked_message(outbox, message.id)
        if locked.delivery_status != DeliveryStatus.FAILED:  # a retry racing another
            raise validation("This reply is already being sent again", "messageId")
        locked.delivery_status, locked.delivery_error_code, locked.delivery_error_message = (
            DeliveryStatus.PENDING, None, None)
        locked.delivery_updated_at, locked.provider_message_id = now, None
        await locked.save(using_db=outbox.connection, update_fields=[
            "delivery_status", "delivery_error_code", "delivery_error_message", "delivery_updated_at",
            "provider_message_id"])
        await DeliveryJob.filter(message_id=locked.id).using_db(outbox.connection).update(
            state=DeliveryJobState.QUEUED, attempts=0, next_attempt_at=now, deadline=None, claimed_by=None
        )
        outbox.record(
            MESSAGE_DELIVERY_CHANGED,
            {**conversation_facts(conversation), "message_id": locked.id,
             "delivery_status": DeliveryStatus.PENDING.value},
            conversation_id=conversation.id,
        )
    await outbox.publish()
    wake_workers()
    return locked


_wake: list[Callable[[], None]] = []


def on_enqueue(wake: Callable[[], None]) -> Callable[[], None]:
    """Register this process's worker to be woken when a job is queued here (other
    instances find it at their next poll); returns the unregistering function."""
    _wake.append(wake)
    return lambda: _wake.remove(wake)


def wake_workers() -> None:
    for wake in _wake:
        wake()
