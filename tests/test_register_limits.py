"""Registration limits: per phone, and a generous one per address, so that a class on one school
Wi-Fi can register; a 429 is a page that keeps what was typed (not passwords) and says when."""
import json
import subprocess
import sys
from pathlib import Path

WORKER = """
import json, sys
from app import create_app
from app.extensions import db
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "SERVER_NAME": "localhost", "RATELIMIT_ENABLED": True,
                  "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_STRATEGY": "moving-window",
                  "WTF_CSRF_ENABLED": False,
                  "REGISTER_PHONE_RATE_LIMIT": "2 per minute",
                  "REGISTER_RATE_LIMIT": "40 per minute"})
with app.app_context():
    db.create_all()
client = app.test_client()

def register(n, phone=None, name="Học sinh"):
    return client.post("/tai-khoan/dang-ky", data={
        "name": f"{name} {n}", "phone": phone or f"09{n:08d}", "password": "bi-mat-999",
        "confirm": "bi-mat-999"})

out = {"class": [register(n).status_code for n in range(1, 31)]}
# one phone typed three ways: the third try is over the per-phone limit
same = [register(90, "0977 000 111", "Lê Văn"), register(91, "+84977000111", "Lê Văn"),
        register(92, "0977000111", "Lê Văn")]
out["same_phone"] = [r.status_code for r in same]
page = same[-1].get_data(as_text=True)
out["kept"] = ['value="Lê Văn 92"' in page, 'value="0977000111"' in page,
               "bi-mat-999" not in page, "thử lại sau 1 phút" in page, "<nav" in page]
# 33 posts so far from this address; the limit is 40 per minute
burst = [register(n) for n in range(100, 109)]
out["address"] = [r.status_code for r in burst]
out["retry_after"] = same[-1].headers.get("Retry-After")
print(json.dumps(out))
"""


def test_a_class_registers_on_one_address_and_the_phone_limit_holds(tmp_path):
    run = subprocess.run([sys.executable, "-c", WORKER, f"sqlite:///{tmp_path / 'r.db'}"],
                         capture_output=True, text=True, timeout=300, check=False,
                         cwd=Path(__file__).resolve().parent.parent)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["class"] == [303] * 30  # thirty students, one Wi-Fi
    assert out["same_phone"][:2] == [303, 422] and out["same_phone"][2] == 429
    assert out["kept"] == [True, True, True, True, True]
    # the address limit (40 a minute) ends the burst: the posts above it are refused
    assert out["address"][:7] == [303] * 7 and out["address"][-1] == 429
    assert 30 + 2 + out["address"].count(303) <= 40
    assert out["retry_after"] is not None and 0 < int(out["retry_after"]) <= 60
