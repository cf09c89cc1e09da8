"""Load benchmark: the hot pages and request submission, measured against the trivial route.

    .venv/bin/python benchmarks/load.py          # SQLite and PostgreSQL, 10 s per endpoint
    .venv/bin/python benchmarks/load.py --engines sqlite --duration 5 --scale 0.1  # a quick look
    .venv/bin/python benchmarks/load.py --engines sqlite --in-process 300   # CPU, SQL per page
    PYTHONPATH=<pyinstrument> .venv/bin/python benchmarks/load.py --engines sqlite \
        --in-process 300 --profile user_page                         # where a page's time goes

For each engine it builds a scale dataset in its own database (a SQLite file in a temporary folder;
the PostgreSQL database `bench`, which it empties: create it once with
`psql -h 127.0.0.1 -U postgres -d test -c 'create database bench'`, or name another with --pg-url
and --empty-ok), serves the app with gunicorn on 127.0.0.1 and a free port, and drives it with
`wrk` (Debian: `apt-get install -y wrk`) from a second process, each endpoint for a fixed time:

- the trivial route GET /ping (the limit: the same server and stack doing no work);
- the bare catalog /do-tang as an anonymous visitor, which the micro-cache answers (labelled so);
- what people do in the catalog (issue #12): 3,000 distinct URLs made from the dataset's words
  (one to three words of a title or description, with or without diacritics, some cut short as
  while typing; category, size, hub and "in stock" filters now and then, filters alone a fifth
  of the time, a hub's page a tenth, pages 1–4), each asked four ways — full page and htmx
  fragment, anonymous and signed in (a signed-in page is never cached; 500 students take turns).
  The warm-up asks for 3,000 other such URLs, so that no measured anonymous page is in the
  micro-cache when its measurement starts;
- item pages, the tracking page (each logged in as its owner) and request submission (POST with
  CSRF on: each student once, with a basket of their own).

It prints requests/s, p50/p95/p99 latency and the ratio to /ping, checks the status codes and
the issue's targets, then checks the stock: no item below zero, reserved units + available ==
quantity.

Logged-in sessions. Checking a password costs 90 ms of scrypt, so a pool of thousands of real logins
would spend minutes of the two cores before measuring anything. The pool's session cookies are made
here by the app's own code (an open UserSession row holding the token's hash, as
services/sessions.start makes it, inserted in bulk; Flask-Login's login_user with the id
"<user>:<token>", Flask-WTF's generate_csrf, Flask's signed session serializer, with the server's
SECRET_KEY, the client's address and User-Agent): the bytes a real login followed by "add to
basket" would have set. Before measuring, a preflight does the real thing over HTTP (login form,
basket, checkout with its CSRF token), checks that a POST without a token is refused, and that a
pooled cookie is accepted.

Rate limits: the submission limit is per user and every pooled student submits once, so the defaults
hold and are not raised. Everything runs on the loopback; every load loop stops after its fixed
time.
"""
import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import timedelta
from http import cookies
from http.client import HTTPConnection
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from flask import session
from flask_login import login_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, insert, select, text
from werkzeug.security import generate_password_hash

from app import create_app
from app.extensions import db
from app.models import (
    Hub,
    HubWard,
    Item,
    ItemPhoto,
    ItemRequest,
    Notification,
    RequestEvent,
    RequestLine,
    User,
    UserRole,
    UserSession,
)
from app.models.base import utcnow
from app.models.request import RELEASED_STATUSES
from app.seed import ITEMS
from app.services import catalog, geo
from app.services.requests import CODE_ALPHABET
from app.services.text import fold

SECRET_KEY = "benchmark-only-secret"
PASSWORD = "benchmark-password"
USER_AGENT = "gianhang-load/1"
LUA = BASE_DIR / "benchmarks" / "wrk" / "pool.lua"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Gia", "Bảo", "Hữu", "Kim"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hương", "Khoa", "Lan", "Long", "Mai",
         "Nam", "Nhi", "Phúc", "Quân", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"]
COLOURS = ["", "", " màu xanh", " màu trắng", " màu đen", " màu hồng", " loại 1", " loại 2"]
SEARCHES = 3000  # distinct search URLs per search pool (and as many again to warm up with)
SIGNED_IN = 500  # students whose sessions the signed-in search pools take turns with


