"""A consistent copy of the whole database while the app keeps serving, and the way back.

SQLite: the online backup API copies one snapshot (in WAL mode readers never block the writers)
into a temporary file that is renamed into place when complete; a restore copies a checked backup
back into the live file through the same API, under the database's write lock, so running workers
simply see the restored data at their next transaction.
PostgreSQL: `pg_dump -Fc` (one snapshot) and `pg_restore --clean --if-exists` in one transaction,
with the connection parameters of the database URL (the password through PGPASSWORD, not argv).
"""
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from ..database import SQLITE_BUSY_TIMEOUT_MS


class BackupError(Exception):
    """The copy or the restore could not be made; the message says why."""


def backup(database_url: str | URL, out: Path) -> None:
    """Write a consistent copy of the database to `out` (replaced only once the copy is whole)."""
    url, out = make_url(database_url), Path(out)
    partial = out.with_name(out.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(_sqlite_file(url, must_exist=True), partial, to_single_file=True)
        else:
            _pg_tool("pg_dump", url, "--format=custom", f"--file={partial}")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def restore(database_url: str | URL, source: Path) -> None:
    """Replace the database's content with the backup `source` (all or nothing)."""
    url, source = make_url(database_url), Path(source)
    if not source.is_file():
        raise BackupError(f"Không có tệp sao lưu {source}.")
    if url.get_backend_name() == "sqlite":
        _check_sqlite_backup(source)
        _sqlite_copy(source, _sqlite_file(url, must_exist=False), to_single_file=False)
    else:
        _pg_tool("pg_restore", url, "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 str(source))


def _sqlite_file(url: URL, must_exist: bool) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("Cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được.")
    path = Path(url.database)
    if must_exist and not path.is_file():
        raise BackupError(f"Không có tệp cơ sở dữ liệu {path}.")
    return path


def _sqlite_copy(source: Path, target: Path, to_single_file: bool) -> None:
    try:
        with _sqlite_connect(source) as src, _sqlite_connect(target) as dst:
            src.backup(dst)  # all pages in one step: one snapshot of the source
            if to_single_file:
                dst.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite: {exc}") from exc


def _sqlite_connect(path: Path):
    """A connection closed at the end of the `with` (sqlite3's own context manager only commits)."""
    return closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000))


def _check_sqlite_backup(source: Path) -> None:
    try:
        with _sqlite_connect(source) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                  ).fetchone()[0]
    except sqlite3.Error as exc:
        raise BackupError(f"{source} không phải bản sao lưu SQLite: {exc}") from exc
    if verdict != "ok" or not tables:
        raise BackupError(f"{source} không phải bản sao lưu SQLite dùng được ({verdict}).")


def _pg_tool(tool: str, url: URL, *args: str) -> None:
    exe = shutil.which(tool)
    if exe is None:
        raise BackupError(f"Không tìm thấy {tool}: hãy cài công cụ PostgreSQL (gói "
                          "postgresql-client) cùng phiên bản với máy chủ.")
    conninfo = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                          database=url.database, query=url.query)
    env = dict(os.environ, **({"PGPASSWORD": url.password} if url.password else {}))
    done = subprocess.run([exe, *args, f"--dbname={conninfo.render_as_string()}"],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise BackupError(f"{tool} thất bại: {done.stderr.strip()}")
