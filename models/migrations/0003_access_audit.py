"""Sessions remember when they were last used (idle timeout), members the addresses they
logged in from, and the audit log records who changed access."""
from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import AuditAction


class Migration(migrations.Migration):
    dependencies = [('models', '0002_inbox_read_path')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='audit_entries', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharEnumField(description='MEMBER_CREATED: MEMBER_CREATED\nROLE_CHANGED: ROLE_CHANGED\nMEMBER_DEACTIVATED: MEMBER_DEACTIVATED\nMEMBER_REACTIVATED: MEMBER_REACTIVATED\nPLAN_CHANGED: PLAN_CHANGED\nWEBHOOK_SECRET_ROTATED: WEBHOOK_SECRET_ROTATED\nLOGIN_FROM_NEW_ADDRESS: LOGIN_FROM_NEW_ADDRESS', enum_type=AuditAction, max_length=40)),
                ('target_user', fields.ForeignKeyField('models.User', source_field='target_user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('before', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('address', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_entry', 'app': 'models', 'indexes': [Index(fields=['account_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='KnownAddress',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='known_addresses', on_delete=OnDelete.CASCADE)),
                ('address', fields.CharField(max_length=64)),
                ('first_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'known_address', 'app': 'models', 'unique_together': (('user_id', 'address'),), 'pk_attr': 'id', 'table_description': 'A client address a member has logged in from: a login from any other is written to'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Session',
            name='last_seen_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