@dataclass
class Scale:
    hubs: int = 50
    items: int = 50_000
    students: int = 20_000
    open_requests: int = 5_000
    given_out: int = 4_000  # delivered requests of quantity-1 items: "Đã hết" in the catalog

    def times(self, f: float) -> "Scale":
        return Scale(max(int(self.hubs * f), 4), *(max(int(v * f), 50) for v in (
            self.items, self.students, self.open_requests, self.given_out)))


@dataclass
class Dataset:
    hubs: list[dict] = field(default_factory=list)
    items_by_hub: dict[int, list[int]] = field(default_factory=dict)  # in stock, not hot
    hot_by_hub: dict[int, list[int]] = field(default_factory=dict)  # quantity 1–2
    open_requests: list[tuple[int, int]] = field(default_factory=list)  # (request id, owner id)
    free_students: list[int] = field(default_factory=list)  # no request yet


# ---------------------------------------------------------------- dataset

def build_dataset(app, scale: Scale, rng: random.Random) -> Dataset:
    """Empty the database and fill it with fast core inserts (explicit ids, one transaction)."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        data, rows = Dataset(), _rows(scale, rng)
        data.hubs = rows["hubs"]
        with db.engine.begin() as conn:
            for model in (Hub, HubWard, User, UserRole, Item, ItemPhoto, ItemRequest,
                          RequestLine, RequestEvent, Notification):
                table = model.__table__
                batch = rows[table.name]
                for i in range(0, len(batch), 5000):
                    conn.execute(insert(table), batch[i:i + 5000])
                if conn.dialect.name == "postgresql":  # ids were given: move the sequences on
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                                      f" (SELECT max(id) FROM {table.name}))"))
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        for item in rows["items"]:
            if item["is_listed"] and item["available"] > 0:
                target = data.hot_by_hub if item["id"] in rows["hot"] else data.items_by_hub
                target.setdefault(item["hub_id"], []).append(item["id"])
        data.open_requests = rows["open"]
        owners = {r["user_id"] for r in rows["item_requests"]}
        data.free_students = [u["id"] for u in rows["users"] if u["id"] not in owners]
        rng.shuffle(data.free_students)
        db.engine.dispose()
    return data


def _rows(scale: Scale, rng: random.Random) -> dict:
    now = utcnow()
    out: dict = {name: [] for name in ("hubs", "hub_wards", "users", "user_roles", "items",
                                       "item_photos", "item_requests", "request_lines",
                                       "request_events", "notifications")}
    places = [(p, geo.wards_of(p)) for p, _ in geo.provinces()]
    for h in range(1, scale.hubs + 1):
        province, wards = places[h % len(places)]
        k = (h // len(places)) * 4 % max(len(wards) - 4, 1)
        ward_code, ward = wards[k]
        out["hubs"].append(dict(
            id=h, name=f"Đoàn {ward} – điểm phát {h}", slug=f"diem-phat-{h}",
            province_code=province, ward_code=ward_code, pickup_place=f"Nhà văn hóa {ward}",
            pickup_hours="Thứ Bảy 7:30–10:30", weekly_limit=3, delivery_weekday=5,
            cutoff_weekday=3, cutoff_minutes=1200, stops_per_route=12, retention_days=30,
            description="", created_at=now - timedelta(days=200)))
        out["hub_wards"] += [dict(id=(h - 1) * 3 + j + 1, hub_id=h, ward_code=wards[k + j][0])
                             for j in range(3)]
    hashed = generate_password_hash(PASSWORD)  # once, shared by every benchmark student
    for u in range(1, scale.students + 1):
        out["users"].append(dict(
            id=u, name=f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
            phone=f"+8490{u:07d}", password_hash=hashed, locale=None,
            created_at=now - timedelta(days=rng.randint(1, 300))))
        out["user_roles"].append(dict(id=u, user_id=u, role="student", hub_id=None))

    hot, remaining = set(), {}
    for i in range(1, scale.items + 1):
        hub_id = (i - 1) % scale.hubs + 1
        category, title, sizes, condition, quantity, description = rng.choice(ITEMS)
        size = rng.choice(sizes)
        title += rng.choice(COLOURS)
        if i <= scale.hubs * 5:  # five hot items per hub, few units: the race for the last one
            hot.add(i)
            quantity = rng.randint(1, 2)
        else:
            quantity = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, quantity])
        listed = rng.random() > 0.02
        remaining[i] = quantity if listed else 0
        out["items"].append(dict(
            id=i, hub_id=hub_id, title=title, description=description, category=category,
            size=size, condition=condition, quantity=quantity, available=quantity,
            **catalog.search_fields(title, category, size, description),
            is_listed=listed, donation_line_id=None,
            created_at=now - timedelta(minutes=rng.randint(10, 90 * 24 * 60))))
        if rng.random() < 0.85:
            out["item_photos"].append(dict(id=len(out["item_photos"]) + 1, item_id=i,
                                           stem=f"bench{i:07d}", width=1200, height=900,
                                           position=0))
    out["hot"] = hot
    stocked = {}
    for item in out["items"]:
        if item["id"] not in hot and remaining[item["id"]] > 0:
            stocked.setdefault(item["hub_id"], []).append(item["id"])

    owners = rng.sample(range(1, scale.students + 1), min(scale.students // 2,
                                                          scale.open_requests + scale.given_out))
    out["open"] = []
    for r in range(1, scale.open_requests + scale.given_out + 1):
        given = r > scale.open_requests
        hub = out["hubs"][rng.randrange(scale.hubs)]
        pool = [i for i in rng.sample(stocked[hub["id"]], 6) if remaining[i] > 0]
        ids = pool[:1] if given else pool[:rng.randint(1, 3)]
        if not ids:
            continue
        for i in ids:
            remaining[i] -= 1
        user_id = owners[r % len(owners)]
        created = now - timedelta(days=rng.randint(8, 60) if given else 0,
                                  hours=rng.randint(1, 72))
        status = "delivered" if given else rng.choice(["submitted", "submitted", "approved"])
        method = rng.choice(["pickup", "volunteer", "post"])
        address = {} if method == "pickup" else dict(
            province_code=hub["province_code"], ward_code=hub["ward_code"], street="Số 12, ấp 3")
        out["item_requests"].append(dict(
            id=r, code=_code(r), user_id=user_id, hub_id=hub["id"], status=status, method=method,
            recipient_name="Học sinh", phone=f"+8490{user_id:07d}", consent_at=created,
            idempotency_key=None, handover_code=f"{r % 10000:04d}", created_at=created,
            updated_at=created, reject_reason=None, province_code=address.get("province_code"),
            ward_code=address.get("ward_code"), street=address.get("street")))
        lines, events = out["request_lines"], out["request_events"]
        lines += [dict(id=len(lines) + k + 1, request_id=r, item_id=i, quantity=1)
                  for k, i in enumerate(ids)]
        steps = ["submitted"] + (["approved", "packed", "delivered"] if given else
                                 ["approved"] if status == "approved" else [])
        events += [dict(id=len(events) + k + 1, request_id=r, status=s, note="", actor_id=None,
                        created_at=created + timedelta(hours=k)) for k, s in enumerate(steps)]
        out["notifications"].append(dict(
            id=len(out["notifications"]) + 1, user_id=user_id, link=f"/yeu-cau/{r}",
            message=f"Đã nhận yêu cầu {_code(r)}.", created_at=created,
            read_at=created if given else None))
        if not given:
            out["open"].append((r, user_id))
    for item in out["items"]:
        item["available"] = remaining[item["id"]] if item["is_listed"] else item["quantity"]
    return out


def _code(n: int) -> str:
    """A request code distinct from the random ones: 'Z' first, base 32 after."""
    digits = ""
    for _ in range(5):
        n, d = divmod(n, 32)
        digits = CODE_ALPHABET[d] + digits
    return f"Z{digits[0]}-{digits[1:]}"


# ---------------------------------------------------------------- sessions and pools

def mint_session(app, user_id: int, basket: list[int] | None = None,
                 pending: list[dict] | None = None) -> tuple[str, str]:
    """(session cookie, CSRF token) of a logged-in student, as the server would set them: an
    open server-side session (services/sessions: a UserSession row holding the token's hash;
    appended to `pending` for one bulk insert, or inserted now) and Flask-Login's id
    "<user id>:<token>" in the signed cookie."""
    token = secrets.token_urlsafe(32)
    row = dict(user_id=user_id, token_hash=hashlib.sha256(token.encode()).hexdigest(),
               user_agent=USER_AGENT, created_at=utcnow(), last_seen_at=utcnow(), ended_at=None)
    if pending is None:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(insert(UserSession.__table__), [row])
    else:
        pending.append(row)
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                  headers={"User-Agent": USER_AGENT}):
        user = User(id=user_id, name="", phone="", password_hash="")
        user.session_token = token
        login_user(user)
        if basket:
            session["basket"] = basket
        csrf = generate_csrf()
        cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    return cookie, csrf


def save_sessions(app, pending: list[dict]) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            for i in range(0, len(pending), 5000):
                conn.execute(insert(UserSession.__table__), pending[i:i + 5000])
        db.engine.dispose()


def _line(method: str, path: str, headers: dict[str, str] | None = None, body: str = "") -> str:
    return "\t".join([method, path, "|".join(f"{k}: {v}" for k, v in (headers or {}).items()),
                      body]) + "\n"


def search_paths(data: Dataset, rng: random.Random, n: int, avoid: set[str] = frozenset()):
    """`n` distinct catalog URLs as people make them: one to three words taken from the dataset's
    titles and descriptions (with or without their diacritics, sometimes cut short as while
    typing), a category, size, hub or "in stock" filter now and then, filters alone a fifth of
    the time, a hub's own page a tenth, and pages 1 to 4."""
    texts = [(category, title + colour, sizes, description)
             for category, title, sizes, _c, _q, description in ITEMS for colour in COLOURS]
    paths: list[str] = []
    seen = set(avoid)
    while len(paths) < n:
        category, title, sizes, description = rng.choice(texts)
        args: dict[str, str] = {}
        if rng.random() >= 0.2:
            source = title if rng.random() < 0.75 else description
            words = re.findall(r"[^\W_]+", source)
            k = rng.choice([1, 1, 2, 2, 2, 3])
            start = rng.randrange(max(len(words) - k + 1, 1))
            chosen = words[start:start + k]
            if rng.random() < 0.5:
                chosen = [fold(w) for w in chosen]
            if rng.random() < 0.15 and len(chosen[-1]) > 2:  # still typing
                chosen[-1] = chosen[-1][:rng.randint(1, len(chosen[-1]) - 1)]
            args["q"] = " ".join(chosen)
        if rng.random() < 0.25:
            args["category"] = category
        if rng.random() < 0.15 and sizes != [""]:
            args["size"] = rng.choice(sizes)
        hub = rng.choice(data.hubs)
        on_hub_page = rng.random() < 0.1
        if rng.random() < 0.15 and not on_hub_page:
            args["hub"] = str(hub["id"])
        if rng.random() < 0.25:
            args["available"] = "y"
        page = rng.choice([1, 1, 1, 1, 1, 2, 2, 3, 4])
        if page > 1:
            args["page"] = str(page)
        base = f"/diem-phat/{hub['slug']}" if on_hub_page else "/do-tang"
        path = base + ("?" + urllib.parse.urlencode(args) if args else "")
        if path not in seen and args:
            seen.add(path)
            paths.append(path)
    return paths


