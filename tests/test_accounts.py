from flask import g
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


# ---------------------------------------------------------------- the profile and the sessions

ANDROID = "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari"


class Device:
    """One browser: its own cookies and User-Agent. Tests hold an app context, in which
    Flask-Login caches the user of the last request; each request here drops it first, as a
    request in production starts without it."""

    def __init__(self, app, agent=ANDROID):
        self.client, self.agent = app.test_client(), agent

    def get(self, url, **kw):
        g.pop("_login_user", None)
        return self.client.get(url, headers={"User-Agent": self.agent}, **kw)

    def post(self, url, **kw):
        g.pop("_login_user", None)
        return self.client.post(url, headers={"User-Agent": self.agent}, **kw)

    def cookies(self):
        return [(n, self.client.get_cookie(n).value) for n in ("session", "remember_token")
                if self.client.get_cookie(n)]


def signed_in(app, user, agent=ANDROID, password=factories.PASSWORD) -> Device:
    device = Device(app, agent)
    resp = device.post("/tai-khoan/dang-nhap", data={"phone": user.phone, "password": password})
    assert resp.status_code == 303
    return device


def opens_profile(app, cookies, agent=ANDROID) -> bool:
    """Do these cookies (of a device with `agent`) open the profile in a fresh client?"""
    device = Device(app, agent)
    for name, value in cookies:
        device.client.set_cookie(name, value)
    return device.get("/tai-khoan/").status_code == 200


def test_profile_shows_roles_in_words_with_their_unit(app, db):
    hub = factories.make_hub(name="Đoàn trường THPT Nguyễn Văn Tiếp")
    me = signed_in(app, factories.make_user(roles=("volunteer", "student"), hub=hub))
    page = me.get("/tai-khoan/").get_data(as_text=True)
    assert "Tình nguyện viên — Đoàn trường THPT Nguyễn Văn Tiếp" in page
    assert "Học sinh, sinh viên" in page
    assert "student" not in page.split("<main")[1]


def test_change_name_and_phone(app, db):
    user = factories.make_user()
    me = signed_in(app, user)
    assert me.post("/tai-khoan/ten", data={"name-name": "  Lê Thị Mai "}).status_code == 303
    assert me.post("/tai-khoan/so-dien-thoai",
                   data={"phone-phone": "0977 111 222"}).status_code == 303
    db.session.refresh(user)
    assert (user.name, user.phone) == ("Lê Thị Mai", "+84977111222")
    assert "Lê Thị Mai" in me.get("/tai-khoan/").get_data(as_text=True)


def test_duplicate_or_bad_phone_is_refused_by_the_field(app, db):
    factories.make_user(phone="+84977111222")
    user = factories.make_user()
    before, me = user.phone, signed_in(app, user)
    resp = me.post("/tai-khoan/so-dien-thoai", data={"phone-phone": "0977111222"})
    assert resp.status_code == 422
    [block] = [b for b in resp.get_data(as_text=True).split('<div class="field')
               if 'name="phone-phone"' in b]
    assert "Số điện thoại này đã có tài khoản." in block
    resp = me.post("/tai-khoan/so-dien-thoai", data={"phone-phone": "0241 234 5678"})
    assert resp.status_code == 422 and "không hợp lệ" in resp.get_data(as_text=True)
    db.session.refresh(user)
    assert user.phone == before


def test_password_change_needs_the_old_one_and_ends_other_sessions(app, db):
    user = factories.make_user()
    me, other = signed_in(app, user), signed_in(app, user, IPHONE).cookies()
    bad = me.post("/tai-khoan/mat-khau", data={
        "password-old_password": "sai-mat-khau", "password-password": "moi-hon-123",
        "password-confirm": "moi-hon-123"})
    assert bad.status_code == 422 and "Mật khẩu hiện tại không đúng." in bad.get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password(factories.PASSWORD) and opens_profile(app, other, IPHONE)

    ok = me.post("/tai-khoan/mat-khau", data={
        "password-old_password": factories.PASSWORD, "password-password": "moi-hon-123",
        "password-confirm": "moi-hon-123"})
    assert ok.status_code == 303
    db.session.refresh(user)
    assert user.check_password("moi-hon-123")
    assert not opens_profile(app, other, IPHONE)  # the other device is out
    assert me.get("/tai-khoan/").status_code == 200  # this one stays


