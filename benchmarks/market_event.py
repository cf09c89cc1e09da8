"""Phiên chợ 4.0 under load: a whole event's practice payments through the real HTTP endpoint.

    .venv/bin/python benchmarks/market_event.py                     # SQLite file
    .venv/bin/python benchmarks/market_event.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_market   # then PostgreSQL

For each engine it creates the tables in its own database (a SQLite file in a temporary folder; the
PostgreSQL database given, whose tables it DROPS and recreates: create it once with
`psql -h 127.0.0.1 -U postgres -d test -c 'create database bench_market'`), adds a hub, an open
event and its booths (20 approved vendors, accepted through services.market), and serves the app
with gunicorn (sync workers: 2 on SQLite, 6 on PostgreSQL) on 127.0.0.1 and a free port. Then:

1. 500 participants join through the join form (GET for the CSRF token, POST), each with the
   event's 100.000 practice points;
2. 50 concurrent clients (threads in 5 processes, one connection each, reopened whenever the server
   closes it — gunicorn's sync workers do after every answer) make 10,000
   random practice payments (1.000–8.000 điểm, a random participant to a random booth) by POSTing
   the pay form's confirmation with its CSRF token — the endpoint a phone uses; about 2 % are sent
   again with the same idempotency key (a retry); payments beyond a balance are refused (422) and
   counted. The clients are paced to --rate payments/s in all (default 250: people at a market
   do not pay back to back; a client whose answer comes late sends its next one at once and the
   run counts it as "behind plan"); --rate 0 sends as fast as the server answers (saturation).

It prints payments/s, p50/p95/p99 latency of the pay POST, and checks the ledger: the sum of all
wallet balances equals the credit issued, no balance is negative, every wallet's balance is what its
transfers say, no idempotency key was applied twice (payments recorded == distinct keys the server
accepted, retries answered with the first payment, booth balances == the points accepted).

Rate limits: the join and pay limits (per address, per wallet) are raised for the run through the
app's config (MARKET_JOIN_RATE_LIMIT, MARKET_PAY_RATE_LIMIT in the gunicorn app factory call), since
500 participants join from one loopback address. Everything runs on the loopback; the run stops
after --payments requests or --max-seconds, whichever comes first.
"""
import argparse
import http.client
import multiprocessing
import os
import queue
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from app import create_app
from app.extensions import db
from app.models import Booth, Hub, MarketEvent, Product, User, UserRole, Vendor
from app.models.base import utcnow
from app.services import geo, market, wallets

SECRET_KEY = "market-benchmark-only-secret"
RAISED_LIMITS = {"MARKET_JOIN_RATE_LIMIT": "100000 per minute",
                 "MARKET_PAY_RATE_LIMIT": "100000 per minute"}
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# ---------------------------------------------------------------- the event

def prepare(database_url: str, booths: int) -> tuple[int, list[int]]:
    """Empty tables, one hub with an open event and `booths` accepted booths; (event, booth ids)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        db.drop_all()
        db.create_all()
        province = geo.find_province("Đồng Tháp")
        hub = Hub(name="Đoàn trường THPT Benchmark", slug="bench", province_code=province,
                  ward_code=geo.find_ward("Xã Tân Phước 1", province), pickup_place="Sân trường",
                  pickup_hours="7:00–11:00")
        organizer = User(name="Ban tổ chức", phone="+84901999000", password_hash="!")
        db.session.add_all([hub, organizer])
        db.session.flush()
        organizer.roles.append(UserRole(role="organizer", hub_id=hub.id))
        now = utcnow()
        event = MarketEvent(hub_id=hub.id, name="Phiên chợ 4.0 — benchmark", place="Sân trường",
                            starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=6),
                            practice_credit=100_000, created_by_id=organizer.id)
        db.session.add(event)
        booth_ids = []
        for i in range(booths):
            user = User(name=f"Chủ gian {i + 1}", phone=f"+8490199{i + 1:04d}", password_hash="!")
            db.session.add(user)
            db.session.flush()
            vendor = Vendor(user_id=user.id, hub_id=hub.id, business_name=f"Gian khởi nghiệp {i+1}",
                            bank_bin="970436", account_number=f"10{i:08d}",
                            account_holder="NGUYEN VAN A", status="approved")
            db.session.add(vendor)
            db.session.flush()
            db.session.add(Product(vendor_id=vendor.id, name="Bánh tráng", category="thuc-pham",
                                   price=5_000, stock=100, search_text=" banh trang"))
            booth = Booth(event_id=event.id, vendor_id=vendor.id)
            db.session.add(booth)
            db.session.flush()
            booth_ids.append(booth.id)
        db.session.commit()
        event_id, organizer_id = event.id, organizer.id
        for booth_id in booth_ids:
            market.accept_booth(organizer_id, booth_id)
        db.session.remove()
        db.engine.dispose()
    return event_id, booth_ids


def ledger(database_url: str, event_id: int):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        from sqlalchemy import func, select

        from app.models import Transfer, Wallet
        check = wallets.check_ledger(event_id)
        recorded = db.session.scalar(select(func.count(Transfer.id)).where(
            Transfer.event_id == event_id, Transfer.kind == "payment"))
        booth_points = db.session.scalar(select(func.coalesce(func.sum(Wallet.balance), 0)).where(
            Wallet.event_id == event_id, Wallet.booth_id.is_not(None)))
        db.session.remove()
        db.engine.dispose()
    return check, recorded, booth_points


# ---------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(database_url: str, folder: Path, workers: int, worker_class: str, threads: int):
    port = free_port()
    (folder / "gunicorn.conf.py").write_text("")  # not the project's, whatever the cwd holds
    factory = f"app:create_app({RAISED_LIMITS!r})"
    cmd = [str(BASE_DIR / ".venv" / "bin" / "gunicorn"), "-c", str(folder / "gunicorn.conf.py"),
           "--chdir", str(BASE_DIR), "-w", str(workers), "-k", worker_class,
           "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--timeout", "60",
           "--keep-alive", "30", "--log-level", "warning", factory]
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY}
    env.pop("REDIS_URL", None)
    log = open(folder / "gunicorn.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
                            start_new_session=True)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port, log
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    stop(proc, log)
    raise RuntimeError(f"gunicorn did not start; see {folder / 'gunicorn.log'}")


def stop(proc, log) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log.close()


# ---------------------------------------------------------------- the clients

class Client:
    """One keep-alive HTTP connection (reopened when the server closes it)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = None

    def request(self, method: str, path: str, cookie: str, body: dict | None = None):
        headers = {"Cookie": cookie, "User-Agent": "market-bench/1"}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return resp, payload