def write_pools(app, data: Dataset, folder: Path, rng: random.Random) -> dict[str, Path]:
    searches = search_paths(data, rng, SEARCHES)
    warm = search_paths(data, rng, SEARCHES, set(searches))  # not the measured URLs: the
    # anonymous pages the warm-up asks for must not be in the micro-cache when measuring
    pending: list[dict] = []
    students = rng.sample(data.free_students, min(SIGNED_IN, len(data.free_students)))
    signed_in = [f"session={mint_session(app, s, pending=pending)[0]}" for s in students]

    def search_pool(paths, fragment: bool, cookies: bool) -> list[str]:
        return [_line("GET", path, ({"HX-Request": "true"} if fragment else {})
                      | ({"Cookie": signed_in[i % len(signed_in)]} if cookies else {}))
                for i, path in enumerate(paths)]

    pools = {
        "ping": [_line("GET", "/ping")],
        "catalog": [_line("GET", "/do-tang")],
        "item": [_line("GET", f"/do-tang/{rng.choice(ids)}")
                 for ids in rng.choices(list(data.items_by_hub.values()), k=2000)],
        "tracking": [],
        "submit": [],
    }
    for key, fragment, signed in (("anon_page", False, False), ("anon_fragment", True, False),
                                  ("user_page", False, True), ("user_fragment", True, True)):
        pools[key] = search_pool(searches, fragment, signed)
        pools[f"{key}_warm"] = search_pool(warm, fragment, signed)
    for request_id, owner in rng.sample(data.open_requests, min(1000, len(data.open_requests))):
        cookie, _ = mint_session(app, owner, pending=pending)
        pools["tracking"].append(_line("GET", f"/yeu-cau/{request_id}",
                                       {"Cookie": f"session={cookie}"}))
    hubs = {h["id"]: h for h in data.hubs}
    for student in data.free_students:
        hub = hubs[rng.choice(list(data.items_by_hub))]
        basket = rng.sample(data.items_by_hub[hub["id"]], 1)
        if rng.random() < 0.4:  # many students want the same few last units
            basket.append(rng.choice(data.hot_by_hub[hub["id"]]))
        cookie, token = mint_session(app, student, basket, pending)
        form = dict(csrf_token=token, idempotency_key=f"bench-{student}",
                    recipient_name="Học sinh thử tải", phone=f"090{student:07d}", consent="y")
        if rng.random() < 0.5:
            form["method"] = "pickup"
        else:
            form |= dict(method="post", province_code=hub["province_code"],
                         ward_code=hub["ward_code"], street="Số 5, đường 30/4")
        pools["submit"].append(_line(
            "POST", f"/gio/gui/{hub['id']}",
            {"Cookie": f"session={cookie}", "Content-Type": "application/x-www-form-urlencoded"},
            urllib.parse.urlencode(form)))
    save_sessions(app, pending)
    paths = {}
    for name, lines in pools.items():
        paths[name] = folder / f"{name}.tsv"
        paths[name].write_text("".join(lines), encoding="utf-8")
    return paths


