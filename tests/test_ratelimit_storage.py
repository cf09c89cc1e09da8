"""The limiter's SQLite-file storage (app/ratelimit_storage.py): the counts every worker process
of one machine shares when there is no Redis."""
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app.ratelimit_storage import SQLiteStorage

PROCESSES, HITS = 4, 60


def _storage(tmp_path) -> SQLiteStorage:
    return storage_from_string(f"sqlite:///{tmp_path / 'limits.sqlite'}")


def test_the_sqlite_scheme_counts_within_a_window_and_starts_again_after_it(tmp_path):
    storage = _storage(tmp_path)
    assert isinstance(storage, SQLiteStorage) and storage.check()
    assert [storage.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("a") == 3 and storage.get("b") == 0
    assert storage.incr("a", 60, amount=2) == 5
    assert 55 < storage.get_expiry("a") - time.time() <= 60
    storage.clear("a")
    assert storage.get("a") == 0
    assert storage.incr("old", 0) == 1  # a window of no length: over as soon as it starts
    assert storage.get("old") == 0
    assert storage.incr("old", 60) == 1  # a new window, not 2
    assert storage.reset() == 1 and storage.get("old") == 0


def test_rows_of_past_windows_are_deleted(tmp_path):
    storage = _storage(tmp_path)
    for n in range(5):
        storage.incr(f"gone-{n}", 0)
    storage._next_sweep = 0.0
    storage.incr("kept", 60)
    rows = sqlite3.connect(storage.path).execute("SELECT key FROM counters").fetchall()
    assert rows == [("kept",)]


def _hammer(uri: str, start, results) -> None:
    storage = storage_from_string(uri)
    strategy, item = FixedWindowRateLimiter(storage), parse("37 per minute")
    start.wait()
    counts = [storage.incr("shared", 60) for _ in range(HITS)]
    passed = sum(strategy.hit(item, "slot") for _ in range(HITS))
    results.put((counts, passed))


def test_processes_incrementing_at_once_never_read_the_same_count(tmp_path):
    """Four processes at once: every count from 1 to 240 is handed out exactly once, and a limit
    of 37 lets exactly 37 hits through, however they interleave."""
    uri = f"sqlite:///{tmp_path / 'limits.sqlite'}"
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(uri, start, results)) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    counts = sorted(c for counts, _ in outcomes for c in counts)
    assert counts == list(range(1, PROCESSES * HITS + 1))
    assert sum(passed for _, passed in outcomes) == 37


DEFAULTS = """
import sys
from app import create_app
from app.config import INSTANCE_DIR, Config, TestConfig
from app.extensions import limiter
assert Config.RATELIMIT_STORAGE_URI == f"sqlite:///{INSTANCE_DIR / 'ratelimits.sqlite'}"
assert TestConfig.RATELIMIT_STORAGE_URI == "memory://" and TestConfig.RATELIMIT_ENABLED is False
create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_STORAGE_URI": sys.argv[1]})
print(type(limiter.storage).__name__)
"""


def test_without_redis_the_app_counts_in_a_file_and_the_tests_in_memory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RATELIMIT_STORAGE_URI")}
    run = subprocess.run([sys.executable, "-c", DEFAULTS, f"sqlite:///{tmp_path / 'l.sqlite'}"],
                         capture_output=True, text=True, timeout=60, env=env, check=False,
                         cwd=Path(__file__).resolve().parent.parent)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["SQLiteStorage"]
