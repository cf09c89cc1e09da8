"""Cross-cutting behaviour: health, headers, error pages, rate limits shared through Redis."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app import create_app
from app.services import geo
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


def test_security_headers_and_strict_csp(client):
    resp = client.get("/healthz")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in resp.headers
    https = client.get("/healthz", base_url="https://localhost")
    assert "max-age" in https.headers["Strict-Transport-Security"]


def test_unknown_page_is_a_vietnamese_404(client):
    resp = client.get("/khong-co-trang-nay")
    assert resp.status_code == 404
    assert "Không tìm thấy" in resp.get_data(as_text=True)


def test_oversized_body_is_a_413_page(app, client):
    resp = client.post("/tai-khoan/dang-nhap",
                       data={"phone": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert resp.status_code == 413
    assert "quá lớn" in resp.get_data(as_text=True)


def test_ward_options_follow_the_province(client):
    dong_thap = geo.find_province("Đồng Tháp")
    html = client.get(f"/dia-chi/phuong-xa?province_code={dong_thap}").get_data(as_text=True)
    assert "Xã Tân Phước 1" in html and "Phường Hoàn Kiếm" not in html
    assert client.get("/dia-chi/phuong-xa?province_code=999").get_data(as_text=True).count(
        "<option") == 1


def test_old_tien_giang_commune_now_belongs_to_dong_thap():
    ward = geo.find_ward("Xã Tân Phước 1")
    assert geo.ward_in_province(ward, geo.find_province("Đồng Tháp"))
    assert not geo.ward_in_province(ward, geo.find_province("Hà Nội"))
    assert len(geo.provinces()) == 34


def test_provinces_are_listed_as_people_look_for_them():
    """"Cần Thơ" under C, not among the "Thành phố ..." (issue #14)."""
    names = [name for _code, name in geo.provinces()]
    assert names.index("Cà Mau") < names.index("Thành phố Cần Thơ") < names.index("Cao Bằng")
    assert names.index("Thành phố Hà Nội") < names.index("Hà Tĩnh") < names.index("Hưng Yên")
    assert names.index("Đắk Lắk") < names.index("Đồng Tháp")


WORKER = """
import sys
from app import create_app
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": sys.argv[2],
                  "RATELIMIT_KEY_PREFIX": sys.argv[3],
                  "LOGIN_RATE_LIMIT": "3 per minute", "WTF_CSRF_ENABLED": False})
client = app.test_client()
print(" ".join(str(client.post("/tai-khoan/dang-nhap",
                                data={"phone": "0912345678", "password": "x"}).status_code)
               for _ in range(2)))
"""


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL not set")
def test_login_rate_limit_is_shared_by_two_worker_processes_through_redis(database_url, app):
    """Two worker processes share one counter in Redis: 3 logins a minute in all, not each."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    args = [database_url, os.environ["TEST_REDIS_URL"], prefix]
    first, second = (subprocess.run([sys.executable, "-c", WORKER, *args], capture_output=True,
                                    text=True, check=True, timeout=60).stdout.split()
                     for _ in range(2))
    assert first == ["422", "422"]
    assert second == ["422", "429"]


# ---------------------------------------------------------------- every page, cookies, sessions

def _strict_headers(resp) -> list[str]:
    csp = resp.headers.get("Content-Security-Policy", "")
    wrong = [] if "script-src 'self'" in csp and "frame-ancestors 'none'" in csp else ["CSP"]
    wrong += ["unsafe CSP"] if "unsafe-inline" in csp or "unsafe-eval" in csp else []
    wrong += [] if resp.headers.get("X-Content-Type-Options") == "nosniff" else ["nosniff"]
    wrong += [] if resp.headers.get("Referrer-Policy") else ["Referrer-Policy"]
    return wrong


def test_every_get_page_of_the_matrix_has_the_security_headers(app):
    """Each GET route of the authorization matrix, as a role allowed there and as a visitor."""
    from tests.test_security_matrix import (
        MATRIX,
        ROLES,
        Roles,
        build_world,
        clean,
        request_as,
    )
    world = build_world(app)
    try:
        roles, wrong, pages = Roles(app, world), [], 0
        for endpoint, rule in MATRIX.items():
            if "GET" not in next(app.url_map.iter_rules(endpoint)).methods:
                continue
            allowed = next((r for r in ROLES if r in rule.who.own), "anonymous")
            for role in {allowed, "anonymous"}:
                resp = request_as(app, roles, role, endpoint, world.a, "GET")
                wrong += [f"{endpoint} as {role}: {w}" for w in _strict_headers(resp)]
                pages += resp.status_code == 200
        assert not wrong, wrong
        assert pages > 50
    finally:
        clean(app)


def _login_cookies(application, phone: str) -> dict[str, str]:
    resp = application.test_client().post("/tai-khoan/dang-nhap", data={
        "phone": phone, "password": factories.PASSWORD})
    assert resp.status_code == 303
    return {h.split("=", 1)[0]: h for h in resp.headers.getlist("Set-Cookie")}


def test_session_and_remember_cookies_are_httponly_lax_and_secure_in_production(
        app, db, database_url, monkeypatch):
    user = factories.make_user()
    monkeypatch.setenv("APP_ENV", "production")
    production = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                             "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost"})
    for application, secure in ((app, False), (production, True)):
        cookies = _login_cookies(application, user.phone)
        for name in ("session", "remember_token"):
            flags = cookies[name].split("; ")
            assert "HttpOnly" in flags and "SameSite=Lax" in flags, (name, flags)
            assert ("Secure" in flags) is secure, (name, flags)


def test_login_renews_the_session(client, db):
    """No session fixation: what was in the session before login is gone but the basket and the
    language; the cookie changes."""
    user = factories.make_user()
    client.get("/tai-khoan/dang-nhap")
    with client.session_transaction() as sess:
        sess["planted"] = "set by an attacker before the login"
        sess["_user_id"] = "999999"
        sess["basket"], sess["lang"] = [7], "vi"
    before = client.get_cookie("session").value
    assert client.post("/tai-khoan/dang-nhap", data={
        "phone": user.phone, "password": factories.PASSWORD}).status_code == 303
    assert client.get_cookie("session").value != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"].startswith(f"{user.id}:")
        assert (sess["basket"], sess["lang"]) == ([7], "vi")


LIMITS = """
import sys
from app import create_app
from app.extensions import db
from tests import factories
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                  "WTF_CSRF_ENABLED": False,
                  "LOGIN_RATE_LIMIT": "2 per minute", "REGISTER_RATE_LIMIT": "2 per minute",
                  "REQUEST_RATE_LIMIT": "2 per minute", "DONATION_RATE_LIMIT": "1 per minute"})