# ---------------------------------------------------------------- server and client

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(url: str, folder: Path, workers: int, worker_class: str, threads: int):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "APP_ENV")}
    env |= dict(DATABASE_URL=url, SECRET_KEY=SECRET_KEY, UPLOAD_FOLDER=str(folder / "uploads"))
    cmd = [str(BASE_DIR / ".venv" / "bin" / "gunicorn"), "-w", str(workers), "-k", worker_class,
           "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
           "wsgi:app"]
    with open(folder / "gunicorn.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if Http(port).get("/ping")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"gunicorn did not start; see {folder / 'gunicorn.log'}")
                time.sleep(0.2)
            yield port, proc.pid
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def server_cpu_seconds(master: int) -> float:
    """CPU time used so far by gunicorn's master and workers (Linux /proc)."""
    pids = [master] + [int(p) for p in Path(f"/proc/{master}/task/{master}/children")
                       .read_text().split()]
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class Http:
    """A tiny HTTP client that keeps cookies and never follows redirects (for the preflight)."""

    def __init__(self, port: int):
        self.port, self.jar = port, cookies.SimpleCookie()

    def request(self, method: str, path: str, form: dict | None = None):
        conn = HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"User-Agent": USER_AGENT}
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.jar.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        for value in resp.headers.get_all("Set-Cookie") or []:
            self.jar.load(value)
        result = resp.status, resp.getheader("Location", ""), resp.read().decode()
        conn.close()
        return result

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, form: dict):
        return self.request("POST", path, form)


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def preflight(app, port: int, data: Dataset, student: int) -> None:
    """The real path over HTTP with CSRF on; raises AssertionError when anything is off."""
    hub_id = next(iter(data.items_by_hub))
    item_id = data.items_by_hub[hub_id][0]
    web = Http(port)
    status, _, page = web.get("/tai-khoan/dang-nhap")
    status, where, _ = web.post("/tai-khoan/dang-nhap", dict(
        csrf_token=_token(page), phone=f"090{student:07d}", password=PASSWORD))
    assert status == 303, f"login answered {status}"
    status, _, page = web.get(f"/do-tang/{item_id}")
    assert status == 200, f"item page answered {status}"
    status, _, _ = web.post(f"/gio/them/{item_id}", dict(csrf_token=_token(page)))
    assert status == 303, f"add to basket answered {status}"
    status, _, page = web.get(f"/gio/gui/{hub_id}")
    assert status == 200, f"checkout page answered {status}"
    form = dict(csrf_token=_token(page), idempotency_key="preflight", method="pickup",
                recipient_name="Học sinh", phone=f"090{student:07d}", consent="y")
    status, _, _ = web.post(f"/gio/gui/{hub_id}", {k: v for k, v in form.items()
                                                    if k != "csrf_token"})
    assert status == 400, f"a submission without a CSRF token answered {status}, not 400"
    status, where, _ = web.post(f"/gio/gui/{hub_id}", form)
    assert status == 303 and "/yeu-cau/" in where, f"checkout answered {status} {where}"
    request_id, owner = data.open_requests[0]
    minted = Http(port)
    minted.jar["session"] = mint_session(app, owner)[0]
    status, where, _ = minted.get(f"/yeu-cau/{request_id}")
    assert status == 200, f"a pooled session was refused ({status} {where})"


