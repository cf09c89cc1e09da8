"""Fixtures: one app per test session on a real database file (SQLite) or PostgreSQL.

TEST_DATABASE_URL=postgresql+psycopg://... runs the whole suite on PostgreSQL.
Tables are created once and emptied after every test.
"""
import os

import pytest
from sqlalchemy import event, text

from app import create_app
from app.extensions import db as _db
from app.models import search
from tests import factories
from tests.html import unique_ids


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("TEST_DATABASE_URL") or \
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "localhost",
    })
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.drop_all()
        _db.engine.dispose()


def _empty_tables():
    _db.session.rollback()
    tables = list(reversed(_db.metadata.sorted_tables))
    if _db.engine.dialect.name == "postgresql":
        names = ", ".join([t.name for t in tables] + list(search.EXTRA_TABLES["postgresql"]))
        _db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for t in tables:
            _db.session.execute(t.delete())
    _db.session.commit()


@pytest.fixture
def db(app):
    app.extensions.pop("pagecache", None)  # the catalog's micro-cache: pages of earlier tests' data
    with app.app_context():
        yield _db
        _empty_tables()
        _db.session.remove()


@pytest.fixture
def statements(app):
    """A list that receives every SQL statement run while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def client(app, db):
    """The test client; every HTML page it is served must have unique element ids."""
    with unique_ids(app):
        yield app.test_client()


@pytest.fixture
def login_as(client, db):
    """login_as("volunteer", hub=h) → a logged-in user with that role (the client holds the
    session)."""
    def _login(*roles, hub=None, user=None):
        user = user or factories.make_user(roles=roles or ("student",), hub=hub)
        resp = client.post("/tai-khoan/dang-nhap",
                           data={"phone": user.phone, "password": factories.PASSWORD})
        assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
        return user
    return _login


@pytest.fixture
def csrf_app(app):
    """The same app with CSRF protection on, for tests that prove it."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield app
    app.config["WTF_CSRF_ENABLED"] = False
