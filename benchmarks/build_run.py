"""Scale benchmark: build the weekly run from thousands of approved requests.

    .venv/bin/python benchmarks/build_run.py                       # a SQLite file, 5,000 requests
    .venv/bin/python benchmarks/build_run.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/EMPTY_DB
    .venv/bin/python benchmarks/build_run.py --requests 20000 --wards 300

The dataset goes in with core bulk inserts (not timed): one hub delivering by hand to `--wards`
wards,
`--requests` approved requests (90 % volunteer delivery spread over those wards with a few streets
and hamlets each, 1 % to a ward the hub no longer serves, 6 % post, 3 % pickup), one item line each,
their "submitted" and "approved" events, and 40 volunteers signed up for the day.

Then only `runs.build_run` is measured: the first build, a rebuild (nothing new: the idempotent
path), and the first build again (run deleted) under tracemalloc for the peak Python memory. The
process's max RSS comes from resource.getrusage. The target is a first build under 1 s.

The database must be empty (a fresh SQLite file is made in a temporary folder by default); the
tables are created, and dropped at the end. Not a test: it prints a table.
"""
import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from sqlalchemy import delete, func, insert, inspect, select

from app import create_app
from app.extensions import db
from app.models import (
    DeliveryRun,
    Hub,
    HubWard,
    Item,
    ItemRequest,
    RequestEvent,
    RequestLine,
    Route,
    RunStop,
    User,
    VolunteerSignup,
)
from app.models.base import utcnow
from app.services import geo, runs
from app.services.formatting import local_today

STREETS = ["Nguyễn Huệ", "Lê Lợi", "Trần Hưng Đạo", "Hai Bà Trưng", "Lý Thường Kiệt",
           "Nguyễn Trãi", "Điện Biên Phủ", "Cách Mạng Tháng Tám"]


def wards(count: int) -> list[tuple[int, int]]:
    """`count` real (ward, province) codes, province after province."""
    out = []
    for province, _ in geo.provinces():
        out += [(code, province) for code, _ in geo.wards_of(province)]
        if len(out) >= count + 10:
            return out[:count + 10]
    raise SystemExit(f"only {len(out)} wards exist")


def street(rng: random.Random) -> str:
    if rng.random() < .3:
        return f"Ấp {rng.randint(1, 6)}"
    return f"{rng.randint(1, 400)} {rng.choice(STREETS)}"


