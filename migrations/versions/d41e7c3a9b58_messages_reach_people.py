"""messages reach people (issue #13)

Notifications stored as key + parameters; a person's opt-out of reminders; a message's delivery
receipt, its unit and its resends.

Revision ID: d41e7c3a9b58
Revises: c4d8e2f6a1b3
Create Date: 2026-12-03 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd41e7c3a9b58'
down_revision = 'c4d8e2f6a1b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders_off', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('hub_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resends', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.create_index(batch_op.f('ix_outbound_messages_hub_id'), ['hub_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbound_messages_hub_id_hubs'), 'hubs',
                                    ['hub_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbound_messages_hub_id_hubs'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbound_messages_hub_id'))
        batch_op.drop_column('resends')
        batch_op.drop_column('hub_id')
        batch_op.drop_column('delivered_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('reminders_off')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('params')
        batch_op.drop_column('key')
