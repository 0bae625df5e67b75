"""Tenancy over WebSockets: nothing of one account ever reaches another's subscribers."""
from __future__ import annotations

from tests.support.documents import operation
from tests.support.http import mutate as call
from tests.support.live import EventCollector, running_server, start_cursor, ws_session
from tests.support.teams import make_team
from tests.support.webhook import inbound

INBOX_EVENTS = operation("InboxEvents")
NOTIFICATION_ADDED = operation("NotificationAdded")
ASSIGN = operation("AssignConversation")
SET_STATUS = operation("SetConversationStatus")
SET_TYPING = operation("SetTyping")
SEND = operation("SendMessage")


async def test_another_accounts_all_view_hears_nothing_of_ours(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a member of another account watches everything they can
        ours, theirs = await make_team(http), await make_team(http)
        outsider = theirs["bob"]
        async with ws_session(server, outsider.token) as session:
            inbox = EventCollector(session, INBOX_EVENTS, {"filter": {"scope": "ALL"}, "after": await start_cursor()})
            notifications = EventCollector(session, NOTIFICATION_ADDED, {"after": await start_cursor()})

            # when: everything happens in our account, then one probe in theirs
            conversation = (await inbound(http, ours.account, "+14155550701", "Ours"))["conversationId"]
            await call(http, ASSIGN, {"conversationId": conversation, "assigneeId": ours["bob"].id}, ours.admin.token)
            await call(http, SET_TYPING, {"conversationId": conversation, "isTyping": True}, ours["carol"].token)
            await call(http, SEND, {"conversationId": conversation, "body": "Reply"}, ours["bob"].token)
            await call(http, SET_STATUS, {"conversationId": conversation, "status": "CLOSED"}, ours["bob"].token)
            probe = (await inbound(http, theirs.account, "+14155550702", "Theirs"))["conversationId"]
            await call(http, ASSIGN, {"conversationId": probe, "assigneeId": outsider.id}, theirs.admin.token)

            # then
            await inbox.wait_for(lambda _: len(inbox.items) >= 4)  # the probe's events and their counts
            await notifications.wait_for(lambda item: True)
            await inbox.stop()
            await notifications.stop()
        kinds = [(item["inboxEvents"]["__typename"], (item["inboxEvents"].get("conversation") or {}).get("id"))
                 for item in inbox.items]
        assert kinds == [
            ("MessageAdded", probe), ("InboxCountsChanged", None),
            ("ConversationAssigned", probe), ("InboxCountsChanged", None),
        ]
        counts = inbox.items[3]["inboxEvents"]["counts"]  # computed when sent: the counts now
        assert (counts["all"], counts["unassigned"], counts["mine"]) == (1, 0, 1)
        assert {row["user"]["id"]: row["count"] for row in counts["byAssignee"]} == {
            theirs.admin.id: 0, outsider.id: 1, theirs["carol"].id: 0,
        }
        assert [item["notificationAdded"]["conversation"]["id"] for item in notifications.items] == [probe]
