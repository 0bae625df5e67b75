"""The inbox read path: conversation.last_message and the inbox_count counters, filled
from the rows already there (portable SQL: SQLite and PostgreSQL)."""
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import ConversationStatus


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InboxCount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(description='OPEN: OPEN\nCLOSED: CLOSED', enum_type=ConversationStatus, max_length=10)),
                ('assignee_key', fields.IntField(description='The member id, or 0 for unassigned')),
                ('count', fields.IntField(default=0)),
            ],
            options={'table': 'inbox_count', 'app': 'models', 'unique_together': (('account_id', 'status', 'assignee_key'),), 'pk_attr': 'id', 'table_description': 'How many conversations one assignee holds under one status (assignee_key 0 means'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Conversation',
            name='last_message',
            field=fields.ForeignKeyField('models.Message', source_field='last_message_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='Conversation',
            index=Index(fields=['last_message_id']),
        ),
        ops.RunSQL(
            "UPDATE conversation SET last_message_id = (SELECT m.id FROM message m"
            " WHERE m.conversation_id = conversation.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1)"
        ),
        ops.RunSQL(
            "INSERT INTO inbox_count (account_id, status, assignee_key, count)"
            " SELECT account_id, status, COALESCE(assignee_id, 0), COUNT(*) FROM conversation"
            " GROUP BY account_id, status, COALESCE(assignee_id, 0)"
        ),
    ]