def run_wrk(port: int, pool: Path, mode: str, seconds: float, connections: int, threads: int):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
           "-H", f"User-Agent: {USER_AGENT}", "-s", str(LUA), f"http://127.0.0.1:{port}",
           "--", str(pool), str(threads), mode]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


# ---------------------------------------------------------------- checks

def stock_problems(app) -> tuple[int, int]:
    """(items below zero, items where available + reserved != quantity)."""
    with app.app_context():
        reserved = (select(RequestLine.item_id, func.sum(RequestLine.quantity).label("n"))
                    .join(ItemRequest, ItemRequest.id == RequestLine.request_id)
                    .where(ItemRequest.status.not_in(RELEASED_STATUSES))
                    .group_by(RequestLine.item_id).subquery())
        negative = db.session.scalar(select(func.count()).where(Item.available < 0))
        wrong = db.session.scalar(
            select(func.count()).select_from(Item)
            .outerjoin(reserved, reserved.c.item_id == Item.id)
            .where(Item.is_listed.is_(True),
                   Item.available + func.coalesce(reserved.c.n, 0) != Item.quantity))
        db.session.remove()
        db.engine.dispose()
    return negative, wrong


def count_requests(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(ItemRequest))
        db.session.remove()
        db.engine.dispose()
    return n


