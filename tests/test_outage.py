"""The database goes away and comes back: a clear 503 page in Vietnamese, /healthz says so, and the
app recovers on its own (pool_pre_ping) — on a SQLite file and on a throwaway PostgreSQL cluster
that the test starts and stops with pg_ctl (never the machine's shared server).
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from app import create_app
from app.extensions import db as _db
from tests import factories

DOWN = "Hệ thống tạm thời gián đoạn"


def _app_on(url: str):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "SERVER_NAME": "localhost"})
    with app.app_context():
        _db.create_all()
        hub = factories.make_hub()
        factories.make_item(hub, title="Áo đồng phục")
        phone = factories.make_user().phone
    client = app.test_client()
    assert client.post("/tai-khoan/dang-nhap", data={"phone": phone, "password": factories.PASSWORD}
                       ).status_code == 303
    return app, client


def _assert_up(app, client):
    assert "Áo đồng phục" in client.get("/do-tang").get_data(as_text=True)
    page = client.get("/gio")  # the user is loaded while the page renders (the header)
    assert page.status_code == 200 and "Đăng xuất" in page.get_data(as_text=True)
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def _assert_down(app, client):
    anonymous = app.test_client()
    for page in (anonymous.get("/do-tang"), client.get("/do-tang"), client.get("/gio")):
        assert page.status_code == 503
        assert DOWN in page.get_data(as_text=True)
        assert page.mimetype == "text/html"
    as_json = anonymous.get("/do-tang", headers={"Accept": "application/json"})
    assert as_json.status_code == 503 and DOWN in as_json.get_json()["error"]
    health = anonymous.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "error", "database": "unavailable"}


def test_sqlite_file_out_of_reach_then_back(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    app, client = _app_on(f"sqlite:///{folder / 'app.db'}")
    _assert_up(app, client)

    with app.app_context():
        _db.engine.dispose()  # new connections must open the file: it is out of reach
    folder.rename(tmp_path / "away")
    _assert_down(app, client)

    (tmp_path / "away").rename(folder)
    _assert_up(app, client)
    with app.app_context():
        _db.engine.dispose()


def test_database_error_while_the_page_renders_is_a_503(app, client, login_as):
    """The unread-notifications count of the page's header (a context processor) fails."""
    login_as("student")

    def fail_on_notifications(_conn, _cursor, statement, *_args):
        if "notifications" in statement:
            raise OperationalError(statement, None, ConnectionError("server closed the connection"))

    assert client.get("/gio").status_code == 200
    event.listen(_db.engine, "before_cursor_execute", fail_on_notifications)
    try:
        page = client.get("/gio")
    finally:
        event.remove(_db.engine, "before_cursor_execute", fail_on_notifications)
    assert page.status_code == 503
    assert DOWN in page.get_data(as_text=True)
    assert client.get("/gio").status_code == 200


# ------------------------------------------------------------ a throwaway PostgreSQL cluster

def _pg_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else the newest /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("initdb"), shutil.which("pg_ctl")
    if all(on_path):
        return Path(on_path[0]).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name.split(".")[0]))
    return Path(versions[-1]).parent if versions else None


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb + pg_ctl in a temporary folder on a free port; as user postgres when we are root."""

    def __init__(self, bin_dir: Path):
        self.bin, self.port, self.as_user, owner = bin_dir, _free_port(), [], None
        if os.geteuid() == 0:  # pg_ctl refuses to run as root
            runuser = shutil.which("runuser")
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pass
            if not runuser or not owner:
                _missing("running as root without a 'postgres' user and runuser to start pg_ctl")
            self.as_user = [runuser, "-u", "postgres", "--"]
        self.dir = Path(tempfile.mkdtemp(prefix="gianhang-pg-"))
        if owner:
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True,
                       capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-locale", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -F"
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-o", options,
                  "-l", str(self.dir / "log"), "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "-t", "30", "stop")

    @property
    def running(self) -> bool:
        return (self.dir / "data" / "postmaster.pid").exists()


@pytest.fixture
def pg_cluster():
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        _missing("initdb/pg_ctl not found (PostgreSQL server binaries, Debian package postgresql)")
    cluster = Cluster(bin_dir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running:
            cluster.stop()
        shutil.rmtree(cluster.dir, ignore_errors=True)


def test_postgresql_stopped_then_started_again(pg_cluster):
    app, client = _app_on(pg_cluster.url)
    _assert_up(app, client)

    pg_cluster.stop()
    _assert_down(app, client)

    pg_cluster.start()  # the same app, not restarted: pool_pre_ping replaces the dead connections
    _assert_up(app, client)
    with app.app_context():
        _db.engine.dispose()