with app.app_context():
    db.create_all()
    hub = factories.make_hub()
    hub_id, item_id, phone = hub.id, factories.make_item(hub).id, factories.make_user().phone
client = app.test_client()

def codes(n, path, addr="10.0.0.9", **kw):
    return [client.post(path, environ_base={"REMOTE_ADDR": addr}, **kw).status_code
            for _ in range(n)]

print("login", *codes(3, "/tai-khoan/dang-nhap", "10.0.0.1", data={"phone": "0912345678"}))
print("register", *codes(3, "/tai-khoan/dang-ky", "10.0.0.2"))
print("donation", *codes(2, "/tang-do", "10.0.0.3"))
codes(1, "/tai-khoan/dang-nhap", data={"phone": phone, "password": factories.PASSWORD})
print("request", *codes(2, f"/gio/gui/{hub_id}"), *codes(1, f"/do-tang/{item_id}/cho"))
print("webhook", client.post("/webhooks/bank", data=b"{}").headers["X-RateLimit-Limit"])
"""


def test_login_registration_request_and_webhook_are_rate_limited(tmp_path):
    """Each has its limit (here lowered through the configuration); creating a request or joining
    a waitlist share one budget; the webhook's limit is announced in its headers."""
    out = subprocess.run([sys.executable, "-c", LIMITS, f"sqlite:///{tmp_path / 'limits.db'}"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:5] == [
        "login 422 422 429", "register 422 422 429", "donation 422 429",
        "request 422 422 429", "webhook 600"]
