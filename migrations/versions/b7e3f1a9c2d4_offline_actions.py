"""offline_actions: hand-overs synced from a volunteer's phone, once per idempotency key
(issue #15)

Revision ID: b7e3f1a9c2d4
Revises: 5e1f0a2c9b7d
Create Date: 2026-12-03 14:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3f1a9c2d4'
down_revision = '5e1f0a2c9b7d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'offline_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('route_id', sa.Integer(), nullable=False),
        sa.Column('stop_id', sa.Integer(), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('applied', sa.Boolean(), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_offline_actions_actor_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['route_id'], ['delivery_routes.id'],
                                name=op.f('fk_offline_actions_route_id_delivery_routes'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['stop_id'], ['run_stops.id'],
                                name=op.f('fk_offline_actions_stop_id_run_stops'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_offline_actions')),
        sa.UniqueConstraint('key', name=op.f('uq_offline_actions_key')),
    )
    with op.batch_alter_table('offline_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offline_actions_route_id'), ['route_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('offline_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_actions_route_id'))
    op.drop_table('offline_actions')
