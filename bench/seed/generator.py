"""The rows of one benchmark account's conversations, generated reproducibly from a seed:
contacts, conversations, messages alternating customer and team, assignment histories
ending at the current assignee, status events, and the inbox_count tallies. Nothing here
touches a database (bench/seed/sinks.py writes the rows)."""
from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from models.enums import ConversationStatus, MessageDirection, Role

# Fixed, not now(): the same seed must give the same rows whenever it runs.
DATA_ENDS_AT = int(datetime(2026, 11, 24, tzinfo=UTC).timestamp())
HISTORY_SECONDS = 90 * 24 * 3600

OPEN_SHARE = 0.6
UNASSIGNED_SHARE = 0.1
# Some unassigned conversations were handed back to the queue: assigned, then unassigned.
RETURNED_TO_QUEUE_SHARE = 0.2
ASSIGNMENTS_PER_ASSIGNED = (1, 1, 1, 2, 2, 3)
SELF_ASSIGN_SHARE = 0.4
# Real teams are uneven: a member's share of conversations falls off like 1/rank^s.
ZIPF_EXPONENT = 0.9
ANALYST_FROM_MEMBERS = 10
REPLY_GAP_SECONDS = (60, 4 * 3600)
CLOSE_AFTER_SECONDS = (60, 6 * 3600)
# Contact phones are +1 415 NXX XXXX with NXX from 200: seven digits after 415.
FIRST_PHONE = 2_000_000
MAX_CONVERSATIONS = 10_000_000 - FIRST_PHONE
MAX_MESSAGES_PER_CONVERSATION = 500

FIRST_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kira",
               "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor",
               "Wen", "Ximena", "Yusuf", "Zoe")
LAST_NAMES = ("Alvarez", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
              "Kowalski", "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka",
              "Walsh", "Yilmaz")
CUSTOMER_LINES = (
    "Hi, my kitchen sink is leaking. Can someone come today?", "Do you service water heaters?",
    "What are your weekend hours?", "The technician hasn't arrived yet, is he on his way?",
    "Can I reschedule to Thursday morning?", "How much would a drain cleaning cost?",
    "Thanks, that works for me.", "Is there a charge for the estimate?", "Yes please, go ahead.",
    "The water pressure is very low upstairs.", "Can you send me the invoice again?",
    "Great job yesterday, thank you!", "Do you take credit cards?", "It's started dripping again.",
)
TEAM_LINES = (
    "Thanks for reaching out! We can have someone there between 2 and 4pm.",
    "Yes, we service all major water heater brands.", "We're open 8am-6pm, Saturdays 9am-1pm.",
    "Sorry for the delay, your technician is about 15 minutes away.", "Done, you're booked for Thursday at 9am.",
    "A standard drain cleaning starts at $129.", "Estimates are free.", "Here is your invoice link.",
    "Could you send a photo of the leak?", "Glad we could help! Have a great day.",
    "We accept all major cards and Apple Pay.", "I'll ask the technician to call you right away.",
)
REASSIGNMENT_NOTES = ("", "", "", "Escalating to a manager", "Taking over while they're out",
                      "Billing question", "Customer asked for the same technician")
RETURN_TO_QUEUE_NOTE = "Back to the queue"

OPEN, CLOSED = ConversationStatus.OPEN.value, ConversationStatus.CLOSED.value
INBOUND, OUTBOUND = MessageDirection.INBOUND.value, MessageDirection.OUTBOUND.value

# Load order respects foreign keys, except the conversation <-> message cycle
# (conversation.last_message_id): see the sinks.
COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("id", "name", "plan", "webhook_secret", "created_at"),
    "user": ("id", "account_id", "email", "name", "role", "password_hash", "active", "created_at"),
    "session": ("id", "user_id", "token_hash", "created_at", "expires_at", "revoked_at", "last_seen_at"),
    "contact": ("id", "account_id", "phone", "name", "created_at", "opted_out"),
    "conversation": ("id", "account_id", "contact_id", "status", "assignee_id", "last_activity_at",
                     "version", "created_at", "last_message_id"),
    "message": ("id", "account_id", "conversation_id", "direction", "body", "author_id", "external_id",
                "created_at"),
    "assignment_event": ("id", "conversation_id", "actor_id", "assignee_id", "previous_assignee_id",
                         "note", "created_at"),
    "status_event": ("id", "conversation_id", "actor_id", "status", "created_at"),
    "inbox_count": ("id", "account_id", "status", "assignee_key", "count"),
}
BULK_TABLES = ("contact", "conversation", "message", "assignment_event", "status_event")


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


@dataclass
class Team:
    member_ids: list[int]
    roles: dict[int, str]
    assignable: list[int]  # ADMIN and AGENTs: analysts only read
    cum_weights: list[float]


def build_team(rng: random.Random, first_id: int, members: int) -> Team:
    member_ids = list(range(first_id, first_id + members))
    roles = {member_id: Role.AGENT.value for member_id in member_ids}
    roles[member_ids[0]] = Role.ADMIN.value
    if members >= ANALYST_FROM_MEMBERS:
        roles[member_ids[-1]] = Role.ANALYST.value
    assignable = [m for m in member_ids if roles[m] != Role.ANALYST.value]
    # Ranks are shuffled so the busiest member is not always the admin.
    ranks = list(range(1, len(assignable) + 1))
    rng.shuffle(ranks)
    cum_weights, total = [], 0.0
    for rank in ranks:
        total += 1 / rank**ZIPF_EXPONENT
        cum_weights.append(total)
    return Team(member_ids, roles, assignable, cum_weights)


