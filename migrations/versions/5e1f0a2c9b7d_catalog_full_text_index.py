"""The catalog's full-text index (issue #12): items.search_title, ix_items_facets, and SQLite FTS5
(items_fts, its vocabulary, three triggers) or PostgreSQL (generated tsvector + GIN, item_words with pg_trgm); the same for products' search_text

Revision ID: 5e1f0a2c9b7d
Revises: 52091fc4291f
Create Date: 2026-12-03 14:05:00

The DDL is a copy of app/models/search.py's at the time of writing (a migration stays as it was);
tests/test_search.py checks that this migration and db.create_all() give the same schema.
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '5e1f0a2c9b7d'
down_revision = '52091fc4291f'
branch_labels = None
depends_on = None

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE items_fts USING fts5(search_title, search_text, content='items', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='1 2 3')",
    "CREATE VIRTUAL TABLE items_fts_vocab USING fts5vocab(items_fts, row)",
    "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts(rowid, search_title, search_text) "
    "VALUES (new.id, new.search_title, new.search_text); END",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, search_title, search_text) "
    "VALUES ('delete', old.id, old.search_title, old.search_text); END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF search_title, search_text ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, search_title, search_text) "
    "VALUES ('delete', old.id, old.search_title, old.search_text); "
    "INSERT INTO items_fts(rowid, search_title, search_text) "
    "VALUES (new.id, new.search_title, new.search_text); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS items_fts_update", "DROP TRIGGER IF EXISTS items_fts_delete",
    "DROP TRIGGER IF EXISTS items_fts_insert", "DROP TABLE IF EXISTS items_fts_vocab",
    "DROP TABLE IF EXISTS items_fts",
)
POSTGRESQL_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, search_title), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, search_text), 'B')) STORED",
    "CREATE INDEX ix_items_search_vector ON items USING gin (search_vector)",
    "CREATE TABLE IF NOT EXISTS item_words (word text PRIMARY KEY)",
    "CREATE INDEX IF NOT EXISTS ix_item_words_trgm ON item_words USING gin (word gin_trgm_ops)",
    # Words in order, so that two transactions adding the same new words cannot deadlock.
    "CREATE OR REPLACE FUNCTION item_words_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN INSERT INTO item_words (word) SELECT DISTINCT w FROM new_items, "
    "unnest(tsvector_to_array(new_items.search_vector)) AS w ORDER BY w "
    "ON CONFLICT DO NOTHING; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION item_words_edited() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN INSERT INTO item_words (word) SELECT DISTINCT w FROM "
    "unnest(tsvector_to_array(NEW.search_vector)) AS w ORDER BY w "
    "ON CONFLICT DO NOTHING; RETURN NULL; END $$",
    "CREATE TRIGGER items_words_insert AFTER INSERT ON items REFERENCING NEW TABLE AS new_items "
    "FOR EACH STATEMENT EXECUTE FUNCTION item_words_inserted()",
    "CREATE TRIGGER items_words_update AFTER UPDATE OF search_title, search_text ON items "
    "FOR EACH ROW EXECUTE FUNCTION item_words_edited()",
)
POSTGRESQL_DROP = (
    "DROP TRIGGER IF EXISTS items_words_update ON items",
    "DROP TRIGGER IF EXISTS items_words_insert ON items",
    "DROP FUNCTION IF EXISTS item_words_edited()", "DROP FUNCTION IF EXISTS item_words_inserted()",
    "DROP TABLE IF EXISTS item_words",
    "DROP INDEX IF EXISTS ix_items_search_vector",
    "ALTER TABLE items DROP COLUMN IF EXISTS search_vector",
)

SQLITE_PRODUCTS_DDL = (
    "CREATE VIRTUAL TABLE products_fts USING fts5(search_text, content='products', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='1 2 3')",
    "CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN "
    "INSERT INTO products_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN "
    "INSERT INTO products_fts(products_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER products_fts_update AFTER UPDATE OF search_text ON products BEGIN "
    "INSERT INTO products_fts(products_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO products_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
)
SQLITE_PRODUCTS_DROP = (
    "DROP TRIGGER IF EXISTS products_fts_update", "DROP TRIGGER IF EXISTS products_fts_delete",
    "DROP TRIGGER IF EXISTS products_fts_insert", "DROP TABLE IF EXISTS products_fts",
)
POSTGRESQL_PRODUCTS_DDL = (
    "ALTER TABLE products ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "to_tsvector('simple'::regconfig, search_text)) STORED",
    "CREATE INDEX ix_products_search_vector ON products USING gin (search_vector)",
)
POSTGRESQL_PRODUCTS_DROP = (
    "DROP INDEX IF EXISTS ix_products_search_vector",
    "ALTER TABLE products DROP COLUMN IF EXISTS search_vector",
)


def _fold(text):
    """app/services/text.fold as it is today: lower case, no tones, đ → d."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.lower().split())


def upgrade():
    bind = op.get_bind()
    # Not a batch operation (SQLite would copy `items` and insert into its generated column).
    op.add_column('items', sa.Column('search_title', sa.Text(), nullable=False,
                                     server_default=''))
    items = sa.table('items', sa.column('id', sa.Integer), sa.column('title', sa.String),
                     sa.column('size', sa.String), sa.column('search_title', sa.Text))
    rows = bind.execute(sa.select(items.c.id, items.c.title, items.c.size)).all()
    for start in range(0, len(rows), 1000):  # the title with the size, folded
        bind.execute(items.update().where(items.c.id == sa.bindparam('item_id'))
                     .values(search_title=sa.bindparam('folded')),
                     [{"item_id": i, "folded": _fold(f"{t} {s}")}
                      for i, t, s in rows[start:start + 1000]])
    op.create_index('ix_items_facets', 'items',
                    ['is_listed', 'hub_id', 'category', 'size', 'in_stock'], unique=False)
    if bind.dialect.name == 'sqlite':
        for statement in SQLITE_DDL + SQLITE_PRODUCTS_DDL:
            op.execute(statement)
        op.execute("INSERT INTO items_fts(items_fts) VALUES ('rebuild')")
        op.execute("INSERT INTO products_fts(products_fts) VALUES ('rebuild')")
    elif bind.dialect.name == 'postgresql':
        for statement in POSTGRESQL_DDL + POSTGRESQL_PRODUCTS_DDL:
            op.execute(statement)
        op.execute("INSERT INTO item_words (word) SELECT DISTINCT w FROM items, "
                   "unnest(tsvector_to_array(items.search_vector)) AS w ORDER BY w "
                   "ON CONFLICT DO NOTHING")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for statement in SQLITE_PRODUCTS_DROP + SQLITE_DROP:
            op.execute(statement)
    elif bind.dialect.name == 'postgresql':
        for statement in POSTGRESQL_PRODUCTS_DROP + POSTGRESQL_DROP:
            op.execute(statement)
    op.drop_index('ix_items_facets', table_name='items')
    op.drop_column('items', 'search_title')
