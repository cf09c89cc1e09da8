"""users.deleted_at: an account its owner deleted (name and phone erased, no sign-in)

Revision ID: 2dbcf8b877ae
Revises: 40b58cd1300a
Create Date: 2026-12-03 11:29:52.991114

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2dbcf8b877ae'
down_revision = '40b58cd1300a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