def load(requests: int, ward_count: int) -> tuple[int, dict]:
    """The dataset through core inserts; returns the hub id and the mix of methods."""
    rng = random.Random(2025)
    places = wards(ward_count)
    served, unserved = places[:ward_count], places[ward_count:]
    session = db.session
    hub_id = session.execute(insert(Hub).returning(Hub.id), [{
        "name": "Đoàn trường benchmark", "slug": "benchmark", "province_code": served[0][1],
        "ward_code": served[0][0], "pickup_place": "Phòng Đoàn", "pickup_hours": "7:30–10:30",
        "description": ""}]).scalar_one()
    session.execute(insert(HubWard), [{"hub_id": hub_id, "ward_code": w} for w, _ in served])
    password = "not-a-real-hash"  # nobody logs in here
    session.execute(insert(User), [{"name": f"Học sinh {i}", "phone": f"+8490{i:07d}",
                                    "password_hash": password} for i in range(requests + 40)])
    user_ids = session.scalars(select(User.id).order_by(User.id)).all()
    students, volunteers = user_ids[:requests], user_ids[requests:]
    session.execute(insert(Item), [{
        "hub_id": hub_id, "title": f"Món đồ {i}", "category": "sach-vo", "quantity": 50,
        "available": 40} for i in range(requests // 10 + 1)])
    item_ids = session.scalars(select(Item.id).order_by(Item.id)).all()

    now = utcnow()
    day = runs.next_delivery_date(session.get(Hub, hub_id), local_today())
    mix = {"volunteer": 0, "post": 0, "pickup": 0, "flagged": 0}
    rows = []
    for i, student in enumerate(students):
        roll = rng.random()
        method = "volunteer" if roll < .91 else "post" if roll < .97 else "pickup"
        ward, province = rng.choice(unserved if roll < .01 else served)
        mix["flagged" if roll < .01 else method] += 1
        rows.append({
            "code": f"B{i:07d}", "user_id": student, "hub_id": hub_id, "status": "approved",
            "method": method, "recipient_name": f"Học sinh {i}", "phone": f"+8491{i:07d}",
            "province_code": None if method == "pickup" else province,
            "ward_code": None if method == "pickup" else ward,
            "street": None if method == "pickup" else street(rng), "handover_code": "1234",
            "consent_at": now})
    session.execute(insert(ItemRequest), rows)
    request_ids = session.scalars(select(ItemRequest.id).order_by(ItemRequest.id)).all()
    session.execute(insert(RequestLine), [{"request_id": r, "item_id": item_ids[k // 10]}
                                          for k, r in enumerate(request_ids)])
    approved_at = now - timedelta(days=4)  # before the cut-off of the next delivery day
    session.execute(insert(RequestEvent), [
        {"request_id": r, "status": s, "note": "", "created_at": approved_at - timedelta(hours=h)}
        for r in request_ids for s, h in (("submitted", 5), ("approved", 0))])
    session.execute(insert(VolunteerSignup), [{"hub_id": hub_id, "user_id": v, "date": day}
                                              for v in volunteers])
    session.commit()
    return hub_id, mix


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--wards", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/build_run.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": tmp})
        with app.app_context():
            if inspect(db.engine).get_table_names():
                raise SystemExit(f"{db.engine.url.render_as_string()} is not empty: use an empty "
                                 "database.")
            db.create_all()
            try:
                run(args)
            finally:
                db.session.rollback()
                db.drop_all()
                db.engine.dispose()


def run(args) -> None:
    (hub_id, mix), load_s = timed(lambda: load(args.requests, args.wards))
    first, first_s = timed(lambda: runs.build_run(hub_id))
    again, again_s = timed(lambda: runs.build_run(hub_id))
    assert (again.run_id, again.added) == (first.run_id, 0)

    counts = dict(db.session.execute(select(RunStop.kind, func.count()).group_by(RunStop.kind))
                  .all())
    routes = db.session.scalar(select(func.count()).select_from(Route))
    unassigned = db.session.scalar(select(func.count()).select_from(Route)
                                   .where(Route.volunteer_id.is_(None)))
    largest = db.session.scalar(select(func.count()).where(RunStop.route_id.is_not(None))
                                .group_by(RunStop.route_id).order_by(func.count().desc()).limit(1))
    assert sum(counts.values()) == first.added == args.requests
    assert counts.get("flagged", 0) == mix["flagged"] and counts.get("post", 0) == mix["post"]

    db.session.execute(delete(DeliveryRun))  # cascades to routes and stops
    db.session.commit()
    tracemalloc.start()
    runs.build_run(hub_id)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux

    engine = db.engine.dialect.name
    print(f"\nWeekly run build — {engine}, {args.requests} approved requests, "
          f"{args.wards} wards served (dataset loaded in {load_s:.1f} s, not timed)\n")
    rows = [
        ("stops", (f"{counts.get('route', 0)} on routes, {counts.get('post', 0)} post, "
                   f"{counts.get('pickup', 0)} pickup, {counts.get('flagged', 0)} flagged")),
        ("routes", (f"{routes} (largest {largest} stops, {unassigned} unassigned, "
                    "40 volunteers signed up)")),
        ("first build", f"{first_s * 1000:.0f} ms" + ("  ✓ under 1 s" if first_s < 1
                                                      else "  ✗ over 1 s")),
        ("rebuild, nothing new", f"{again_s * 1000:.0f} ms"),
        ("peak Python memory", f"{peak / 2**20:.1f} MB (tracemalloc, during a first build)"),
        ("max RSS of the process", f"{rss:.0f} MB (getrusage, dataset load included)"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'':<{width}}  {engine}")
    print(f"{'-' * width}  {'-' * 40}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
