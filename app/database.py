"""Engine behaviour for SQLite and the one way services open a write transaction.

SQLite: WAL, foreign keys, a busy timeout, and pysqlite's own transaction handling switched off so
that we emit BEGIN ourselves: plain BEGIN for reads, BEGIN IMMEDIATE for a write unit of work, so
two writers queue instead of failing on a stale snapshot.

SQLite's busy handler polls with growing sleeps (up to 100 ms), so under contention a waiting writer
oversleeps the lock it waits for. Write units of work on a SQLite file therefore queue first on a
blocking OS file lock (and a thread lock within the process), which wakes the next writer as soon
as the previous one commits: a fair, prompt queue across threads and gunicorn workers.
"""
import fcntl
import os
import threading
from contextlib import contextmanager, nullcontext

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


class _WriterQueue:
    """Process-wide thread lock + OS file lock beside the database file."""

    def __init__(self, path: str):
        self._thread_lock = threading.Lock()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.pid = os.getpid()  # a forked worker opens its own (a shared fd would not exclude)

    @contextmanager
    def hold(self):
        with self._thread_lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


_queues: dict[str, _WriterQueue] = {}
_queues_lock = threading.Lock()


def _writer_queue(session):
    bind = session.get_bind()
    database = bind.url.database if bind.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return nullcontext()
    with _queues_lock:
        queue = _queues.get(database)
        if queue is None or queue.pid != os.getpid():
            queue = _queues[database] = _WriterQueue(f"{database}-writelock")
    return queue.hold()


@contextmanager
def write_transaction(keep_loaded: bool = False):
    """One unit of work: starts a write transaction, commits once, rolls back on any error.

    A read transaction left open by the request (e.g. loading current_user) is ended first, so the
    write starts from a fresh snapshot holding the write lock (SQLite) from its first statement.
    `keep_loaded`: the objects the work added stay loaded after the commit instead of being
    reloaded on their next use — for a unit of work that changes nothing it had loaded.
    """
    session = db.session()  # the real Session behind the scoped proxy
    if session.in_transaction():
        session.commit()
    expire = session.expire_on_commit
    with _writer_queue(session):
        session.connection(execution_options={"sqlite_begin": "immediate"})
        try:
            yield session
            session.expire_on_commit = expire and not keep_loaded
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.expire_on_commit = expire
