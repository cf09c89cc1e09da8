"""Every limit holds exactly under gunicorn with 3 workers and no Redis (the default install).

gunicorn (gunicorn.conf.py, from the environment) serves the app on a database of the test's own
(a SQLite file, or a new PostgreSQL database when TEST_DATABASE_URL is set) with small limits set
through environment variables, and its rate-limit counters in a SQLite file (what the app uses
without REDIS_URL, here in the test's folder). For each limit N, N + EXTRA posts are sent at once
from several threads, so that the three workers answer them side by side: exactly N are served
and the others refused — 429 for the limiter's limits and the per-phone login lock, "card locked"
for wallet-card PINs. Requests come from distinct loopback addresses (127.0.0.x) where a limit is
per address. The access log names the worker of every answer: more than one answered.
"""
import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import User
from app.services import wallets
from tests import factories
from tests.test_backup import app_on, fresh_database
from tests.test_faults import _children, _free_port, _wait_for
from tests.test_wallets import booth_of, market_event

ROOT = Path(__file__).resolve().parent.parent
EXTRA = 3  # posts beyond each limit
THREADS = 6
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LIMITS = {  # per hour: no window ends while the test runs
    "LOGIN_RATE_LIMIT": 6, "LOGIN_PHONE_FAILURE_LIMIT": 4, "REGISTER_RATE_LIMIT": 5,
    "REGISTER_PHONE_RATE_LIMIT": 2, "REQUEST_RATE_LIMIT": 3, "BANK_WEBHOOK_RATE_LIMIT": 4,
}
SECRET = "test-secret"  # the seeding app's (TestConfig): the card tokens it signs stay valid


class Browser:
    """One browser session over real HTTP: its cookies and CSRF token are fixed once fetched (a
    session renewed by a login in one thread must not change what the other threads send), and
    each post may come from its own loopback address."""

    def __init__(self, port: int, address: str = "127.0.0.1"):
        self.port, self.address, self.cookies, self.token = port, address, {}, ""

    def send(self, method, path, form=None, address=None, headers=None, body=None, keep=True):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                          source_address=(address or self.address, 0))
        headers = dict(headers or {})
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode({"csrf_token": self.token, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body, headers)
            resp = conn.getresponse()
            text = resp.read().decode()
        finally:
            conn.close()
        if keep:
            for cookie in resp.headers.get_all("Set-Cookie") or []:
                name, _, value = cookie.split(";", 1)[0].partition("=")
                self.cookies[name] = value
        return resp.status, text

    def token_from(self, path: str) -> "Browser":
        status, text = self.send("GET", path)
        assert status == 200, (path, status, text[:300])
        self.token = CSRF.search(text).group(1)
        return self

    def log_in(self, phone: str, then: str) -> "Browser":
        self.token_from("/tai-khoan/dang-nhap")
        status, text = self.send("POST", "/tai-khoan/dang-nhap",
                                 {"phone": phone, "password": factories.PASSWORD})
        assert status == 303, (status, text[:500])
        return self.token_from(then)


def at_once(n: int, post) -> list[tuple[int, str]]:
    """post(i) for i in range(n), THREADS at a time: the answers in order of i."""
    start = threading.Barrier(min(n, THREADS))

    def run(i):
        if i < THREADS:
            start.wait(timeout=30)
        return post(i)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(n)))


def statuses(answers) -> Counter:
    return Counter(status for status, _ in answers)


