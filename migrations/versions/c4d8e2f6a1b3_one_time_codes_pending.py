"""one_time_codes.pending: a registration waiting for its SMS code (issue #13, one-time codes)

Revision ID: c4d8e2f6a1b3
Revises: b7e3f1a9c2d4
Create Date: 2026-12-03 17:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d8e2f6a1b3'
down_revision = 'b7e3f1a9c2d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('one_time_codes') as batch_op:
        batch_op.add_column(sa.Column('pending', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('one_time_codes') as batch_op:
        batch_op.drop_column('pending')
