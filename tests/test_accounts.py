from sqlalchemy import func, select

from app.models import User
from tests import factories


def _count(db):
    return db.session.scalar(select(func.count()).select_from(User))


def test_register_normalises_phone_hashes_password_and_logs_in(client, db):
    resp = client.post("/tai-khoan/dang-ky", data={
        "name": "Phạm Thị Dung", "phone": "0912 345 678", "password": "matkhau-123",
        "confirm": "matkhau-123"})
    assert resp.status_code == 303
    user = db.session.scalar(select(User))
    assert user.phone == "+84912345678"
    assert user.password_hash != "matkhau-123" and user.check_password("matkhau-123")
    assert [r.role for r in user.roles] == ["student"]
    assert "Phạm Thị Dung" in client.get("/tai-khoan/").get_data(as_text=True)


def test_register_rejects_foreign_and_malformed_numbers(client, db):
    for phone, message in [("+1 415 555 2671", "di động Việt Nam"), ("0123", "không hợp lệ"),
                           ("0241 234 5678", "không hợp lệ")]:
        resp = client.post("/tai-khoan/dang-ky", data={
            "name": "A", "phone": phone, "password": "matkhau-123", "confirm": "matkhau-123"})
        assert resp.status_code == 422
        assert message in resp.get_data(as_text=True)
    assert _count(db) == 0


def test_register_duplicate_phone_and_short_password(client, db):
    factories.make_user(phone="+84912345678")
    resp = client.post("/tai-khoan/dang-ky", data={
        "name": "B", "phone": "0912345678", "password": "matkhau-123", "confirm": "matkhau-123"})
    assert "đã có tài khoản" in resp.get_data(as_text=True)
    resp = client.post("/tai-khoan/dang-ky", data={
        "name": "B", "phone": "0987654321", "password": "ngan", "confirm": "ngan"})
    assert "8 đến 128" in resp.get_data(as_text=True)
    assert _count(db) == 1


def test_login_by_phone_in_any_format_and_wrong_password(client, db):
    user = factories.make_user(phone="+84987654321")
    bad = client.post("/tai-khoan/dang-nhap", data={"phone": "0987654321", "password": "sai-roi-1"})
    assert bad.status_code == 422 and "không đúng" in bad.get_data(as_text=True)
    ok = client.post("/tai-khoan/dang-nhap?next=/thong-bao/",
                     data={"phone": "098 765 4321", "password": factories.PASSWORD})
    assert ok.status_code == 303 and ok.headers["Location"].endswith("/thong-bao/")
    assert user.name in client.get("/tai-khoan/").get_data(as_text=True)


def test_login_refuses_open_redirect(client, db):
    user = factories.make_user()
    resp = client.post("/tai-khoan/dang-nhap?next=//evil.example/x",
                       data={"phone": user.phone, "password": factories.PASSWORD})
    assert "evil.example" not in resp.headers["Location"]


def test_anonymous_is_sent_to_login(client, db):
    resp = client.get("/tai-khoan/")
    assert resp.status_code == 302 and "/tai-khoan/dang-nhap" in resp.headers["Location"]


def test_language_switch_to_english_and_back(client, db):
    client.post("/ngon-ngu", data={"lang": "en", "next": "/tai-khoan/dang-nhap"})
    page = client.get("/tai-khoan/dang-nhap").get_data(as_text=True)
    assert '<html lang="en">' in page
    client.post("/ngon-ngu", data={"lang": "vi"})
    assert '<html lang="vi">' in client.get("/tai-khoan/dang-nhap").get_data(as_text=True)
