"""One-time codes by SMS (issue #13): registration verifies the phone with a 6-digit code, and
"Quên mật khẩu?" can send a reset code — one mechanism with the volunteer-issued reset code,
stored hashed, replaced by a new one, expiring, dead after 5 wrong tries, limited per phone and
per address, sent through the outbox right after the commit (here to the fake eSMS server)."""
import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.models import OneTimeCode, OutboundMessage, User
from app.models.base import utcnow
from app.services import accounts, phone_codes, privacy, resets
from app.services.messages import sender
from app.services.messages.providers import EsmsProvider
from tests import factories
from tests.fake_gateways import FakeEsms
from tests.test_accounts import IPHONE, Device, opens_profile, signed_in

ROOT = Path(__file__).resolve().parent.parent
PHONE = "0912 345 678"
E164 = "+84912345678"


@pytest.fixture
def esms(app, monkeypatch):
    """SMS codes on, carried by the fake eSMS server."""
    gateway = FakeEsms()
    for key, value in {"PHONE_CODES": True, "MESSAGE_PROVIDER": "esms", "ESMS_URL": gateway.url,
                       "ESMS_API_KEY": "api-key-1", "ESMS_SECRET_KEY": "secret-1",
                       "ESMS_BRANDNAME": "GH0D", "MESSAGE_HTTP_TIMEOUT": 2}.items():
        monkeypatch.setitem(app.config, key, value)
    yield gateway
    gateway.close()


def texts(gateway) -> list[tuple[str, str]]:
    """(phone digits, SMS text) of every request the gateway received."""
    return [(r["body"]["Phone"], r["body"]["Content"]) for r in gateway.requests]


def code_in(text: str) -> str:
    [code] = re.findall(r"\b(\d{6})\b", text)
    return code


def register(device, phone=PHONE, name="Trần Thị Bình", password="mat-khau-999"):
    resp = device.post("/tai-khoan/dang-ky", data={"name": name, "phone": phone,
                                                   "password": password, "confirm": password})
    resp.close()  # the answer has gone out: now the code is sent
    return resp


def users(db) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(User))


def code_rows(db, purpose=phone_codes.VERIFY) -> list[OneTimeCode]:
    db.session.rollback()
    return list(db.session.scalars(select(OneTimeCode).where(OneTimeCode.purpose == purpose)
                                   .order_by(OneTimeCode.id)))


# ---------------------------------------------------------------- registration

def test_registration_creates_the_account_only_with_the_code_sent_to_the_phone(app, db, esms):
    device = Device(app)
    resp = register(device)
    assert resp.status_code == 303 and resp.headers["Location"].startswith(
        "/tai-khoan/dang-ky/xac-minh")
    assert users(db) == 0  # nothing is created before the code
    [(phone, text)] = texts(esms)  # sent at once, not left for the worker
    assert phone == "0912345678" and text.startswith("Gian hang 0 dong: ")
    assert "Khong ai cua Doan hoi ma nay" in text and len(text) <= 160
    code = code_in(text)
    [row] = code_rows(db)
    assert code not in row.code_hash and row.code_hash.startswith("hmac-sha256$")
    assert "mat-khau-999" not in json.dumps(row.pending)
    [message] = db.session.scalars(select(OutboundMessage))
    assert message.status == "sent" and message.attempts == 1
    page = device.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Nhập mã 6 số gửi tới 0912 345 678" in page and "10 phút" in page
    assert 'autocomplete="one-time-code"' in page and "<script>" not in page
    wrong = "000000" if code != "000000" else "111111"
    resp = device.post("/tai-khoan/dang-ky/xac-minh", data={"code": wrong})
    assert resp.status_code == 422
    assert "Mã không đúng. Bạn còn 4 lần thử." in resp.get_data(as_text=True)
    assert users(db) == 0
    resp = device.post("/tai-khoan/dang-ky/xac-minh", data={"code": f" {code[:3]} {code[3:]} "})
    assert resp.status_code == 303
    user = db.session.scalar(select(User))
    assert (user.name, user.phone) == ("Trần Thị Bình", E164)
    assert user.check_password("mat-khau-999")
    assert [r.role for r in user.roles] == ["student"]
    assert device.get("/tai-khoan/").status_code == 200  # signed in
    assert code_rows(db)[0].used_at is not None and code_rows(db)[0].pending is None
    assert len(esms.requests) == 1  # once, never again


