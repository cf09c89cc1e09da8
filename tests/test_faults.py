"""A gunicorn worker killed with -9 in the middle of a load of request submissions.

gunicorn (configured by gunicorn.conf.py from the environment: 2 sync workers on a free loopback
port) serves the app on a database of the test's own (a SQLite file, or a new PostgreSQL database
when TEST_DATABASE_URL is set). 8 threads of logged-in students submit 200 requests over real HTTP
with CSRF tokens; once a third of them are answered, one worker is killed. Every submission ends
"recorded" (303 to its tracking page: id and code), "refused" (422: out of stock, weekly limit,
already asked) or "connection error" (killed mid-flight: either outcome is fine). Then: every
recorded request is in the database, stock adds up, no unit is held twice, the database is intact.
Bounded: fixed counts, a deadline, timeouts on every wait.
"""
import http.client
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import ItemRequest, RequestEvent, RequestLine
from tests import factories
from tests.test_backup import app_on, fresh_database, integrity_problems, stock_problems

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS, THREADS, STUDENTS_PER_THREAD = 200, 8, 3
ITEMS, UNITS_PER_ITEM, WEEKLY_LIMIT = 20, 5, 6
DEADLINE_S = 45
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = re.compile(r'<h1 class="code code-big">([0-9A-Z]{2}-[0-9A-Z]{4})</h1>')
ALERT = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.DOTALL)
REFUSALS = {"vừa hết": "out of stock", "đã yêu cầu món này": "already asked",
            "tối đa": "weekly limit", "trống": "empty basket"}


class ConnectionLost(Exception):
    """The connection broke before a whole answer came back (the worker died)."""