# ---------------------------------------------------------------- the run

ENDPOINTS = [  # name, label, pool mode, statuses that count as a right answer
    ("ping", "trivial GET /ping", "cycle", {"200"}),
    ("catalog", "bare catalog GET /do-tang, anonymous — cached", "cycle", {"200"}),
    ("anon_page", "3,000 searches/filters, full page, anonymous", "cycle", {"200"}),
    ("anon_fragment", "3,000 searches/filters, htmx fragment, anonymous", "cycle", {"200"}),
    ("user_page", "3,000 searches/filters, full page, signed in", "cycle", {"200"}),
    ("user_fragment", "3,000 searches/filters, htmx fragment, signed in", "cycle", {"200"}),
    ("item", "item page", "cycle", {"200"}),
    ("tracking", "tracking page (owner)", "cycle", {"200"}),
    ("submit", "request submission POST", "once", {"303", "422"}),
]
SEARCH_ROWS = ("anon_page", "anon_fragment", "user_page", "user_fragment")
# The targets (SQLite, 8 connections): share of /ping's requests/s, p95.
TARGETS = {key: (0.20, 50_000) for key in SEARCH_ROWS} | {"item": (0.30, None),
                                                         "tracking": (0.20, None)}


def bench_engine(name: str, url: str, args, folder: Path) -> list[dict]:
    rng = random.Random(6)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                      "UPLOAD_FOLDER": str(folder / "uploads")})
    scale = Scale().times(args.scale)
    started = time.perf_counter()
    data = build_dataset(app, scale, rng)
    print(f"[{name}] dataset: {scale.items} items, {scale.hubs} hubs, {scale.students} students, "
          f"{len(data.open_requests)} open requests — "
          f"built in {time.perf_counter() - started:.0f} s",
          flush=True)
    student = data.free_students.pop()  # logs in for real in the preflight, not in the pool
    pools = write_pools(app, data, folder, rng)
    if args.in_process:
        return cpu_per_request(app, name, pools, args.in_process, args.profile)
    results = []
    with serve(url, folder, args.workers, args.worker_class, args.threads) as (port, server):
        preflight(app, port, data, student)
        before = count_requests(app)
        for key, label, mode, good in ENDPOINTS:
            if key in args.skip.split(","):
                continue
            if mode == "cycle":  # warm up: templates compiled, caches filled — searches with
                # URLs of their own, so that no measured page is in the micro-cache yet
                run_wrk(port, pools.get(f"{key}_warm", pools[key]), mode, args.warmup, 2, 1)
            cpu = server_cpu_seconds(server)
            r = run_wrk(port, pools[key], mode, args.duration, args.connections, args.wrk_threads)
            r |= dict(engine=name, key=key, label=label, good=good,
                      server_cpu_ms=(server_cpu_seconds(server) - cpu) * 1000 / r["requests"])
            results.append(r)
            print(f"[{name}] {label}: {r['rps']:.0f} req/s, p95 {r['p95_us'] / 1000:.1f} ms, "
                  f"statuses {r['statuses']}", flush=True)
        created = count_requests(app) - before
    if "submit" not in args.skip.split(","):
        sub = next(r for r in results if r["key"] == "submit")
        sub["created"] = created
        sub["negative"], sub["mismatched"] = stock_problems(app)
    return results


