"""Text with NUL characters (which PostgreSQL cannot store) is refused as VALIDATION on
every backend, never a 500, and nothing is stored."""
import pytest

from models import Account, Plan, User
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import PASSWORD, make_team
from tests.support.webhook import inbound

NUL = "bad\x00text"


async def test_login_with_a_nul_in_the_email_is_just_wrong_credentials(client):
    result = data(await gql(client, operation("Login"), {"email": NUL, "password": PASSWORD}))["login"]
    assert result["token"] is None
    assert [e["code"] for e in result["userErrors"]] == ["INVALID_CREDENTIALS"]


@pytest.mark.parametrize("field", ["name", "email"])
async def test_create_user_refuses_nul_in_text(client, field):
    # given
    team = await make_team(client)
    user_input = {"email": "new@member.test", "name": "New Member", "role": "AGENT", "password": PASSWORD}
    user_input[field] = NUL
    users_before = await User.all().count()

    # when
    result = data(await gql(client, operation("CreateUser"), {"input": user_input}, token=team.admin.token))

    # then
    assert result["createUser"]["user"] is None
    assert [(e["code"], e["field"]) for e in result["createUser"]["userErrors"]] == [("VALIDATION", field)]
    assert await User.all().count() == users_before


async def test_inbox_search_refuses_nul(client):
    team = await make_team(client)
    await inbound(client, team.account, "+14155550123")
    result = await gql(client, operation("InboxPage"), {"filter": {"search": NUL}}, token=team.admin.token)
    assert [e["extensions"]["code"] for e in result["errors"]] == ["VALIDATION"]


async def test_assignment_note_and_message_body_refuse_nul(client):
    # given
    team = await make_team(client)
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]

    # when
    assigned = data(await gql(client, operation("AssignConversation"),
                              {"conversationId": conversation_id, "assigneeId": team["bob"].id, "note": NUL},
                              token=team.admin.token))["assignConversation"]
    sent = data(await gql(client, operation("SendMessage"), {"conversationId": conversation_id, "body": NUL},
                          token=team.admin.token))["sendMessage"]

    # then
    assert [(e["code"], e["field"]) for e in assigned["userErrors"]] == [("VALIDATION", "note")]
    assert [(e["code"], e["field"]) for e in sent["userErrors"]] == [("VALIDATION", "body")]


async def test_account_names_refuse_nul(client):
    from resolvers.accounts import create_account
    from resolvers.errors import DomainError

    accounts_before = await Account.all().count()
    with pytest.raises(DomainError) as refused:
        await create_account(NUL, Plan.TEAM, "owner@nul.test", PASSWORD)
    assert refused.value.field == "name"
    assert await Account.all().count() == accounts_before