class Browser:
    """One student's browser over real HTTP: cookies kept, redirects not followed."""

    def __init__(self, port: int):
        self.port, self.cookies, self.token = port, {}, ""

    def send(self, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({"csrf_token": self.token, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body, headers)
            resp = conn.getresponse()
            text = resp.read().decode()
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectionLost(f"{method} {path}: {exc!r}") from exc
        finally:
            conn.close()
        for cookie in resp.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if "1970" in cookie or "Max-Age=0" in cookie:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return resp.status, resp.headers, text

    def fetch_token(self, path: str) -> None:
        status, _, text = self.send("GET", path)
        assert status == 200, (path, status)
        self.token = CSRF.search(text).group(1)

    def log_in(self, phone: str) -> None:
        for attempt in range(3):  # a worker may die under a login too: logging in again is harmless
            try:
                self.fetch_token("/tai-khoan/dang-nhap")
                status, _, _ = self.send("POST", "/tai-khoan/dang-nhap",
                                         {"phone": phone, "password": factories.PASSWORD})
                assert status == 303, status
                self.fetch_token("/gio")  # the session was renewed at login: a new CSRF token
                return
            except ConnectionLost:
                if attempt == 2:
                    raise


@dataclass
class Outcome:
    kind: str  # "recorded", "refused", "connection error", "unexpected"
    student: int
    request_id: int | None = None
    code: str | None = None
    detail: str = ""
    after_kill: bool = False


def submit(browser: Browser, student: int, hub_id: int, item_id: int) -> Outcome:
    """Put the item in the basket and send the checkout form, as a browser without JS does."""
    try:
        status, _, _ = browser.send("POST", f"/gio/them/{item_id}", {})
        if status != 303:
            return Outcome("unexpected", student, detail=f"basket {status}")
        status, headers, text = browser.send("POST", f"/gio/gui/{hub_id}", {
            "recipient_name": "Nguyễn Văn An", "phone": "0987654321", "method": "pickup",
            "consent": "y", "idempotency_key": uuid.uuid4().hex})
    except ConnectionLost as exc:
        _empty_basket(browser, item_id)
        return Outcome("connection error", student, detail=str(exc))
    if status == 303 and (found := re.fullmatch(r"/yeu-cau/(\d+)", headers["Location"])):
        outcome = Outcome("recorded", student, int(found.group(1)))
        try:  # the tracking page shows the code; a lost page leaves the id only
            page = browser.send("GET", headers["Location"])[2]
            outcome.code = CODE.search(page).group(1)
        except ConnectionLost:
            pass
        return outcome
    _empty_basket(browser, item_id)
    if status in (422, 429):
        alerts = " ".join(ALERT.findall(text))
        reason = next((r for words, r in REFUSALS.items() if words in alerts),
                      f"{status}: {alerts}")
        return Outcome("refused", student, detail=reason)
    return Outcome("unexpected", student, detail=f"checkout {status}: {text[:300]}")


def _empty_basket(browser: Browser, item_id: int) -> None:
    try:
        browser.send("POST", f"/gio/bo/{item_id}", {})
    except ConnectionLost:
        pass  # the next refusal empties it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after_name = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(after_name[1]) == pid:
            kids.add(int(stat.parent.name))
    return kids


def _answering(pid: int, port: int) -> bool:
    """The worker holds an accepted client connection on `port`: it is in the middle of a
    request."""
    clients = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].split(":")[1], 16) == port:  # ESTABLISHED
            clients.add(f"socket:[{fields[9]}]")
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") in clients
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def _wait_for(condition, timeout: float, what: str, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if found := condition():
            return found
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


class Gunicorn:
    """`python -m gunicorn wsgi:app` from the repository root: gunicorn.conf.py reads the env."""

    def __init__(self, database_url: str, log: Path):
        self.port, self.log = _free_port(), log
        env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="faults-test-secret",
                   GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="2",
                   REQUEST_RATE_LIMIT="100000 per minute", LOGIN_RATE_LIMIT="100000 per minute")
        env.pop("APP_ENV", None)
        env.pop("REDIS_URL", None)  # in-memory rate limits: the test depends on nothing else
        # Several servers may run on one machine: not one control socket in $HOME for all.
        env["GUNICORN_CMD_ARGS"] = "--no-control-socket"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT,
                                         env=env, stdout=out, stderr=subprocess.STDOUT)
        _wait_for(self._ready, 30, "gunicorn to answer /healthz")
        self.workers = _wait_for(lambda: len(kids := _children(self.proc.pid)) == 2 and kids, 10,
                                 "two workers")

    def _ready(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        try:
            return Browser(self.port).send("GET", "/healthz")[0] == 200
        except ConnectionLost:
            return False

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _seed(rng: random.Random):
    hub = factories.make_hub(weekly_limit=WEEKLY_LIMIT)
    items = [factories.make_item(hub, title=f"Áo khoác {n}", quantity=UNITS_PER_ITEM).id
             for n in range(ITEMS)]
    students = [(user.id, user.phone) for user in
                (factories.make_user() for _ in range(THREADS * STUDENTS_PER_THREAD))]
    per_student = SUBMISSIONS // len(students)
    extra = SUBMISSIONS - per_student * len(students)
    plans = {sid: rng.choices(items, k=per_student + (i < extra))
             for i, (sid, _) in enumerate(students)}
    return hub.id, students, plans


def test_worker_killed_mid_load_loses_nothing_recorded(tmp_path):
    with fresh_database("faults", tmp_path) as url:
        app = app_on(url)
        with app.app_context():
            hub_id, students, plans = _seed(random.Random(6))
            _db.engine.dispose()
        server = Gunicorn(url, tmp_path / "gunicorn.log")
        try:
            outcomes, killed, elapsed = _load(server, hub_id, students, plans)
            replaced = _wait_for(lambda: len(kids := _children(server.proc.pid)) == 2 and kids,
                                 20, "the master to replace the killed worker")
        finally:
            server.stop()
        with app.app_context():
            _check_database(outcomes)
            _db.engine.dispose()

    kinds = Counter(o.kind for o in outcomes)
    refusals = Counter(o.detail for o in outcomes if o.kind == "refused")
    print(f"\n{len(outcomes)} submissions in {elapsed:.1f} s on {_db_kind(url)}: "
          f"{kinds['recorded']} recorded "
          f"({sum(o.after_kill for o in outcomes if o.kind == 'recorded')} after the kill), "
          f"{kinds['refused']} refused {dict(refusals)}, "
          f"{kinds['connection error']} connection errors; worker {killed[0]} killed "
          f"{'in the middle of a request' if killed[1] else 'while idle'}")
    assert len(outcomes) == SUBMISSIONS
    assert kinds["unexpected"] == 0, [o for o in outcomes if o.kind == "unexpected"][:5]
    assert killed[0] not in replaced and len(replaced) == 2
    assert any(o.after_kill and o.kind == "recorded" for o in outcomes), "no service after the kill"
    assert kinds["recorded"] > 0 and kinds["refused"] > 0


def _db_kind(url: str) -> str:
    return url.split(":", 1)[0]


def _load(server: Gunicorn, hub_id: int, students, plans):
    outcomes: list[Outcome] = []
    answered = threading.Condition()
    killed: list[tuple[int, bool]] = []  # (pid, in the middle of a request)
    deadline = time.monotonic() + DEADLINE_S

    def student_thread(mine):
        for student_id, phone in mine:
            browser = Browser(server.port)
            browser.log_in(phone)
            for item_id in plans[student_id]:
                if time.monotonic() > deadline:
                    return
                outcome = submit(browser, student_id, hub_id, item_id)
                with answered:
                    outcome.after_kill = bool(killed)
                    outcomes.append(outcome)
                    answered.notify_all()

    def killer():
        with answered:
            if not answered.wait_for(lambda: len(outcomes) >= SUBMISSIONS // 3, timeout=DEADLINE_S):
                return

        def busy():
            return next((pid for pid in server.workers if _answering(pid, server.port)), None)

        try:  # a worker in the middle of a request (else, after 5 s, any)
            victim, mid_request = _wait_for(busy, 5, "a busy worker", step=0.001), True
        except AssertionError:
            victim, mid_request = min(server.workers), False
        os.kill(victim, signal.SIGKILL)
        with answered:
            killed.append((victim, mid_request))

    groups = [students[i::THREADS] for i in range(THREADS)]
    threads = [threading.Thread(target=student_thread, args=(g,)) for g in groups]
    threads.append(threading.Thread(target=killer))
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DEADLINE_S + 30)
    assert not any(t.is_alive() for t in threads), "a client thread is stuck"
    assert killed, "the worker was never killed"
    return outcomes, killed[0], time.monotonic() - started


def _check_database(outcomes: list[Outcome]) -> None:
    recorded = [o for o in outcomes if o.kind == "recorded"]
    found = {r.id: r for r in _db.session.scalars(
        select(ItemRequest).where(ItemRequest.id.in_([o.request_id for o in recorded])))}
    for o in recorded:
        req = found.get(o.request_id)
        assert req is not None, f"recorded request {o.request_id} ({o.code}) is not in the database"
        assert req.user_id == o.student and (o.code is None or req.code == o.code), o
    # Nothing half-written: every request has its lines and its first event.
    total = _db.session.scalar(select(func.count()).select_from(ItemRequest))
    whole = _db.session.scalar(select(func.count()).select_from(ItemRequest).where(
        ItemRequest.id.in_(select(RequestLine.request_id)),
        ItemRequest.id.in_(select(RequestEvent.request_id)
                           .where(RequestEvent.status == "submitted"))))
    assert whole == total
    # Requests nobody heard about can only come from submissions whose connection broke.
    lost = sum(o.kind == "connection error" for o in outcomes)
    assert len(recorded) <= total <= len(recorded) + lost, (len(recorded), total, lost)
    assert stock_problems() == []
    assert integrity_problems() == []