def test_expired_and_dead_codes_say_so_and_resend_replaces_the_code(app, db, esms):
    device = Device(app)
    register(device)
    first = code_in(texts(esms)[0][1])
    db.session.execute(update(OneTimeCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    resp = device.post("/tai-khoan/dang-ky/xac-minh", data={"code": first})
    assert resp.status_code == 422 and "Mã đã hết hạn." in resp.get_data(as_text=True)
    resp = device.post("/tai-khoan/dang-ky/gui-lai-ma")
    resp.close()
    assert resp.status_code == 303
    assert "Đã gửi mã mới" in device.get(resp.headers["Location"]).get_data(as_text=True)
    assert len(esms.requests) == 2
    second = code_in(texts(esms)[1][1])
    old, new = code_rows(db)
    assert old.pending is None and new.pending["name"] == "Trần Thị Bình"
    wrong = next(c for c in ("000000", "111111", "222222") if c not in (first, second))
    answers = [device.post("/tai-khoan/dang-ky/xac-minh", data={"code": wrong})
               .get_data(as_text=True) for _ in range(phone_codes.MAX_TRIES)]
    assert "Bạn còn 1 lần thử." in answers[3]
    assert "nhập sai mã quá nhiều lần" in answers[4]
    resp = device.post("/tai-khoan/dang-ky/xac-minh", data={"code": second})  # too late
    assert resp.status_code == 422 and "nhập sai mã quá nhiều lần" in resp.get_data(as_text=True)
    assert users(db) == 0
    # a fresh code works again: the account is made
    device.post("/tai-khoan/dang-ky/gui-lai-ma").close()
    third = code_in(texts(esms)[2][1])
    assert device.post("/tai-khoan/dang-ky/xac-minh", data={"code": third}).status_code == 303
    assert users(db) == 1


def test_a_known_phone_gets_the_same_page_and_a_text_to_its_owner(app, db, esms):
    owner = factories.make_user(phone=E164)
    device = Device(app)
    resp = register(device)
    assert resp.status_code == 303 and "/tai-khoan/dang-ky/xac-minh" in resp.headers["Location"]
    [(_phone, text)] = texts(esms)
    assert "so nay da co tai khoan" in text and not re.search(r"\d{6}", text)
    page = device.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Nhập mã 6 số gửi tới 0912 345 678" in page
    resp = device.post("/tai-khoan/dang-ky/xac-minh", data={"code": "123456"})
    assert "Mã không đúng. Bạn còn 4 lần thử." in resp.get_data(as_text=True)  # as for a new phone
    assert users(db) == 1 and db.session.get(User, owner.id).check_password(factories.PASSWORD)


def test_without_sms_codes_registration_is_direct_and_the_code_pages_send_back(client, db):
    resp = client.post("/tai-khoan/dang-ky", data={"name": "An", "phone": PHONE,
                                                   "password": "mat-khau-999",
                                                   "confirm": "mat-khau-999"})
    assert resp.status_code == 303 and users(db) == 1
    assert client.get("/tai-khoan/dang-ky/xac-minh").headers["Location"].startswith(
        "/tai-khoan/dang-ky")
    assert client.post("/tai-khoan/quen-mat-khau/gui-ma", data={"phone": PHONE}).status_code == 404
    assert "Gửi mã qua SMS" not in client.get("/tai-khoan/quen-mat-khau").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 0


# ---------------------------------------------------------------- a forgotten password

def test_a_reset_code_by_sms_sets_the_password_and_ends_every_other_session(app, db, esms):
    user = factories.make_user(phone=E164)
    other = signed_in(app, user, agent=IPHONE)
    other_cookies = other.cookies()
    device = Device(app)
    assert "Gửi mã qua SMS" in device.get("/tai-khoan/quen-mat-khau").get_data(as_text=True)
    resp = device.post("/tai-khoan/quen-mat-khau/gui-ma", data={"phone": PHONE})
    resp.close()
    assert resp.status_code == 303 and resp.headers["Location"] == "/tai-khoan/dat-lai-mat-khau"
    page = device.get("/tai-khoan/dat-lai-mat-khau").get_data(as_text=True)
    assert "Nếu số này có tài khoản" in page and 'value="0912 345 678"' in page
    [(phone, text)] = texts(esms)
    assert phone == "0912345678" and "ma dat lai mat khau" in text
    code = code_in(text)
    [row] = code_rows(db, resets.PURPOSE)
    assert row.user_id == user.id and code not in row.code_hash
    resp = device.post("/tai-khoan/dat-lai-mat-khau", data={
        "phone": PHONE, "code": code, "password": "mat-khau-moi-1", "confirm": "mat-khau-moi-1"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("mat-khau-moi-1")
    assert not opens_profile(app, other_cookies, IPHONE)  # the other device is signed out
    assert device.get("/tai-khoan/").status_code == 200


def test_the_sms_code_and_the_volunteers_code_replace_each_other(app, db, esms):
    user = factories.make_user(phone=E164)
    volunteer_code, _ = resets.issue_code(db.session, user)
    db.session.commit()
    resets.send_code(E164, "vi")  # the code is made and sent at once
    sms_code = code_in(texts(esms)[0][1])
    with pytest.raises(resets.ResetError):
        resets.redeem(PHONE, volunteer_code, "mat-khau-moi-1")  # void: the SMS code replaced it
    assert resets.redeem(PHONE, sms_code, "mat-khau-moi-1") == user.id
    with pytest.raises(resets.ResetError):
        resets.redeem(PHONE, sms_code, "mat-khau-moi-2")  # used once


def test_an_unknown_phone_gets_the_same_answer_and_no_message(app, db, esms):
    factories.make_user(phone=E164)
    answers = []
    for phone in (PHONE, "0987 654 321"):
        device = Device(app)
        resp = device.post("/tai-khoan/quen-mat-khau/gui-ma", data={"phone": phone})
        resp.close()
        page = device.get(resp.headers["Location"]).get_data(as_text=True)
        answers.append((resp.status_code, resp.headers["Location"],
                        re.sub(r'value="[^"]*"|name="csrf_token"[^>]*', "", page)))
    assert answers[0] == answers[1]
    assert [p for p, _t in texts(esms)] == ["0912345678"]  # nothing to the unknown phone
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 1
    resp = Device(app).post("/tai-khoan/quen-mat-khau/gui-ma", data={"phone": "12345"})
    assert resp.status_code == 422 and "Gửi mã qua SMS" in resp.get_data(as_text=True)


def test_a_failed_send_is_retried_by_the_worker_and_never_sent_twice(app, db, esms):
    factories.make_user(phone=E164)
    esms.script.append(("status", 503))
    device = Device(app)
    device.post("/tai-khoan/quen-mat-khau/gui-ma", data={"phone": PHONE}).close()
    [message] = db.session.scalars(select(OutboundMessage))
    assert message.status == "queued" and message.attempts == 1  # left to the worker
    provider = EsmsProvider("api-key-1", "secret-1", "GH0D", url=esms.url, timeout=2)
    later = utcnow() + timedelta(minutes=2)
    assert sender.send_due(provider, now=later).sent == 1
    with app.test_request_context():
        phone_codes.send_now(message.id)  # again: nothing is due
    assert sender.send_due(provider, now=later + timedelta(minutes=5)).claimed == 0
    assert len(esms.carried) == 1 and len(esms.requests) == 2


def test_the_purge_forgets_codes_and_what_their_messages_carried(app, db, esms):
    Device(app).post("/tai-khoan/dang-ky", data={
        "name": "An", "phone": PHONE, "password": "mat-khau-999",
        "confirm": "mat-khau-999"}).close()
    db.session.execute(update(OneTimeCode).values(expires_at=utcnow() - timedelta(days=2)))
    db.session.execute(update(OutboundMessage).values(created_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    privacy.purge()
    assert code_rows(db) == []
    [message] = db.session.scalars(select(OutboundMessage))
    assert message.params == {} and message.phone == ""


def test_the_service_refuses_a_code_for_a_phone_that_is_not_one(app, db, esms):
    with app.test_request_context(), pytest.raises(accounts.AccountError) as refused:
        accounts.start_registration("An", "12345", "mat-khau-999", "10.0.0.1", "vi")
    assert refused.value.field == "phone"
    assert db.session.scalar(select(func.count()).select_from(OneTimeCode)) == 0


# ---------------------------------------------------------------- limits (limiter on: own process)

LIMITS = """
import json, sys
from app import create_app
from app.extensions import db
from tests import factories
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "SERVER_NAME": "localhost", "RATELIMIT_ENABLED": True,
                  "RATELIMIT_STORAGE_URI": "memory://", "WTF_CSRF_ENABLED": False,
                  "PHONE_CODES": True, "PHONE_CODE_PHONE_LIMIT": "3 per 15 minutes;10 per day",
                  "PHONE_CODE_ADDRESS_LIMIT": "8 per hour",
                  "REGISTER_PHONE_RATE_LIMIT": "100 per minute"})
with app.app_context():
    db.create_all()
    known = factories.make_user().phone

def forgot(phone, address):
    resp = app.test_client().post("/tai-khoan/quen-mat-khau/gui-ma", data={"phone": phone},
                                  environ_base={"REMOTE_ADDR": address})
    resp.close()  # the answer has gone out: the code is made and sent
    return resp

def register(phone, address):
    return app.test_client().post("/tai-khoan/dang-ky", data={
        "name": "An", "phone": phone, "password": "mat-khau-999", "confirm": "mat-khau-999"},
        environ_base={"REMOTE_ADDR": address})

out = {}
# a flood for one phone, from ever new addresses: refused after the limit, known or not
out["known"] = [forgot(known, f"10.1.0.{n}").status_code for n in range(5)]
out["unknown"] = [forgot("0987 654 321", f"10.2.0.{n}").status_code for n in range(5)]
page = forgot(known, "10.1.1.1")
out["page"] = ["Số điện thoại này đã được gửi mã quá nhiều lần" in page.get_data(as_text=True),
               int(page.headers["Retry-After"])]
out["register"] = [register("0977 000 111", f"10.3.0.{n}").status_code for n in range(4)]
reg = register("0977 000 111", "10.3.1.1").get_data(as_text=True)
out["kept"] = ["Số điện thoại này đã được gửi mã quá nhiều lần" in reg,
               '977000111"' in reg and 'value="An"' in reg, "mat-khau-999" not in reg]
# one address, many phones: refused after the address limit; another address goes on
out["address"] = [forgot(f"09770002{n:02d}", "10.9.9.9").status_code for n in range(10)]
out["other_address"] = forgot("0977000299", "10.9.9.10").status_code
with app.app_context():
    from app.models import OutboundMessage
    out["messages"] = db.session.query(OutboundMessage).count()
print(json.dumps(out))
"""


def test_a_flood_of_code_requests_is_refused_per_phone_and_per_address(tmp_path):
    # The limits count in the limiter's storage, whatever the database: a file of its own here.
    run = subprocess.run([sys.executable, "-c", LIMITS, f"sqlite:///{tmp_path / 'codes.db'}"],
                         capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["known"] == [303, 303, 303, 429, 429]
    assert out["unknown"] == out["known"]  # the same limit: no oracle
    assert out["page"][0] is True and 0 < out["page"][1] <= 15 * 60
    assert out["register"] == [303, 303, 303, 429]
    assert out["kept"] == [True, True, True]  # what was typed is kept, not the password
    assert out["address"] == [303] * 8 + [429, 429]
    assert out["other_address"] == 303
    assert out["messages"] == 3 + 3  # nothing to unknown phones, nothing for a refused request
