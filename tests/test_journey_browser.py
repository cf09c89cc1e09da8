"""The student's journey in a real phone-sized Chromium:
register → search "giay" → request by post → see the tracking timeline."""
from sqlalchemy import select

from app.models import Item, ItemRequest, User
from tests.browser import live_server, phone_browser, require_chromium
from tests.factories import DONG_THAP, HA_NOI, HOAN_KIEM, make_hub, make_item


def test_register_search_request_by_post_and_track(database_url, db, tmp_path):
    require_chromium()
    hub = make_hub(name="Đoàn trường THPT Nguyễn Văn Tiếp", province_code=DONG_THAP)
    shoes = make_item(hub, title="Giày bata trắng", category="giay-dep", size="39")
    make_item(hub, title="Vở kẻ ngang 96 trang", category="sach-vo", size="")
    console_errors = []
    with live_server(database_url, str(tmp_path)) as (base, _), phone_browser() as page:
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        # register
        page.goto(f"{base}/tai-khoan/dang-ky")
        page.fill("#name", "Huỳnh Thị Lan")
        page.fill("#phone", "0938 123 456")
        page.fill("#password", "lan-mat-khau-1")
        page.fill("#confirm", "lan-mat-khau-1")
        page.click("form button.primary")
        page.wait_for_url(f"{base}/do-tang")
        # search "giay" without diacritics: live results swap in with htmx
        page.fill('input[name="q"]', "giay")
        page.wait_for_function("() => !document.body.innerText.includes('Vở kẻ ngang')")
        assert "q=giay" in page.url
        page.click("text=Giày bata trắng")
        page.wait_for_url(f"{base}/do-tang/{shoes.id}")
        # request it by post to Hà Nội (outside the hub's wards: only pickup or post)
        page.click("form button.primary")
        page.wait_for_url(f"{base}/gio")
        page.click(f'a[href="/gio/gui/{hub.id}"]')
        assert page.input_value("#phone").replace(" ", "") == "0938123456"  # prefilled
        page.check('input[name="method"][value="post"]')
        page.select_option("#province_code", str(HA_NOI))
        page.wait_for_selector(f'#ward_code option[value="{HOAN_KIEM}"]', state="attached")
        page.select_option("#ward_code", str(HOAN_KIEM))
        page.fill("#street", "Số 5 phố Hàng Bài")
        page.check("#consent")
        page.click("form button.primary >> text=Gửi yêu cầu")
        # tracking: code and timeline
        page.wait_for_selector(".timeline")
        page.screenshot(path=str(tmp_path / "tracking.png"), full_page=True)
        db.session.rollback()  # end the test's own read snapshot before looking
        req = db.session.scalar(select(ItemRequest))
        student = db.session.scalar(select(User).where(User.phone == "+84938123456"))
        assert req.user_id == student.id and req.method == "post" and req.ward_code == HOAN_KIEM
        body = page.inner_text("main")
        assert req.code in body
        assert "Đã gửi yêu cầu" in body and "Đã gửi bưu điện" in body  # done + still to come
        assert db.session.get(Item, shoes.id).available == 0
    assert console_errors == []  # no CSP violations or script errors on the way
