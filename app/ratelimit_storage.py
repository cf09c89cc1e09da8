"""Rate-limit counters in a SQLite file, shared by every worker process of one machine.

Without `REDIS_URL`, the limiter counts here (`sqlite:///<instance>/ratelimits.sqlite`) instead of
in each worker's memory, so three gunicorn workers allow what the limit says, not three times as
much. It is infrastructure beside `database.py`, not domain: a `limits` storage (the scheme
`sqlite://` registers it), independent of `DATABASE_URL` — the app's data may be on PostgreSQL,
the counters stay in a file of this machine. Across machines, set `REDIS_URL`.

One row per key: (key, count, expires_at). `incr` is one `INSERT ... ON CONFLICT DO UPDATE ...
RETURNING` statement, so SQLite's single writer makes each increment atomic: two processes never
read the same count, and never both pass the last slot. A row whose window has passed starts
again at the amount; expired rows are deleted now and then. The file is in WAL mode (readers do
not wait for the writer) with `synchronous=NORMAL`: after a power cut the counts of the last
moments may be lost, never the file. Fixed-window strategy only (the app's).
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time

from limits.storage import Storage

SWEEP_EVERY_S = 60.0  # how often a process deletes the rows whose window has passed

SCHEMA = """CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID"""

INCR = """INSERT INTO counters (key, count, expires_at) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN expires_at <= :now THEN excluded.count ELSE count + excluded.count END,
    expires_at = CASE WHEN expires_at <= :now THEN excluded.expires_at ELSE expires_at END
RETURNING count"""


class SQLiteStorage(Storage):
    """`sqlite:////absolute/path/file.sqlite` (or `sqlite:///relative/path`)."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 timeout: float = 10.0, **options):
        prefix = "sqlite:///"
        if not uri or not uri.startswith(prefix) or len(uri) == len(prefix):
            raise ValueError(f"expected {prefix}<file>, got {uri!r}")
        self.path = uri[len(prefix):]
        self.timeout = float(timeout)
        self._local = threading.local()
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (after a fork, the child opens its own)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(SCHEMA)
            local.conn, local.pid = conn, os.getpid()
        return local.conn

    def _sweep(self, now: float) -> None:
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_S
            self._db().execute("DELETE FROM counters WHERE expires_at <= ?", (now,))

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        self._sweep(now)
        rows = self._db().execute(INCR, {"key": key, "amount": amount, "now": now,
                                         "expiry": expiry}).fetchall()
        return int(rows[0][0])

    def get(self, key: str) -> int:
        row = self._db().execute("SELECT count FROM counters WHERE key = ? AND expires_at > ?",
                                 (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = self._db().execute("SELECT expires_at FROM counters WHERE key = ? AND "
                                 "expires_at > ?", (key, now)).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))