def cpu_per_request(app, engine: str, pools: dict[str, Path], n: int, profile: str = "") \
        -> list[dict]:
    """CPU milliseconds and SQL statements per page in this process (Flask's test client, no
    server, no client): figures that other programs sharing the cores do not change much,
    unlike requests/s. `profile`: an endpoint whose requests pyinstrument profiles (its text
    report is printed)."""
    from sqlalchemy import event

    client = app.test_client(use_cookies=False)
    env = {"REMOTE_ADDR": "127.0.0.1"}
    statements: list[str] = []
    with app.app_context():
        engine_ = db.engine
    event.listen(engine_, "before_cursor_execute",
                 lambda conn, cursor, statement, *a: statements.append(statement))
    results = []
    for key, label, mode, good in ENDPOINTS:
        if mode != "cycle":
            continue
        lines = [ln.rstrip("\n").split("\t") for ln in pools[key].open(encoding="utf-8")][:n]
        requests = [(path, dict(h.split(": ", 1) for h in hdrs.split("|") if h) |
                     {"User-Agent": USER_AGENT}) for _, path, hdrs, _ in lines]
        for path, headers in requests[:3]:  # warm up
            client.get(path, headers=headers, environ_base=env)
        profiler = None
        if key == profile:
            from pyinstrument import Profiler
            profiler = Profiler(interval=0.0005)
            profiler.start()
        spent, done, most = 0.0, 0, 0
        statements.clear()
        while done < n:
            for path, headers in requests:
                before = len(statements)
                started = time.process_time()
                status = client.get(path, headers=headers, environ_base=env).status_code
                spent += time.process_time() - started
                most = max(most, len(statements) - before)
                assert str(status) in good, f"{path} answered {status}"
                done += 1
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, show_all=False))
        results.append(dict(engine=engine, label=label, cpu_ms=spent / done * 1000, n=done,
                            sql=len(statements) / done, sql_max=most))
    return results


