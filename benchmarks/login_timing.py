"""How long a login takes for a phone with an account and for one without (issue #16).

    .venv/bin/python benchmarks/login_timing.py            # 30 logins of each kind
    .venv/bin/python benchmarks/login_timing.py --tries 100

A temporary SQLite file holds one user. Each kind of login is posted through the test client
(`POST /tai-khoan/dang-nhap`, rate limits on, counted in a temporary limiter file as without
Redis, the per-phone limit raised so nothing locks) in turn, and the table shows the median and
the 10th/90th percentiles in milliseconds. Every kind checks one password hash (a dummy one when
the phone has no account), so the medians should be within a few milliseconds of each other.
Not a test: it prints a table.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User  # noqa: E402

PHONE, PASSWORD = "+84912000111", "mat-khau-dung-1"
KINDS = {
    "known phone, right password": ("0912 000 111", PASSWORD),
    "known phone, wrong password": ("0912 000 111", "mat-khau-sai-1"),
    "unknown phone": ("0988 777 666", "mat-khau-sai-1"),
    "not a phone number": ("12345", "mat-khau-sai-1"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                          "RATELIMIT_ENABLED": True,
                          "RATELIMIT_STORAGE_URI": f"sqlite:///{tmp}/limits.sqlite",
                          "LOGIN_RATE_LIMIT": "1000000 per minute",
                          "LOGIN_PHONE_FAILURE_LIMIT": "1000000 per minute"})
        with app.app_context():
            db.create_all()
            user = User(name="Nguyễn Văn An", phone=PHONE)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
        timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(args.tries):
            for kind, (phone, password) in KINDS.items():
                start = time.perf_counter()
                app.test_client().post("/tai-khoan/dang-nhap",  # a new browser each time
                                       data={"phone": phone, "password": password})
                timings[kind].append((time.perf_counter() - start) * 1000)
        with app.app_context():
            db.engine.dispose()
    print(f"{'login':<30} {'median ms':>10} {'p10':>8} {'p90':>8}   ({args.tries} each)")
    for kind, values in timings.items():
        deciles = statistics.quantiles(values, n=10)
        print(f"{kind:<30} {statistics.median(values):>10.1f} {deciles[0]:>8.1f} "
              f"{deciles[-1]:>8.1f}")


if __name__ == "__main__":
    main()