class ConversationFactory:
    """The rows of one conversation after another (contact, conversation, messages,
    history), ids continuing from `next_ids`; tallies what inbox_count must say."""

    def __init__(self, rng: random.Random, account_id: int, team: Team, next_ids: dict[str, int],
                 messages_per_conversation: int):
        self.random = rng.random  # the hot loops use only random() (C), not randint/choice (Python)
        self.account_id = account_id
        self.team = team
        self.next_ids = next_ids
        self.messages = (max(1, messages_per_conversation // 2), messages_per_conversation * 3 // 2)
        self.inbox_counts: Counter[tuple[str, int]] = Counter()

    def batch(self, first_index: int, count: int) -> dict[str, list[tuple]]:
        rows: dict[str, list[tuple]] = {table: [] for table in BULK_TABLES}
        for index in range(first_index, first_index + count):
            self._conversation(index, rows)
        return rows

    def inbox_count_rows(self) -> list[tuple]:
        rows = []
        for (status, assignee_key), count in sorted(self.inbox_counts.items()):
            rows.append((self._take("inbox_count"), self.account_id, status, assignee_key, count))
        return rows

    def _take(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def _between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def _pick(self, options: tuple):
        return options[int(self.random() * len(options))]

    def _member(self) -> int:
        weights = self.team.cum_weights
        return self.team.assignable[bisect_right(weights, self.random() * weights[-1], 0, len(weights) - 1)]

    def _conversation(self, index: int, rows: dict[str, list[tuple]]) -> None:
        contact_id, conversation_id = self._take("contact"), self._take("conversation")
        status = OPEN if self.random() < OPEN_SHARE else CLOSED
        assignee = None if self.random() < UNASSIGNED_SHARE else self._member()
        times = self._message_times()
        last_message_id = self._messages(index, conversation_id, assignee, times, rows["message"])
        changes = self._assignments(conversation_id, assignee, times, rows["assignment_event"])
        if status == CLOSED:
            closed_at = times[-1] + self._between(*CLOSE_AFTER_SECONDS)
            actor = assignee or self._member()
            rows["status_event"].append((self._take("status_event"), conversation_id, actor, CLOSED, at(closed_at)))
            changes += 1
        name = f"{self._pick(FIRST_NAMES)} {self._pick(LAST_NAMES)}"
        started_at, last_at = at(times[0]), at(times[-1])
        rows["contact"].append((contact_id, self.account_id, f"+1415{FIRST_PHONE + index}", name, started_at, False))
        rows["conversation"].append((conversation_id, self.account_id, contact_id, status, assignee, last_at,
                                     1 + changes, started_at, last_message_id))
        self.inbox_counts[(status, assignee or 0)] += 1

    def _message_times(self) -> list[int]:
        """Strictly increasing epoch seconds, placed so a closing event still fits before DATA_ENDS_AT."""
        offsets = [0]
        for _ in range(self._between(*self.messages) - 1):
            offsets.append(offsets[-1] + self._between(*REPLY_GAP_SECONDS))
        latest_start = HISTORY_SECONDS - offsets[-1] - CLOSE_AFTER_SECONDS[1]
        start = DATA_ENDS_AT - HISTORY_SECONDS + self._between(0, max(latest_start, 0))
        return [start + offset for offset in offsets]

    def _messages(self, index: int, conversation_id: int, assignee: int | None, times: list[int],
                  out: list[tuple]) -> int:
        """Customer first, then team and customer in turn; returns the newest message's id."""
        # The hottest loop (10 rows per conversation): helpers inlined.
        random, account_id = self.random, self.account_id
        first_id = self.next_ids["message"]
        self.next_ids["message"] = first_id + len(times)
        for position, timestamp in enumerate(times):
            at = datetime.fromtimestamp(timestamp, UTC)
            if position % 2 == 0:
                external_id = f"SM{index:010d}{position:03d}"  # the provider's id: unique per account
                body = CUSTOMER_LINES[int(random() * len(CUSTOMER_LINES))]
                out.append((first_id + position, account_id, conversation_id, INBOUND, body, None, external_id, at))
            else:
                body = TEAM_LINES[int(random() * len(TEAM_LINES))]
                author = assignee or self._member()
                out.append((first_id + position, account_id, conversation_id, OUTBOUND, body, author, None, at))
        return first_id + len(times) - 1

    def _assignments(self, conversation_id: int, assignee: int | None, times: list[int],
                     out: list[tuple]) -> int:
        """The assignment history, its last assignee the current one; returns its length."""
        chain: list[int | None]
        if assignee is not None:
            chain = list(self._handovers(assignee))
        elif self.random() < RETURNED_TO_QUEUE_SHARE:
            chain = [self._member(), None]
        else:
            return 0
        previous = None
        for new, timestamp in zip(chain, sorted(self._between(times[0], times[-1]) for _ in chain), strict=True):
            actor = new if new is not None and self.random() < SELF_ASSIGN_SHARE else self._member()
            note = "" if previous is None else RETURN_TO_QUEUE_NOTE if new is None else self._pick(REASSIGNMENT_NOTES)
            out.append((self._take("assignment_event"), conversation_id, actor, new, previous, note, at(timestamp)))
            previous = new
        return len(chain)

    def _handovers(self, final: int) -> list[int]:
        """1-3 assignees in order, ending with `final`, never the same member twice in a row."""
        length = self._pick(ASSIGNMENTS_PER_ASSIGNED) if len(self.team.assignable) > 1 else 1
        chain = [final]
        while len(chain) < length:
            candidate = self._member()
            if candidate != chain[0]:
                chain.insert(0, candidate)
        return chain