def report(results: list[dict], args) -> bool:
    print()
    if args.in_process:
        print(f"CPU per request in one process (Flask test client), {args.in_process} requests per "
              f"endpoint; scale {args.scale}\n")
        print("| engine | endpoint | CPU ms/request | SQL statements/request (max) |")
        print("|---|---|---:|---:|")
        for r in results:
            print(f"| {r['engine']} | {r['label']} | {r['cpu_ms']:.2f} | {r['sql']:.1f} "
                  f"({r['sql_max']}) |")
        return True
    print(f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s per endpoint; "
          f"gunicorn -w {args.workers} -k {args.worker_class} --threads {args.threads}; "
          f"{os.cpu_count()} cores; scale {args.scale}; load average before: "
          f"{args.loadavg[0]:.1f}")
    print()
    print("| engine | endpoint | req/s | p50 ms | p95 ms | p99 ms | vs /ping | server CPU ms/req "
          "| answers |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for engine in dict.fromkeys(r["engine"] for r in results):
        rows = [r for r in results if r["engine"] == engine]
        ping = next((r["rps"] for r in rows if r["key"] == "ping"), None)
        for r in rows:
            ratio = f"{r['rps'] / ping:.0%}" if ping else "—"
            answers = ", ".join(f"{n}×{c}" for c, n in sorted(r["statuses"].items()))
            print(f"| {engine} | {r['label']} | {r['rps']:.0f} | {r['p50_us'] / 1000:.1f} | "
                  f"{r['p95_us'] / 1000:.1f} | {r['p99_us'] / 1000:.1f} | {ratio} | "
                  f"{r['server_cpu_ms']:.2f} | {answers} |")
        print()
        for r in rows:
            wrong = {c: n for c, n in r["statuses"].items() if c not in r["good"]}
            errors = {k: v for k, v in r["errors"].items() if v}
            if wrong or errors:
                ok = False
                print(f"! {engine} {r['label']}: unexpected answers {wrong} errors {errors}")
        for r in rows:
            target = TARGETS.get(r["key"])
            if target and ping:
                share, p95 = target
                met = r["rps"] >= share * ping and (p95 is None or r["p95_us"] <= p95)
                print(f"{'PASS' if met else 'MISS'} {engine} {r['label']}: ≥ {share:.0%} of /ping "
                      f"({r['rps'] / ping:.0%})" + (f" and p95 ≤ {p95 / 1000:.0f} ms "
                                                    f"({r['p95_us'] / 1000:.1f})" if p95 else ""))
            if r["key"] == "submit":
                accepted = r["statuses"].get("303", 0)
                rate = accepted / (r["duration_us"] / 1e6)
                # wrk stops at the deadline with requests in flight: the server may finish a few
                # (at most one per connection) whose answers nobody read.
                sound = r["negative"] == 0 and r["mismatched"] == 0 and \
                    0 <= r["created"] - accepted <= args.connections
                print(f"{'PASS' if rate >= 150 else 'MISS'} {engine} submissions accepted: "
                      f"{rate:.0f}/s (≥ 150/s); {accepted} accepted, "
                      f"{r['statuses'].get('422', 0)} refused as sold out")
                print(f"{'PASS' if sound else 'FAIL'} {engine} stock: {r['negative']} items below "
                      f"zero, {r['mismatched']} where available + reserved ≠ quantity, "
                      f"{r['created']} requests created for {accepted} answers 303 read")
                ok = ok and sound
                if r["exhausted_threads"]:
                    print(f"! {engine} the submission pool ran out before the time was up")
    _compare_engines(results)
    return ok


def _compare_engines(results: list[dict]) -> None:
    """PostgreSQL within 25 % of SQLite on the pages (requests/s)."""
    by = {(r["engine"], r["key"]): r for r in results}
    for key, label, mode, _good in ENDPOINTS:
        lite, pg = by.get(("sqlite", key)), by.get(("postgresql", key))
        if lite and pg and mode == "cycle" and key != "ping":
            ratio = pg["rps"] / lite["rps"]
            print(f"{'PASS' if ratio >= 0.75 else 'MISS'} postgresql vs sqlite, {label}: "
                  f"{ratio:.0%} of SQLite's requests/s (≥ 75%)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=PG_URL,
                        help="emptied! its database name must contain 'bench' (or --empty-ok)")
    parser.add_argument("--empty-ok", action="store_true",
                        help="empty --pg-url even though its name has no 'bench'")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1, help="per worker (gthread)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full dataset")
    parser.add_argument("--skip", default="", help="endpoints to leave out, e.g. submit,item")
    parser.add_argument("--in-process", type=int, default=0, metavar="N",
                        help="instead of serving and loading: CPU ms per GET page over N requests "
                             "in this process")
    parser.add_argument("--profile", default="", metavar="ENDPOINT",
                        help="with --in-process: profile that endpoint's requests with "
                             "pyinstrument, e.g. user_page")
    args = parser.parse_args()
    if not shutil.which("wrk") and not args.in_process:
        print("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk",
              file=sys.stderr)
        return 2
    args.loadavg = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="gianhang-load-") as tmp:
        for engine in args.engines.split(","):
            folder = Path(tmp) / engine
            (folder / "uploads").mkdir(parents=True)
            if engine == "sqlite":
                url = f"sqlite:///{folder / 'bench.db'}"
            elif engine == "postgresql":
                url = args.pg_url
                if "bench" not in urllib.parse.urlsplit(url).path and not args.empty_ok:
                    print(f"refusing to empty {url}: use a database named *bench*", file=sys.stderr)
                    return 2
            else:
                parser.error(f"unknown engine {engine}")
            try:
                results += bench_engine(engine, url, args, folder)
            except Exception as exc:  # noqa: BLE001 (report it with the server's log)
                log = folder / "gunicorn.log"
                print(f"[{engine}] failed: {exc!r}", file=sys.stderr)
                if log.exists():
                    print(log.read_text()[-3000:], file=sys.stderr)
                return 1
    return 0 if report(results, args) else 1


if __name__ == "__main__":
    sys.exit(main())
