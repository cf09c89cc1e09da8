"""items.edited_at: set by every edit of a listed item (issue #11, stock)

Revision ID: cda62ed7ae60
Revises: 2dbcf8b877ae
Create Date: 2026-12-03 11:43:00.585545

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cda62ed7ae60'
down_revision = '2dbcf8b877ae'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('items', sa.Column('edited_at', sa.DateTime(), nullable=True))


def downgrade():
    # Not a batch operation: copying `items` into a new table (SQLite's batch mode) would insert
    # into its generated column in_stock. SQLite has ALTER TABLE ... DROP COLUMN since 3.35.
    op.drop_column('items', 'edited_at')
