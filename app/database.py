"""Engine behaviour for SQLite and the one way services open a write transaction.

SQLite: WAL, foreign keys, a busy timeout, and pysqlite's own transaction handling switched off so
that we emit BEGIN ourselves: plain BEGIN for reads, BEGIN IMMEDIATE for a write unit of work, so
two writers queue on the busy timeout instead of failing on a stale snapshot.
"""
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 15000


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_conn, _record):
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        immediate = conn.get_execution_options().get("sqlite_begin") == "immediate"
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction():
    """One unit of work: starts a write transaction, commits once, rolls back on any error.

    A read transaction left open by the request (e.g. loading current_user) is ended first, so the
    write starts from a fresh snapshot holding the write lock (SQLite) from its first statement.
    """
    session = db.session()  # the real Session behind the scoped proxy
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_begin": "immediate"})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
