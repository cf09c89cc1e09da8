"""Login guesses per phone: wrong passwords of one phone from any address lock it for a while
(with the time it ends), a right password or a reset ends the count; and every login checks one
password hash, a dummy one for a phone without an account, so both answer in the same time."""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from werkzeug import security

from app.models.base import utcnow
from app.services import accounts
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def hash_checks(monkeypatch):
    """Every password hash the login checks (the real check runs): the hash's method part."""
    seen: list[str] = []

    def counted(pwhash: str, password: str) -> bool:
        seen.append(pwhash.split("$", 1)[0])
        return security.check_password_hash(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counted)
    return seen


def test_a_login_checks_one_hash_of_the_same_kind_whether_the_phone_has_an_account_or_not(
        client, db, hash_checks):
    user = factories.make_user()
    method = user.password_hash.split("$", 1)[0]
    gone = factories.make_user()
    gone.deleted_at = utcnow()
    db.session.commit()
    tries = [(user.phone, factories.PASSWORD), (user.phone, "sai-mat-khau"),
             ("0987 654 321", "sai-mat-khau"),  # no account
             (gone.phone, factories.PASSWORD),  # a deleted account
             ("12345", "sai-mat-khau")]  # not a phone number at all
    codes = [client.post("/tai-khoan/dang-nhap", data={"phone": p, "password": pw}).status_code
             for p, pw in tries]
    assert codes == [303, 422, 422, 422, 422]
    assert hash_checks == [method] * len(tries)


def test_unknown_phones_are_checked_against_a_hash_no_password_matches(app, db, hash_checks):
    with app.test_request_context():
        assert accounts.authenticate("0987654321", "") is None
        assert accounts.authenticate("0987654321", "matkhau-123") is None
    assert len(hash_checks) == 2


LOCK = """
import json, sys, time
from app import create_app
from app.extensions import db
from app.services import resets
from tests import factories
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "SERVER_NAME": "localhost", "RATELIMIT_ENABLED": True,
                  "RATELIMIT_STORAGE_URI": sys.argv[2], "RATELIMIT_KEY_PREFIX": sys.argv[3],
                  "WTF_CSRF_ENABLED": False,
                  "LOGIN_RATE_LIMIT": "1000 per minute",
                  "LOGIN_PHONE_FAILURE_LIMIT": "3 per 15 minutes"})
with app.app_context():
    db.create_all()
    locked, cleared, reset, brief = (factories.make_user().phone for _ in range(4))
    code, _ = resets.issue_code(db.session, resets.find_account(reset))
    db.session.commit()
client = app.test_client()
out = {}
n = 0

def login(phone, password="sai-mat-khau"):
    global n
    n += 1  # a new address every time: the per-phone count is not per address
    return app.test_client().post("/tai-khoan/dang-nhap", data={
        "phone": phone, "password": password}, environ_base={"REMOTE_ADDR": f"10.1.0.{n}"})

def codes(*tries):
    return [login(*t).status_code for t in tries]

out["locked"] = codes(*[(locked,)] * 4, (locked, factories.PASSWORD))
page = login(locked).get_data(as_text=True)
out["page"] = ["đã nhập sai mật khẩu quá nhiều lần. Vui lòng thử lại sau" in page,
               'value="' in page and "sai-mat-khau" not in page]
out["retry_after"] = int(login(locked).headers["Retry-After"])
# a phone without an account locks the same way (no oracle)
out["unknown"] = codes(*[("0987 654 321",)] * 4)
# a right password ends the count: three wrong ones are allowed again after it
out["cleared"] = codes((cleared,), (cleared,), (cleared, factories.PASSWORD),
                       *[(cleared,)] * 4)
# a reset with the code ends the lock at once
out["before_reset"] = codes(*[(reset,)] * 4)
out["reset"] = app.test_client().post("/tai-khoan/dat-lai-mat-khau", data={
    "phone": reset, "code": code, "password": "moi-hon-123", "confirm": "moi-hon-123"}).status_code
out["after_reset"] = codes((reset, "moi-hon-123"))
# the lock lasts until its window ends, then the right password works
app.config["LOGIN_PHONE_FAILURE_LIMIT"] = "2 per 2 seconds"
out["brief"] = codes((brief,), (brief,), (brief, factories.PASSWORD))
time.sleep(2.1)  # the window began with the first wrong password
out["brief_after"] = codes((brief, factories.PASSWORD))
print(json.dumps(out))
"""


@pytest.mark.parametrize("storage", ["file", "redis"])
def test_wrong_passwords_of_one_phone_from_many_addresses_lock_it_for_a_while(tmp_path, storage):
    """In the limiter's storage: the SQLite file of the default install, or Redis."""
    if storage == "redis" and not os.environ.get("TEST_REDIS_URL"):
        pytest.skip("TEST_REDIS_URL not set")
    uri = os.environ["TEST_REDIS_URL"] if storage == "redis" else \
        f"sqlite:///{tmp_path / 'limits.sqlite'}"
    run = subprocess.run([sys.executable, "-c", LOCK, f"sqlite:///{tmp_path / 'lock.db'}", uri,
                          f"test-{uuid.uuid4().hex[:8]}"],
                         capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["locked"] == [422, 422, 422, 429, 429]  # the right password too, while locked
    assert out["page"] == [True, True]
    assert 14 * 60 < out["retry_after"] <= 15 * 60
    assert out["unknown"] == [422, 422, 422, 429]
    assert out["cleared"] == [422, 422, 303, 422, 422, 422, 429]
    assert out["before_reset"] == [422, 422, 422, 429]
    assert out["reset"] == 303 and out["after_reset"] == [303]
    assert out["brief"] == [422, 422, 429] and out["brief_after"] == [303]


def test_the_lock_message_says_until_when_in_vietnam_time(app):
    from datetime import datetime
    with app.test_request_context():
        until = datetime(2026, 1, 1, 7, 35)  # UTC
        message = str(accounts.AccountLocked(until).message)
    assert message.startswith("Số điện thoại này đã nhập sai mật khẩu quá nhiều lần.")
    assert "thử lại sau 14:35 01/01/2026." in message  # another day: with its date