class Gunicorn:
    def __init__(self, database_url: str, folder: Path):
        self.port, self.log, self.access = _free_port(), folder / "gunicorn.log", \
            folder / "access.log"
        self.counters = folder / "ratelimits.sqlite"
        env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=SECRET,
                   GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="3",
                   RATELIMIT_STORAGE_URI=f"sqlite:///{self.counters}",
                   GUNICORN_CMD_ARGS=f"--no-control-socket --access-logfile {self.access} "
                                     "--access-logformat '%(p)s %(m)s %(U)s %(s)s'",
                   **{name: f"{n} per hour" for name, n in LIMITS.items()})
        for name in ("APP_ENV", "REDIS_URL", "TEST_DATABASE_URL"):
            env.pop(name, None)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"],
                                         cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _wait_for(self._ready, 60, "gunicorn to answer /healthz")
        _wait_for(lambda: len(_children(self.proc.pid)) == 3, 30, "three workers")

    def _ready(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        try:
            return Browser(self.port).send("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def posts_per_worker(self) -> Counter:
        return Counter(line.split()[0] for line in self.access.read_text().splitlines()
                       if line.split()[1] == "POST")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _seed():
    hub = factories.make_hub()
    student, locked = factories.make_user(), factories.make_user()
    event = market_event(hub)
    booth = booth_of(event)
    desk = factories.make_user(roles=("volunteer",), hub=hub)
    card = wallets.join(event.id, wallets.Participant("Cô Ba", "", True, "2580"),
                        wallets.new_key(), desk.id)
    return {"hub": hub.id, "student": student.phone, "locked": locked.phone,
            "taken": factories.make_user().phone, "booth": booth.id,
            "vendor": booth.vendor.user.phone, "card": wallets.card_token(card, event)}


def test_each_limit_holds_exactly_across_three_workers_without_redis(tmp_path):
    with fresh_database("workers", tmp_path) as url:
        app = app_on(url)
        with app.app_context(), app.test_request_context():
            seed = _seed()
            users_before = _db.session.scalar(select(func.count()).select_from(User))
            _db.session.remove()
            _db.engine.dispose()
        server = Gunicorn(url, tmp_path)
        try:
            _limits_hold(server, seed)
            answered = server.posts_per_worker()
            counted = sqlite3.connect(server.counters).execute(
                "SELECT count(*) FROM counters").fetchone()[0]
        finally:
            server.stop()
        with app.app_context():
            created = _db.session.scalar(select(func.count()).select_from(User)) - users_before
            _db.engine.dispose()
    assert created == LIMITS["REGISTER_RATE_LIMIT"] + 1  # the address burst, and one by phone
    print(f"\nposts answered per worker: {sorted(answered.values(), reverse=True)}")
    assert len(answered) >= 2, answered  # the posts were shared between workers
    assert counted > 0  # the counters were in the file, not in a worker's memory


def _limits_hold(server: Gunicorn, seed: dict) -> None:
    port = server.port
    wrong = {"password": "sai-mat-khau"}

    # login per address: distinct phones without accounts, one address
    n = LIMITS["LOGIN_RATE_LIMIT"]
    browser = Browser(port, "127.0.0.2").token_from("/tai-khoan/dang-nhap")
    answers = at_once(n + EXTRA, lambda i: browser.send(
        "POST", "/tai-khoan/dang-nhap", {"phone": f"0987 000 {i:03d}", **wrong}, keep=False))
    assert statuses(answers) == {422: n, 429: EXTRA}, statuses(answers)

    # login per phone: one phone, a new address for every try; then even the right password
    n = LIMITS["LOGIN_PHONE_FAILURE_LIMIT"]
    browser = Browser(port, "127.0.0.3").token_from("/tai-khoan/dang-nhap")
    answers = at_once(n + EXTRA, lambda i: browser.send(
        "POST", "/tai-khoan/dang-nhap", {"phone": seed["locked"], **wrong},
        address=f"127.0.1.{i + 1}", keep=False))
    assert statuses(answers) == {422: n, 429: EXTRA}, statuses(answers)
    assert all("quá nhiều lần. Vui lòng thử lại sau" in text
               for status, text in answers if status == 429)
    status, text = browser.send("POST", "/tai-khoan/dang-nhap", {
        "phone": seed["locked"], "password": factories.PASSWORD}, address="127.0.1.99",
        keep=False)
    assert status == 429 and "đã nhập sai mật khẩu" in text

    # registration per address: new phones, one address
    n = LIMITS["REGISTER_RATE_LIMIT"]
    browser = Browser(port, "127.0.0.4").token_from("/tai-khoan/dang-ky")
    answers = at_once(n + EXTRA, lambda i: browser.send("POST", "/tai-khoan/dang-ky", {
        "name": f"Học sinh {i}", "phone": f"0966 100 {i:03d}", "password": "bi-mat-999",
        "confirm": "bi-mat-999"}, keep=False))
    assert statuses(answers) == {303: n, 429: EXTRA}, statuses(answers)

    # registration per phone, from many addresses: one account, then "already has an account"
    # (the phone-existence answer counts too), then 429
    n = LIMITS["REGISTER_PHONE_RATE_LIMIT"]
    browser = Browser(port, "127.0.0.5").token_from("/tai-khoan/dang-ky")
    answers = at_once(n + EXTRA, lambda i: browser.send("POST", "/tai-khoan/dang-ky", {
        "name": f"Lê Văn {i}", "phone": "0977 000 111", "password": "bi-mat-999",
        "confirm": "bi-mat-999"}, address=f"127.0.2.{i + 1}", keep=False))
    assert statuses(answers) == {303: 1, 422: n - 1, 429: EXTRA}, statuses(answers)
    answers = at_once(n + EXTRA, lambda i: browser.send("POST", "/tai-khoan/dang-ky", {
        "name": "Ai đó", "phone": seed["taken"], "password": "bi-mat-999",
        "confirm": "bi-mat-999"}, address=f"127.0.3.{i + 1}", keep=False))
    assert statuses(answers) == {422: n, 429: EXTRA}, statuses(answers)
    assert all("đã có tài khoản" in text for status, text in answers if status == 422)

    # request creation per student: an empty basket is refused, and counts
    n = LIMITS["REQUEST_RATE_LIMIT"]
    browser = Browser(port, "127.0.0.6").log_in(seed["student"], "/gio")
    answers = at_once(n + EXTRA, lambda i: browser.send(
        "POST", f"/gio/gui/{seed['hub']}", {"recipient_name": "Nguyễn Văn An",
                                           "phone": "0987654321", "method": "pickup",
                                           "consent": "y"}, keep=False))
    assert statuses(answers) == {422: n, 429: EXTRA}, statuses(answers)

    # the bank webhook per address (signature wrong: 401, still counted)
    n = LIMITS["BANK_WEBHOOK_RATE_LIMIT"]
    browser = Browser(port, "127.0.0.7")
    answers = at_once(n + EXTRA, lambda i: browser.send(
        "POST", "/webhooks/bank", body=b'{"id": "x"}', keep=False,
        headers={"Content-Type": "application/json", "X-Signature": "00"}))
    assert statuses(answers) == {401: n, 429: EXTRA}, statuses(answers)

    # wallet-card PINs at the booth: exactly MAX_PIN_ATTEMPTS are checked, then the card is
    # locked, even for the right PIN
    n = wallets.MAX_PIN_ATTEMPTS
    pay = f"/phien-cho/gian-hang/{seed['booth']}/the"
    browser = Browser(port, "127.0.0.8").log_in(seed["vendor"], f"{pay}?the={seed['card']}")

    def pin_try(pin):
        return browser.send("POST", pay, {"card": seed["card"], "key": wallets.new_key(),
                                          "amount": "1000", "pin": pin}, keep=False)

    answers = at_once(n + EXTRA, lambda i: pin_try("0000"))
    assert statuses(answers) == {422: n + EXTRA}
    wrong_pin = sum("Mã PIN không đúng" in text for _, text in answers)
    locked = sum("bị khóa" in text for _, text in answers)
    assert (wrong_pin, locked) == (n - 1, EXTRA + 1)  # the n-th wrong one locks it
    status, text = pin_try("2580")
    assert status == 422 and "bị khóa" in text