def test_phone_change_ends_other_sessions(app, db):
    user = factories.make_user()
    me, other = signed_in(app, user), signed_in(app, user, IPHONE).cookies()
    me.post("/tai-khoan/so-dien-thoai", data={"phone-phone": "0977 333 444"})
    assert not opens_profile(app, other, IPHONE)
    assert me.get("/tai-khoan/").status_code == 200


def test_devices_are_listed_in_words_and_others_signed_out_after_a_confirm(app, db):
    user = factories.make_user()
    me = signed_in(app, user, agent="Mozilla/5.0 (Windows NT 10.0) Firefox/128.0")
    others = [(signed_in(app, user).cookies(), ANDROID),
              (signed_in(app, user, IPHONE).cookies(), IPHONE)]
    page = me.get("/tai-khoan/").get_data(as_text=True)
    assert "Chrome trên Android" in page and "Safari trên iPhone" in page
    assert "Firefox trên Windows" in page and "thiết bị này" in page
    confirm = me.get("/tai-khoan/thiet-bi/dang-xuat-khac")
    assert confirm.status_code == 200 and "2 thiết bị khác" in confirm.get_data(as_text=True)
    assert all(opens_profile(app, c, a) for c, a in others)  # the GET changed nothing
    assert me.post("/tai-khoan/thiet-bi/dang-xuat-khac").status_code == 303
    assert not any(opens_profile(app, c, a) for c, a in others)
    assert me.get("/tai-khoan/").status_code == 200


def test_after_logout_the_old_session_and_remember_cookies_each_open_nothing(app, db):
    device = signed_in(app, factories.make_user())
    cookies = dict(device.cookies())
    assert set(cookies) == {"session", "remember_token"}
    for name in cookies:
        assert opens_profile(app, [(name, cookies[name])]), name
    assert device.post("/tai-khoan/dang-xuat").status_code == 303
    for name in cookies:
        assert not opens_profile(app, [(name, cookies[name])]), name


def test_login_page_links_to_forgotten_password(client, db):
    page = client.get("/tai-khoan/dang-nhap").get_data(as_text=True)
    assert "Quên mật khẩu?" in page and "/tai-khoan/quen-mat-khau" in page
    explained = client.get("/tai-khoan/quen-mat-khau").get_data(as_text=True)
    assert "8 ký tự" in explained and "30 phút" in explained


def test_new_pages_render_with_unique_ids(client, db, login_as):
    """The client fixture checks every page it is served for duplicate element ids."""
    hub = factories.make_hub()
    for path in ("/tai-khoan/quen-mat-khau", "/tai-khoan/dat-lai-mat-khau"):
        assert client.get(path).status_code == 200
    login_as("organizer", hub=hub)
    for path in ("/tai-khoan/", "/tai-khoan/thiet-bi/dang-xuat-khac", "/tai-khoan/xoa-tai-khoan",
                 "/tai-khoan/ma-khoi-phuc"):
        assert client.get(path).status_code == 200, path
    student = factories.make_user()
    assert client.post("/tai-khoan/ma-khoi-phuc/cap",
                       data={"phone": student.phone}).status_code == 200
    assert client.post("/tai-khoan/ma-khoi-phuc/cap", data={"phone": "0912"}).status_code == 422


def test_one_phone_registered_eight_times_at_once_makes_one_account(app, db):
    """Registrations racing with one phone: one account, the others are told it exists (on
    PostgreSQL the UNIQUE constraint decides, never a 500)."""
    from app.services import accounts
    from tests.threads import run_together
    results, errors = run_together(app, lambda i: accounts.register(
        f"Học sinh {i}", "0977 000 222", "bi-mat-999").id, 8)
    assert len(results) == 1 and len(errors) == 7, errors[:3]
    assert all(isinstance(e, accounts.AccountError) and e.field == "phone" for e in errors)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