def _cookie(resp, jar: dict) -> str:
    for header, value in resp.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name] = rest.split(";", 1)[0]
    return "; ".join(f"{k}={v}" for k, v in jar.items())


@dataclass
class Participant:
    cookie: str
    token: str


def join_all(port: int, event_id: int, n: int, clients: int) -> list[Participant]:
    todo = queue.Queue()
    for i in range(n):
        todo.put(i)
    joined: list[Participant] = []
    lock = threading.Lock()

    def work():
        client = Client(port)
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            jar: dict = {}
            resp, page = client.request("GET", f"/phien-cho/{event_id}/tham-gia", "")
            cookie = _cookie(resp, jar)
            token = CSRF.search(page.decode()).group(1)
            resp, _ = client.request("POST", f"/phien-cho/{event_id}/tham-gia", cookie, {
                "csrf_token": token, "name": f"Người tham gia {i + 1}",
                "phone": f"09{i:08d}", "first_qr": random.choice(["yes", "no"]),
                "consent": "y", "key": secrets.token_urlsafe(18)})
            if resp.status != 303:
                raise RuntimeError(f"join answered {resp.status}")
            with lock:
                joined.append(Participant(_cookie(resp, jar), token))

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return joined


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    applied: dict = field(default_factory=dict)  # key -> (receipt URL, amount)
    refused: int = 0
    retries: int = 0
    retries_same: int = 0
    late: int = 0  # requests sent more than 50 ms after their planned time
    errors: dict = field(default_factory=dict)


def _lane(port, people, lane, start_at, interval):
    """One client: its share of the plan, each request at its planned time (or at once when the
    previous answer came late); (latency, status, key, location, amount, retry, late) per
    request."""
    client, out = Client(port), []
    for k, (who, booth_id, amount, key, again) in enumerate(lane):
        planned = start_at + k * interval
        wait = planned - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        person = people[who]
        for retry in (False, True) if again else (False,):
            t0 = time.monotonic()
            try:
                resp, _ = client.request(
                    "POST", f"/phien-cho/gian-hang/{booth_id}/tra-diem", person.cookie,
                    {"csrf_token": person.token, "amount": amount, "note": "", "key": key})
            except OSError as exc:
                out.append((None, type(exc).__name__, key, None, amount, retry, False))
                break
            out.append((time.monotonic() - t0, resp.status, key, resp.getheader("Location"),
                        amount, retry, t0 - planned > 0.05))
            if resp.status != 303:
                break
    return out


