"""resolvers.notifications: a member's notifications listed newest first in keyset pages,
counted, and marked read (by id or all), never touching anyone else's."""
from __future__ import annotations

import pytest

from models import Notification, NotificationKind, Plan
from resolvers.assignment import assign_conversation
from resolvers.errors import DomainError, ErrorCode
from resolvers.notifications import MAX_IDS_PER_CALL, count_notifications, list_notifications, mark_read
from resolvers.viewer import Viewer
from tests.resolvers.conftest import Factory, Team, notifications_of


async def assigned_to(factory: Factory, team: Team, name: str, how_many: int, by: str = "bob") -> list[int]:
    """`how_many` new conversations assigned to `name` by `by`: one notification each. Their ids, in order."""
    conversation_ids = []
    for _ in range(how_many):
        conversation = await factory.conversation(team)
        await assign_conversation(team[by], str(conversation.id), team.id(name))
        conversation_ids.append(conversation.id)
    return conversation_ids


async def all_pages(viewer: Viewer, *, first: int, unread_only: bool = False) -> list[list[Notification]]:
    pages, before_id = [], None
    while True:
        rows = await list_notifications(viewer, unread_only=unread_only, first=first, before_id=before_id)
        pages.append(rows[:first])
        if len(rows) <= first:
            return pages
        before_id = rows[first - 1].id


async def unread_ids(viewer: Viewer) -> list[int]:
    return [n.id for n in await notifications_of(viewer) if n.read_at is None]


async def test_notifications_are_listed_newest_first_in_keyset_pages(factory: Factory, team: Team):
    # given: five conversations assigned to carol one after another
    conversations = await assigned_to(factory, team, "carol", 5)

    # when
    pages = await all_pages(team["carol"], first=2)

    # then: 2 + 2 + 1, no repeats, newest assignment first
    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [n for page in pages for n in page]
    assert [n.conversation_id for n in listed] == conversations[::-1]
    assert {n.kind for n in listed} == {NotificationKind.ASSIGNED}
    assert {n.user_id for n in listed} == {team["carol"].user_id}
    assert await count_notifications(team["carol"], unread_only=False) == 5


async def test_a_page_started_before_new_notifications_arrive_neither_repeats_nor_skips(factory: Factory, team: Team):
    # given: carol has read the first page of three
    await assigned_to(factory, team, "carol", 3)
    first_page = (await list_notifications(team["carol"], unread_only=False, first=2, before_id=None))[:2]

    # when: a new notification arrives before she asks for the next page
    await assigned_to(factory, team, "carol", 1)
    rest = await list_notifications(team["carol"], unread_only=False, first=2, before_id=first_page[-1].id)

    # then
    everything_before = [n.id for n in (await notifications_of(team["carol"]))[:3]]
    assert sorted(n.id for n in first_page + rest) == everything_before


async def test_unread_only_lists_and_counts_what_is_still_unread(factory: Factory, team: Team):
    # given
    await assigned_to(factory, team, "carol", 4)
    oldest, second, *_ = await notifications_of(team["carol"])
    await mark_read(team["carol"], ids=[str(oldest.id), str(second.id)], all_=False)

    # when
    unread = [n for page in await all_pages(team["carol"], first=10, unread_only=True) for n in page]

    # then
    assert [n.id for n in unread] == (await unread_ids(team["carol"]))[::-1]
    assert {oldest.id, second.id}.isdisjoint(n.id for n in unread)
    assert await count_notifications(team["carol"], unread_only=True) == 2
    assert await count_notifications(team["carol"], unread_only=False) == 4


async def test_marking_by_ids_marks_exactly_those_and_counts_only_the_newly_read(factory: Factory, team: Team):
    # given
    await assigned_to(factory, team, "carol", 3)
    first, second, third = await notifications_of(team["carol"])

    # when
    marked = await mark_read(team["carol"], ids=[str(first.id), str(third.id)], all_=False)

    # then
    assert marked == 2
    assert await unread_ids(team["carol"]) == [second.id]
    first_read_at = (await Notification.get(id=first.id)).read_at
    assert first_read_at is not None

    # when: marked again with one still unread
    again = await mark_read(team["carol"], ids=[str(first.id), str(second.id)], all_=False)

    # then: only the newly read one counts, and the first keeps when it was read
    assert again == 1
    assert await unread_ids(team["carol"]) == []
    assert (await Notification.get(id=first.id)).read_at == first_read_at


