"""Outbound delivery: messaging channels, delivery jobs, a reply's delivery status and ids,
contacts' opt-out. Replies stored before it have no delivery (they were never sent)."""
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

from models.enums import AuditAction, ChannelProvider, DeliveryJobState, DeliveryStatus, NotificationKind


class Migration(migrations.Migration):
    dependencies = [('models', '0003_access_audit')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeliveryJob',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('conversation', fields.ForeignKeyField('models.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('message', fields.OneToOneField('models.Message', source_field='message_id', db_constraint=True, to_field='id', related_name='delivery_job', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharEnumField(default=DeliveryJobState.QUEUED, description='QUEUED: QUEUED\nSENDING: SENDING\nAWAITING_REPORT: AWAITING_REPORT\nDONE: DONE', enum_type=DeliveryJobState, max_length=20)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claimed_by', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'delivery_job', 'app': 'models', 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['conversation_id', 'state', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MessagingChannel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='messaging_channel', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharEnumField(description='TWILIO: TWILIO\nMESSAGEMEDIA: MESSAGEMEDIA\nWEBHOOK: WEBHOOK\nSIMULATED: SIMULATED', enum_type=ChannelProvider, max_length=20)),
                ('sender_number', fields.CharField(max_length=20)),
                ('api_key_sealed', fields.TextField(default='', unique=False)),
                ('api_secret_sealed', fields.TextField(default='', unique=False)),
                ('url', fields.CharField(null=True, max_length=500)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'messaging_channel', 'app': 'models', 'pk_attr': 'id', 'table_description': "How an account's replies leave: the provider, the number they are sent from, and"},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='AuditEntry',
            name='action',
            field=fields.CharEnumField(description='MEMBER_CREATED: MEMBER_CREATED\nROLE_CHANGED: ROLE_CHANGED\nMEMBER_DEACTIVATED: MEMBER_DEACTIVATED\nMEMBER_REACTIVATED: MEMBER_REACTIVATED\nPLAN_CHANGED: PLAN_CHANGED\nWEBHOOK_SECRET_ROTATED: WEBHOOK_SECRET_ROTATED\nLOGIN_FROM_NEW_ADDRESS: LOGIN_FROM_NEW_ADDRESS\nCHANNEL_CHANGED: CHANNEL_CHANGED', enum_type=AuditAction, max_length=40),
        ),
        ops.AddField(
            model_name='Contact',
            name='opted_out',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Contact',
            name='opted_out_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Message',
            name='client_message_id',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='Message',
            name='delivery_error_code',
            field=fields.CharField(null=True, max_length=50),
        ),
        ops.AddField(
            model_name='Message',
            name='delivery_error_message',
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.AddField(
            model_name='Message',
            name='delivery_status',
            field=fields.CharEnumField(null=True, description='PENDING: PENDING\nSENT: SENT\nDELIVERED: DELIVERED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=10),
        ),
        ops.AddField(
            model_name='Message',
            name='delivery_updated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Message',
            name='provider_message_id',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddIndex(
            model_name='Message',
            index=Index(fields=['account_id', 'provider_message_id']),
        ),
        ops.AddConstraint(
            model_name='Message',
            constraint=UniqueConstraint(fields=('conversation_id', 'client_message_id'), name=None),
        ),
        ops.AlterField(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='ASSIGNED: ASSIGNED\nNEW_MESSAGE: NEW_MESSAGE\nDELIVERY_FAILED: DELIVERY_FAILED', enum_type=NotificationKind, max_length=20),
        ),
    ]
