"""The catalog's full-text index over the items' folded text (issue #12): DDL the models cannot say.

SQLite: `items_fts`, an FTS5 external-content table over `items(search_title, search_text)` (its
rows are the items' ids; the text stays in `items`), kept in step by three triggers in the
transaction of every INSERT, UPDATE and DELETE of an item, listed or not (the catalog joins
`items` for `is_listed`, `in_stock` and the filters, so unlisting and relisting change nothing in
the index, and `INSERT INTO items_fts(items_fts) VALUES('rebuild')` rebuilds it from `items`).
`items_fts_vocab` (fts5vocab) lists its words with their counts, for spelling suggestions.

PostgreSQL: `items.search_vector`, a tsvector the database computes from the same two folded
columns (generated, stored: kept in step by the database itself), title and size weight A, the
whole text B, with a GIN index; and `item_words`, every word the items have used, filled by
triggers from that tsvector, with a trigram index (pg_trgm) to find the word a typo meant. A
word stays there when its items go (a suggestion is only made when its search finds items).

The start-ups' products get the same, simpler: `products_fts` over `products.search_text`
(SQLite), `products.search_vector` with a GIN index (PostgreSQL); the shop keeps its order.

The same statements run from the migration that creates the index (a copy, frozen there) and,
for `db.create_all()` (the tests, the benchmarks), from the `after_create` event of the items
table below; tests/test_search.py checks that both give the same schema. Autogenerate cannot see
any of it (a virtual table, triggers, a column and indexes the models do not declare):
`EXCLUDED` is what migrations/env.py leaves out of the comparison.
"""
from sqlalchemy import event

from .item import Item
from .vendor import Product

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
# For migrations/env.py: (kind, name) pairs autogenerate must not compare.
EXCLUDED = {("column", "search_vector"), ("index", "ix_items_search_vector"),
            ("table", "item_words"), ("index", "ix_item_words_trgm"),
            ("index", "ix_products_search_vector")}
# Emptied with the models' tables between tests (tests/conftest.py).
EXTRA_TABLES = {"postgresql": ("item_words",)}
EXCLUDED_TABLE_PREFIXES = ("items_fts", "products_fts")  # virtual tables, FTS5's shadow tables


def ddl(dialect: str) -> tuple[str, ...]:
    return {"sqlite": SQLITE_DDL, "postgresql": POSTGRESQL_DDL}.get(dialect, ())


@event.listens_for(Item.__table__, "after_create")
def _create_index(table, connection, **_kw):
    for statement in ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


@event.listens_for(Item.__table__, "before_drop")
def _drop_index(table, connection, **_kw):
    """What does not go with the table: SQLite's virtual tables, PostgreSQL's word list and
    its functions."""
    statements = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}
    for statement in statements.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


@event.listens_for(Product.__table__, "after_create")
def _create_product_index(table, connection, **_kw):
    statements = {"sqlite": SQLITE_PRODUCTS_DDL, "postgresql": POSTGRESQL_PRODUCTS_DDL}
    for statement in statements.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


@event.listens_for(Product.__table__, "before_drop")
def _drop_product_index(table, connection, **_kw):
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_PRODUCTS_DROP:
            connection.exec_driver_sql(statement)