def _process(port, people, lanes, start_at, interval, results):
    """A client process: one thread per lane (several processes: no single GIL for 50 clients)."""
    answers = [None] * len(lanes)

    def run(i):
        answers[i] = _lane(port, people, lanes[i], start_at + i * interval / len(lanes), interval)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(lanes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put([row for rows in answers for row in rows])


def pay_all(port: int, people: list[Participant], booth_ids: list[int], args) -> tuple[Tally,
                                                                                        float]:
    """args.payments payments from args.clients concurrent clients (in args.processes processes),
    paced to args.rate payments/s in all (0: as fast as the server answers)."""
    rng = random.Random(args.seed)
    plan = [(rng.randrange(len(people)), rng.choice(booth_ids), rng.randint(1, 8) * 1000,
             secrets.token_urlsafe(18), rng.random() < args.duplicates)
            for _ in range(args.payments)]
    lanes = [plan[i::args.clients] for i in range(args.clients)]
    interval = args.clients / args.rate if args.rate else 0.0
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    start_at = time.monotonic() + 1.0
    procs = [ctx.Process(target=_process, args=(port, people, lanes[i::args.processes], start_at,
                                                interval, results))
             for i in range(args.processes)]
    for proc in procs:
        proc.start()
    rows = [row for _ in procs for row in results.get(timeout=args.max_seconds)]
    seconds = time.monotonic() - start_at
    for proc in procs:
        proc.join()
    tally = Tally()
    for took, status, key, location, amount, retry, late in rows:
        tally.late += late
        if took is None or status not in (303, 422):
            tally.errors[status] = tally.errors.get(status, 0) + 1
            continue
        tally.latencies.append(took)
        if retry:
            tally.retries += 1
            tally.retries_same += location == tally.applied.get(key, (None,))[0]
        elif status == 303:
            tally.applied[key] = (location, amount)
        else:
            tally.refused += 1
    return tally, seconds


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000 if values else 0


def server_cpu(master_pid: int) -> float:
    """CPU seconds used so far by gunicorn's master and its workers (Linux /proc)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == master_pid or int(fields[1]) == master_pid:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def clients_cpu() -> float:
    """CPU seconds used so far by this script's finished client processes (they share the cores
    with the server)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- the run

def run(label: str, database_url: str, args, folder: Path, workers: int) -> bool:
    event_id, booth_ids = prepare(database_url, args.booths)
    proc, port, log = serve(database_url, folder, workers, args.worker_class, args.threads)
    try:
        t0 = time.monotonic()
        people = join_all(port, event_id, args.participants, args.clients)
        joined_in = time.monotonic() - t0
        cpu_before, clients_before = server_cpu(proc.pid), clients_cpu()
        tally, seconds = pay_all(port, people, booth_ids, args)
        cpu, client_cpu = server_cpu(proc.pid) - cpu_before, clients_cpu() - clients_before
    finally:
        stop(proc, log)
    check, recorded, booth_points = ledger(database_url, event_id)
    requests = len(tally.latencies)
    accepted_points = sum(amount for _url, amount in tally.applied.values())
    once = (recorded == len(tally.applied) and tally.retries == tally.retries_same
            and booth_points == accepted_points and check.duplicate_keys == 0)
    ok = check.ok and check.negative == 0 and once and not tally.errors
    pace = f"paced at {args.rate}/s" if args.rate else "unpaced (as fast as answered)"
    print(f"\n== {label}: {args.participants} participants joined in {joined_in:.1f} s, "
          f"{len(booth_ids)} booths, {args.clients} clients in {args.processes} processes "
          f"{pace}, gunicorn {workers} × "
          f"{args.worker_class}" + (f" × {args.threads} threads" if args.worker_class == "gthread"
                                    else ""))
    rows = [
        ("pay requests sent (incl. retries)", f"{requests}"),
        ("payments applied (303)", f"{len(tally.applied)}"),
        ("refused: balance too low (422)", f"{tally.refused}"),
        ("retries with the same key → first payment", f"{tally.retries_same}/{tally.retries}"),
        ("other answers / errors", f"{tally.errors or 'none'}"),
        ("pay requests per second", f"{requests / seconds:.0f}"),
        ("sent > 50 ms behind plan (server fell behind)", f"{tally.late}"),
        ("server CPU per pay request (ms)", f"{cpu / max(requests, 1) * 1000:.1f}"),
        ("clients' CPU per pay request (ms)", f"{client_cpu / max(requests, 1) * 1000:.1f}"),
        ("payments applied per second", f"{len(tally.applied) / seconds:.0f}"),
        ("latency p50 / p95 / p99 (ms)", f"{pct(tally.latencies, 50):.1f} / "
                                         f"{pct(tally.latencies, 95):.1f} / "
                                         f"{pct(tally.latencies, 99):.1f}"),
        ("credit issued = sum of balances",
         f"{check.issued} = {check.balances} "
         f"({'exact' if check.issued == check.balances else 'MISMATCH'})"),
        ("negative balances / drifted wallets", f"{check.negative} / {check.drifted}"),
        ("payments recorded = distinct keys accepted", f"{recorded} = {len(tally.applied)}"),
        ("booth balances = points accepted", f"{booth_points} = {accepted_points}"),
        ("ledger invariant", "OK" if ok else "FAILED"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="also run on this PostgreSQL database (emptied)")
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--booths", type=int, default=20)
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--processes", type=int, default=5, help="client processes")
    parser.add_argument("--rate", type=float, default=250,
                        help="payments per second in all (0: unpaced)")
    parser.add_argument("--duplicates", type=float, default=0.02)
    parser.add_argument("--workers", type=int, help="gunicorn sync workers (default: 2 for "
                        "SQLite, one writer per core; 6 for PostgreSQL, whose commits wait for "
                        "the WAL flush and overlap)")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="market-bench-"))
    ok = True
    try:
        ok &= run("SQLite file", f"sqlite:///{folder / 'market.db'}", args, folder,
                  args.workers or 2)
        if args.database_url:
            ok &= run("PostgreSQL", args.database_url, args, folder, args.workers or 6)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
