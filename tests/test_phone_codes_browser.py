"""One-time codes in a real phone-sized Chromium, the codes read from what the fake eSMS server
received: registration with the phone's code, then "Quên mật khẩu?" → "Gửi mã qua SMS"."""
import re
import time

from sqlalchemy import select

from app.models import User
from tests.browser import live_server, phone_browser, require_chromium
from tests.fake_gateways import FakeEsms


def test_register_with_the_sms_code_then_reset_the_password_by_sms(database_url, db, tmp_path):
    require_chromium()
    gateway = FakeEsms()
    console_errors = []

    def code(n):
        """The code of the n-th SMS the gateway got (sent just after the page's answer; on a
        loaded machine that can take seconds)."""
        deadline = time.monotonic() + 30
        while len(gateway.requests) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        [found] = re.findall(r"\b(\d{6})\b", gateway.requests[n - 1]["body"]["Content"])
        return found

    try:
        with live_server(database_url, str(tmp_path)) as (base, app), phone_browser() as page:
            app.config.update(PHONE_CODES=True, MESSAGE_PROVIDER="esms", ESMS_URL=gateway.url,
                              ESMS_API_KEY="k", ESMS_SECRET_KEY="s", ESMS_BRANDNAME="GH0D")
            page.on("console", lambda m: m.type == "error" and "422" not in m.text
                    and console_errors.append(m.text))
            page.goto(f"{base}/tai-khoan/dang-ky")
            page.fill("#name", "Lê Thị Hoa")
            page.fill("#phone", "0933 111 222")
            page.fill("#password", "hoa-mat-khau-1")
            page.fill("#confirm", "hoa-mat-khau-1")
            page.click("form button.primary")
            page.wait_for_url(f"{base}/tai-khoan/dang-ky/xac-minh")
            assert "Nhập mã 6 số gửi tới 0933 111 222" in page.inner_text("h1")
            page.fill("#code", "000000" if code(1) != "000000" else "111111")
            page.click("form button.primary")
            assert "Mã không đúng. Bạn còn 4 lần thử." in page.inner_text("main")
            assert page.title().startswith("Lỗi:")
            page.fill("#code", code(1))
            page.click("form button.primary")
            page.wait_for_url(f"{base}/do-tang")
            page.screenshot(path=str(tmp_path / "registered.png"), full_page=True)
            db.session.rollback()
            assert db.session.scalar(select(User.name).where(User.phone == "+84933111222")) \
                == "Lê Thị Hoa"
            # a forgotten password, by SMS
            page.context.clear_cookies()  # signed out
            page.goto(f"{base}/tai-khoan/dang-nhap")
            page.click("text=Quên mật khẩu?")
            page.fill("#phone", "0933111222")
            page.click("button:has-text('Gửi mã qua SMS')")
            page.wait_for_url(f"{base}/tai-khoan/dat-lai-mat-khau")
            assert page.input_value("#phone") == "0933 111 222"
            reset_code = code(2)
            assert "ma dat lai mat khau" in gateway.requests[1]["body"]["Content"]
            page.fill("#code", reset_code)
            page.fill("#password", "hoa-mat-khau-2")
            page.fill("#confirm", "hoa-mat-khau-2")
            page.click("form button.primary")
            page.wait_for_url(f"{base}/tai-khoan/")
            db.session.rollback()
            user = db.session.scalar(select(User).where(User.phone == "+84933111222"))
            assert user.check_password("hoa-mat-khau-2")
    finally:
        gateway.close()
    assert console_errors == []
