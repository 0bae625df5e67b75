"""`serve --demo`: a demo account with members and conversations to click through."""
from __future__ import annotations

from datetime import timedelta

from models import Account, ChannelProvider, MessagingChannel, Plan, Role, User
from resolvers.accounts import create_account
from resolvers.assignment import assign_conversation
from resolvers.inbound import InboundMessage, receive_inbound
from resolvers.members import new_user
from resolvers.outbox import utcnow
from resolvers.viewer import Viewer

DEMO_ACCOUNT = "Demo Plumbing Co"
DEMO_PASSWORD = "demo-password"
DEMO_NUMBER = "+14155550100"  # the business's number: customers write to it, replies come from it
DEMO_MEMBERS = [
    ("alice@demo.teaminbox.dev", "Alice Admin", Role.ADMIN),
    ("bob@demo.teaminbox.dev", "Bob Baker", Role.AGENT),
    ("carol@demo.teaminbox.dev", "Carol Chen", Role.AGENT),
    ("dave@demo.teaminbox.dev", "Dave Data", Role.ANALYST),
]
DEMO_CUSTOMERS = [
    ("+14155550101", "Hi, my kitchen sink is leaking. Can someone come today?"),
    ("+14155550102", "Do you service water heaters?"),
    ("+14155550103", "Thanks for the quick fix yesterday!"),
    ("+14155550104", "What are your weekend hours?"),
    ("+14155550105", "The technician hasn't arrived yet, is he on his way?"),
]


async def seed_demo() -> tuple[Account, list[tuple[str, str, Role]]]:
    """Create the demo account once; later runs find it and change nothing."""
    logins = [(email, DEMO_PASSWORD, role) for email, _, role in DEMO_MEMBERS]
    existing = await User.get_or_none(email=DEMO_MEMBERS[0][0]).select_related("account")
    if existing is not None:
        await _simulated_channel(existing.account)  # a demo made before replies were delivered gets one too
        return existing.account, logins
    (admin_email, admin_name, _), *others = DEMO_MEMBERS
    account, admin = await create_account(DEMO_ACCOUNT, Plan.TEAM, admin_email, DEMO_PASSWORD, admin_name)
    await _simulated_channel(account)
    team = [admin] + [
        await new_user(account, email=email, name=name, role=role, password=DEMO_PASSWORD)
        for email, name, role in others
    ]
    start = utcnow() - timedelta(hours=len(DEMO_CUSTOMERS))
    conversations = []
    for index, (phone, body) in enumerate(DEMO_CUSTOMERS):
        inbound = InboundMessage(f"demo-{index}", phone, DEMO_NUMBER, body, start + timedelta(hours=index))
        message, _ = await receive_inbound(account, inbound)
        conversations.append(message.conversation_id)
    admin_viewer = Viewer(user=admin, account=account)
    await assign_conversation(admin_viewer, str(conversations[0]), str(team[1].id), note="Bob is on call today")
    await assign_conversation(admin_viewer, str(conversations[1]), str(team[2].id))
    await assign_conversation(admin_viewer, str(conversations[4]), str(team[1].id))
    return account, logins


async def _simulated_channel(account: Account) -> None:
    """Replies in the demo go through the built-in simulation (providers/simulated.py): sent,
    then delivered a moment later, or failed when the text contains "fail"."""
    await MessagingChannel.get_or_create(
        account_id=account.id, defaults={"provider": ChannelProvider.SIMULATED, "sender_number": DEMO_NUMBER}
    )