async def test_marking_all_marks_only_the_viewers_own(factory: Factory, team: Team):
    # given: carol and bob each have notifications
    await assigned_to(factory, team, "carol", 3)
    await assigned_to(factory, team, "bob", 2, by="carol")

    # when
    marked = await mark_read(team["carol"], ids=None, all_=True)

    # then
    assert marked == 3
    assert await unread_ids(team["carol"]) == []
    assert len(await unread_ids(team["bob"])) == 2


async def test_another_members_notification_id_is_not_found_and_nothing_is_marked(factory: Factory, team: Team):
    # given
    await assigned_to(factory, team, "carol", 1)
    await assigned_to(factory, team, "bob", 1, by="carol")
    [carols] = await notifications_of(team["carol"])
    [bobs] = await notifications_of(team["bob"])

    # when
    with pytest.raises(DomainError) as raised:
        await mark_read(team["carol"], ids=[str(carols.id), str(bobs.id)], all_=False)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "ids")
    assert await unread_ids(team["carol"]) == [carols.id]
    assert await unread_ids(team["bob"]) == [bobs.id]


async def test_another_accounts_notification_id_is_not_found_and_nothing_is_marked(factory: Factory, team: Team):
    # given
    other = await factory.team()
    await assigned_to(factory, team, "carol", 1)
    await assigned_to(factory, other, "carol", 1)
    [mine] = await notifications_of(team["carol"])
    [theirs] = await notifications_of(other["carol"])

    # when
    with pytest.raises(DomainError) as raised:
        await mark_read(team["carol"], ids=[str(mine.id), str(theirs.id)], all_=False)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "ids")
    assert await unread_ids(team["carol"]) == [mine.id]
    assert await unread_ids(other["carol"]) == [theirs.id]


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "01", "99999999999"])
async def test_a_malformed_notification_id_is_not_found_and_nothing_is_marked(
    factory: Factory, team: Team, raw: str
):
    # given
    await assigned_to(factory, team, "carol", 1)
    [notification] = await notifications_of(team["carol"])

    # when
    with pytest.raises(DomainError) as raised:
        await mark_read(team["carol"], ids=[str(notification.id), raw], all_=False)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "ids")
    assert await unread_ids(team["carol"]) == [notification.id]


@pytest.mark.parametrize(
    ("ids", "all_"), [(None, False), ([], True), (["1"], True)], ids=["neither", "both-empty", "both"]
)
async def test_mark_read_needs_either_ids_or_all(factory: Factory, team: Team, ids: list[str] | None, all_: bool):
    # given
    await assigned_to(factory, team, "carol", 1)

    # when
    with pytest.raises(DomainError) as raised:
        await mark_read(team["carol"], ids=ids, all_=all_)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.VALIDATION, "ids")
    assert len(await unread_ids(team["carol"])) == 1


async def test_too_many_ids_in_one_call_are_refused(factory: Factory, team: Team):
    # given
    await assigned_to(factory, team, "carol", 1)
    [notification] = await notifications_of(team["carol"])

    # when
    with pytest.raises(DomainError) as raised:
        await mark_read(team["carol"], ids=[str(notification.id)] * (MAX_IDS_PER_CALL + 1), all_=False)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.VALIDATION, "ids")
    assert await unread_ids(team["carol"]) == [notification.id]


async def test_the_starter_plan_has_no_notifications(factory: Factory):
    # given
    team = await factory.team(Plan.STARTER)

    # when
    with pytest.raises(DomainError) as listing:
        await list_notifications(team["bob"], unread_only=False, first=10, before_id=None)
    with pytest.raises(DomainError) as marking:
        await mark_read(team["bob"], ids=None, all_=True)

    # then
    assert listing.value.code == marking.value.code == ErrorCode.FEATURE_NOT_IN_PLAN
