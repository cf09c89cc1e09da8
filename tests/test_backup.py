"""`flask backup` / `flask restore`: the copy comes back row for row, and a copy taken while
students keep submitting is one consistent moment (stock adds up, every request in it is in the
live database as it was). On a SQLite file, or on PostgreSQL (pg_dump/pg_restore) when
TEST_DATABASE_URL is set, each test on databases of its own.

The helpers at the top (fresh_database, stock_problems, integrity_problems) serve test_faults too.
"""
import hashlib
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db as _db
from app.models import Item, ItemRequest, RequestLine
from app.models.request import RELEASED_STATUSES
from app.services import backup
from app.services.requests import Delivery, RequestError, cancel_request, submit_request
from tests import factories

KEY_TABLES = ("users", "hubs", "items", "item_requests", "request_lines", "request_events",
              "notifications")
PICKUP = Delivery("pickup", "Lê Văn Cường", "0987654321", consent=True)


@contextmanager
def fresh_database(name: str, tmp_path: Path):
    """The URL of an empty database of the test's own: a SQLite file in `tmp_path`, or, with
    TEST_DATABASE_URL, a new database `<that database>_<name>` on its server, dropped after."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / name}.db"
        return
    url = make_url(base)
    url = url.set(database=f"{url.database}_{name}")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    drop = f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(drop)
            conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(drop)
        admin.dispose()


def app_on(url: str, create: bool = True):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "SERVER_NAME": "localhost"})
    if create:
        with app.app_context():
            _db.create_all()
    return app


def stock_problems() -> list[str]:
    """For each item: available >= 0 and available + units held by open request lines == quantity;
    no student holds two open units of one item."""
    held = (select(RequestLine.item_id, func.sum(RequestLine.quantity).label("held"))
            .join(ItemRequest).where(ItemRequest.status.not_in(RELEASED_STATUSES))
            .group_by(RequestLine.item_id).subquery())
    rows = _db.session.execute(
        select(Item.id, Item.quantity, Item.available, func.coalesce(held.c.held, 0))
        .outerjoin(held, held.c.item_id == Item.id))
    problems = [f"item {i}: available {a} + held {h} != quantity {q}"
                for i, q, a, h in rows if a < 0 or a + h != q]
    doubles = _db.session.execute(
        select(ItemRequest.user_id, RequestLine.item_id).join(ItemRequest)
        .where(ItemRequest.status.not_in(RELEASED_STATUSES))
        .group_by(ItemRequest.user_id, RequestLine.item_id).having(func.count() > 1))
    return problems + [f"user {u} holds item {i} twice" for u, i in doubles]


def integrity_problems() -> list[str]:
    """SQLite: PRAGMA integrity_check. PostgreSQL: amcheck on every table and btree index."""
    if _db.engine.dialect.name == "sqlite":
        found = list(_db.session.scalars(text("PRAGMA integrity_check")))
        return [] if found == ["ok"] else found
    _db.session.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
    heap = _db.session.execute(text(
        "SELECT c.relname, v.msg FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "CROSS JOIN LATERAL verify_heapam(c.oid) v WHERE n.nspname = 'public' AND c.relkind = 'r'"))
    problems = [f"{table}: {msg}" for table, msg in heap]
    _db.session.execute(text(  # raises on a corrupt index
        "SELECT bt_index_check(c.oid, true) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam "
        "WHERE n.nspname = 'public' AND a.amname = 'btree'"))
    _db.session.commit()
    return problems


def fingerprint() -> dict[str, tuple[int, str]]:
    """Row count and a checksum of the rows, in primary-key order, of the key tables."""
    result = {}
    for name in KEY_TABLES:
        table = _db.metadata.tables[name]
        rows = _db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        result[name] = (len(rows), hashlib.sha256(repr([tuple(r) for r in rows]).encode()
                                                  ).hexdigest())
    _db.session.rollback()
    return result


def _seed(students=6, items=5, quantity=3) -> tuple[int, list[int], list[int]]:
    hub = factories.make_hub(weekly_limit=50)
    item_ids = [factories.make_item(hub, title=f"Vở {n}", quantity=quantity).id
                for n in range(items)]
    return hub.id, item_ids, [factories.make_user().id for _ in range(students)]


def test_restore_brings_back_the_backup_row_for_row(tmp_path):
    out = tmp_path / "gianhang.backup"
    with fresh_database("backup", tmp_path) as url:
        app = app_on(url)
        cli = app.test_cli_runner()
        with app.app_context():
            hub, items, students = _seed()
            first = submit_request(students[0], hub, items[:2], PICKUP).id
            submit_request(students[1], hub, items[1:3], PICKUP)
            saved = fingerprint()

            done = cli.invoke(args=["backup", str(out)])
            assert done.exit_code == 0, done.output
            assert "Đã sao lưu" in done.output and out.stat().st_size > 0

            cancel_request(students[0], first)
            submit_request(students[2], hub, items[3:], PICKUP)
            changed = fingerprint()
            assert changed != saved

            refused = cli.invoke(args=["restore", str(out)])
            assert refused.exit_code != 0 and "--yes" in refused.output
            assert fingerprint() == changed

            done = cli.invoke(args=["restore", "--yes", str(out)])
            assert done.exit_code == 0, done.output
            assert fingerprint() == saved
            assert stock_problems() == [] and integrity_problems() == []
            # The restored database takes new requests (PostgreSQL: its sequences came back too).
            assert submit_request(students[3], hub, items[:1], PICKUP).id > first
            _db.session.remove()
            _db.engine.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all" * 100)
    with fresh_database("junk", tmp_path) as url:
        app = app_on(url)
        with app.app_context():
            factories.make_hub()
            before = fingerprint()
            done = app.test_cli_runner().invoke(args=["restore", "--yes", str(junk)])
            assert done.exit_code != 0 and "Error:" in done.output
            assert fingerprint() == before
            _db.engine.dispose()


def test_a_missing_pg_dump_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump, no pg_restore
    for act in (backup.backup, backup.restore):
        with pytest.raises(backup.BackupError, match="Không tìm thấy pg_(dump|restore)"):
            act("postgresql+psycopg://postgres@127.0.0.1/gianhang", Path(__file__))


WRITERS = 4


def test_backup_taken_while_students_submit_is_one_consistent_moment(tmp_path):
    out = tmp_path / "live.backup"
    with fresh_database("live", tmp_path) as url, fresh_database("live_copy", tmp_path) as copy:
        app = app_on(url)
        with app.app_context():
            hub, items, students = _seed(students=16, items=12, quantity=10)
        committed, refused, stop = [], [], threading.Event()
        lock = threading.Condition()

        def write(offset: int):
            with app.app_context():
                for n, student in enumerate(students[offset::WRITERS]):
                    for k in range(6):
                        if stop.is_set():
                            return
                        item = items[(offset + n * 5 + k * 7) % len(items)]
                        try:
                            req_id = submit_request(student, hub, [item], PICKUP).id
                        except RequestError:
                            refused.append(item)
                            continue
                        finally:
                            _db.session.remove()
                        with lock:
                            committed.append(req_id)
                            lock.notify_all()

        threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
        for t in threads:
            t.start()
        with lock:
            assert lock.wait_for(lambda: len(committed) >= 30, timeout=30)
            before = len(committed)
        done = app.test_cli_runner().invoke(args=["backup", str(out)])
        after_backup = len(committed)
        with lock:  # the writers go on after the backup
            lock.wait_for(lambda: len(committed) >= after_backup + 20, timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert done.exit_code == 0, done.output
        assert len(committed) > after_backup, "no write after the backup: the test proves nothing"

        restored = app_on(copy, create=False)
        with restored.app_context():
            done = restored.test_cli_runner().invoke(args=["restore", "--yes", str(out)])
            assert done.exit_code == 0, done.output
            assert stock_problems() == [] and integrity_problems() == []
            copied = _rows("item_requests", "request_lines")
            _db.engine.dispose()
        with app.app_context():
            live = _rows("item_requests", "request_lines")
            _db.engine.dispose()

        requests = copied["item_requests"]
        assert before <= len(requests) < len(committed), (before, len(requests), len(committed))
        for table, rows in copied.items():  # requests never change here: the copy is a prefix
            assert rows.items() <= live[table].items(), table
        print(f"\nbackup under load: {before} requests before, {len(requests)} in the copy, "
              f"{after_backup} once it ended, {len(committed)} in all, {len(refused)} refused")


def _rows(*tables: str) -> dict[str, dict]:
    result = {}
    for name in tables:
        table = _db.metadata.tables[name]
        result[name] = {tuple(getattr(r, c.name) for c in table.primary_key.columns): tuple(r)
                        for r in _db.session.execute(select(table))}
    _db.session.rollback()
    return result
