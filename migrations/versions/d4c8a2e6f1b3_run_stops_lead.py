"""run_stops.lead_id: a student's several requests to one address are one stop (issue #14)

Existing rows keep lead_id NULL: each stays a stop of its own, as it was built and handled
(nothing delivered or committed changes).

Revision ID: d4c8a2e6f1b3
Revises: d41e7c3a9b58
Create Date: 2026-12-03 17:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4c8a2e6f1b3'
down_revision = 'd41e7c3a9b58'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('run_stops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lead_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_run_stops_lead_id'), ['lead_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_run_stops_lead_id_run_stops'), 'run_stops',
                                    ['lead_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('run_stops', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_run_stops_lead_id_run_stops'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_run_stops_lead_id'))
        batch_op.drop_column('lead_id')
