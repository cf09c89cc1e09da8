"""A union runs the store from phones only (issue #11), in real phone-sized Chromium pages, on the
demo data: the province organizer creates a school below a commune union, sets its wards and
contact and invites a volunteer by link; the volunteer registers, accepts, lists and edits an
item; a student requests it, forgets the password and gets back in with the hub's reset code,
then downloads and deletes their data."""
import json
import re

from sqlalchemy import select

from app.models import Hub, Item, ItemRequest, User, UserRole
from app.seed import DEMO_PASSWORD, seed_demo
from app.services import geo
from tests.browser import live_server, phones, require_chromium
from tests.factories import DONG_THAP, TAN_PHUOC_1, TAN_PHUOC_2

SCHOOL = "Đoàn trường THCS Tân Phước"


def link(page, name):
    page.locator("main").get_by_role("link", name=name).first.click()
    page.wait_for_load_state()


def button(page, name):
    page.locator("main").get_by_role("button", name=name).first.click()
    page.wait_for_load_state()


def sign_in(page, base, phone, password):
    page.goto(f"{base}/tai-khoan/dang-nhap")
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("main form button.primary")
    page.wait_for_load_state()


def test_a_union_onboards_a_school_and_its_people_from_phones(database_url, db, tmp_path):
    require_chromium()
    errors = []
    with live_server(database_url, str(tmp_path)) as (base, live_app), phones() as new_phone:
        with live_app.app_context():
            seed_demo()
        organizer, volunteer, student = new_phone(), new_phone(), new_phone()
        for page in (organizer, volunteer, student):
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))

        # The province organizer: a new school below the commune union.
        sign_in(organizer, base, "0901 000 008", DEMO_PASSWORD)
        organizer.goto(f"{base}/quan-ly/don-vi")
        link(organizer, "Đoàn xã Tân Phước 1")
        link(organizer, "+ Đơn vị trực thuộc")
        organizer.fill("#name", SCHOOL)
        organizer.select_option("#level", "base")
        organizer.select_option("#ward_code", str(TAN_PHUOC_1))
        organizer.fill("#pickup_place", "Phòng Đội, trường THCS Tân Phước")
        organizer.fill("#pickup_hours", "Thứ Hai–Thứ Sáu 16:30–17:30")
        organizer.fill("#contact_phone", "0912 345 678")
        button(organizer, "Tạo đơn vị")
        organizer.wait_for_selector(f"main h1:text('{SCHOOL}')")
        assert f"Đã tạo {SCHOOL}." in organizer.inner_text("main")
        school_url = organizer.url
        # its wards (the picker) and the rest of its contact
        link(organizer, "Chọn phường/xã giao hàng")
        organizer.check(f"input[name=wards][value='{TAN_PHUOC_1}']")
        organizer.check(f"input[name=wards][value='{TAN_PHUOC_2}']")
        button(organizer, "Lưu")
        organizer.wait_for_url(school_url)
        link(organizer, "Sửa cài đặt")
        organizer.fill("#zalo_phone", "0912345678")
        organizer.fill("#map_url", "https://www.openstreetmap.org/search?query=THCS%20Tan%20Phuoc")
        button(organizer, "Lưu")
        organizer.wait_for_url(school_url)
        unit = organizer.inner_text("main")
        for ward in (TAN_PHUOC_1, TAN_PHUOC_2):
            assert geo.ward_name(ward) in unit
        assert organizer.get_attribute("main a[href^='tel:']", "href") == "tel:+84912345678"
        assert organizer.get_attribute("main a[href^='https://zalo.me/']", "href") == \
            "https://zalo.me/0912345678"
        # a volunteer invited by a one-time link, shown as a QR code
        link(organizer, "Người phụ trách")
        button(organizer, "Tạo lời mời")
        organizer.wait_for_selector("main figure.qr svg")
        invite_url = organizer.input_value("#invite-link")
        assert re.fullmatch(rf"{base}/loi-moi/[A-Za-z0-9_-]+", invite_url)

        # The volunteer: registers through the link, accepts, lists and edits an item.
        volunteer.goto(invite_url)
        assert f"{SCHOOL} mời bạn làm Tình nguyện viên" in volunteer.inner_text("main")
        link(volunteer, "Tạo tài khoản")
        volunteer.fill("#name", "Lý Thanh Tâm")
        volunteer.fill("#phone", "0933 111 222")
        volunteer.fill("#password", "tinh-nguyen-1")
        volunteer.fill("#confirm", "tinh-nguyen-1")
        volunteer.click("main form button.primary")
        volunteer.wait_for_url(invite_url)
        button(volunteer, "Nhận lời mời")
        volunteer.wait_for_url(f"{base}/quan-ly/mon-do")
        assert f"Bạn đã là Tình nguyện viên của {SCHOOL}." in volunteer.inner_text("main")
        link(volunteer, "Đăng món mới")
        volunteer.fill("#title", "Áo khoác đồng phục")
        volunteer.select_option("#category", "quan-ao")
        volunteer.fill("#size", "M")
        volunteer.fill("#quantity", "2")
        volunteer.fill("#description", "Áo khoác gió, còn mới.")
        button(volunteer, "Đăng món")
        volunteer.wait_for_url(re.compile(r".*/do-tang/\d+$"))
        item_url = volunteer.url
        link(volunteer, "Sửa")
        volunteer.fill("#title", "Áo khoác đồng phục THCS")
        button(volunteer, "Lưu thay đổi")
        volunteer.wait_for_url(item_url)
        assert "Áo khoác đồng phục THCS" in volunteer.inner_text("main h1")

        # The student: registers, finds the item by its new title and asks for it.
        student.goto(f"{base}/tai-khoan/dang-ky")
        student.fill("#name", "Huỳnh Thị Lan")
        student.fill("#phone", "0938 123 456")
        student.fill("#password", "lan-mat-khau-1")
        student.fill("#confirm", "lan-mat-khau-1")
        student.click("main form button.primary")
        student.wait_for_url(f"{base}/do-tang")
        student.fill('input[name="q"]', "ao khoac thcs")
        link(student, "Áo khoác đồng phục THCS")
        student.wait_for_url(item_url)
        assert "Gọi 0912 345 678" in student.inner_text("main")  # the hub's contact
        button(student, "Thêm vào giỏ")
        student.wait_for_url(f"{base}/gio")
        student.click("main a.btn.primary:text('Gửi yêu cầu')")
        student.check('input[name="method"][value="pickup"]')
        student.check("#consent")
        student.click("main form button.primary")
        student.wait_for_selector(".timeline")
        assert "Gọi 0912 345 678" in student.inner_text("main")
        code = student.inner_text("main .code").strip()

        # Forgotten password: the student asks the hub, the volunteer issues a code.
        student.click(".site-menu > summary")  # the phone's menu
        student.click("header button:text('Đăng xuất')")
        student.goto(f"{base}/tai-khoan/dang-nhap")
        link(student, "Quên mật khẩu?")
        assert SCHOOL in student.inner_text("main")
        volunteer.goto(f"{base}/tai-khoan/ma-khoi-phuc")
        volunteer.fill("#phone", "0938123456")
        button(volunteer, "Cấp mã")
        reset_code = volunteer.inner_text("main .code-big").replace(" ", "")
        assert re.fullmatch(r"[2-9A-Z]{8}", reset_code)
        link(student, "Tôi đã có mã: đặt lại mật khẩu")
        student.fill("#phone", "0938 123 456")
        student.fill("#code", reset_code)
        student.fill("#password", "lan-mat-khau-2")
        student.fill("#confirm", "lan-mat-khau-2")
        button(student, "Đặt mật khẩu mới")
        student.wait_for_load_state()
        student.goto(f"{base}/tai-khoan/")
        assert "Huỳnh Thị Lan" in student.inner_text("main h1")

        # Their data: downloaded, then the account deleted (asked first, with the password).
        with student.expect_download() as download:
            link(student, "Tải toàn bộ dữ liệu (JSON)")
        data = json.loads(open(download.value.path(), encoding="utf-8").read())
        assert code in json.dumps(data, ensure_ascii=False)
        link(student, "Xóa tài khoản")
        student.fill("#password", "lan-mat-khau-2")
        button(student, "Xóa vĩnh viễn tài khoản của tôi")
        student.wait_for_url(f"{base}/do-tang")
        assert "đã được xóa" in student.inner_text("main")
        for page, name in ((organizer, "organizer"), (volunteer, "volunteer"),
                           (student, "student")):
            page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)

    db.session.rollback()
    school = db.session.scalar(select(Hub).where(Hub.name == SCHOOL))
    assert school.province_code == DONG_THAP and school.contact_phone == "+84912345678"
    assert set(school.delivery_ward_codes) == {TAN_PHUOC_1, TAN_PHUOC_2}
    assert db.session.scalar(select(Hub.name).where(Hub.id == school.parent_id)) == \
        "Đoàn xã Tân Phước 1"
    tam = db.session.scalar(select(User).where(User.phone == "+84933111222"))
    assert db.session.scalar(select(UserRole.role).where(
        UserRole.user_id == tam.id, UserRole.hub_id == school.id)) == "volunteer"
    item = db.session.scalar(select(Item).where(Item.hub_id == school.id))
    assert item.title == "Áo khoác đồng phục THCS" and item.available == item.quantity == 2
    request = db.session.scalar(select(ItemRequest).where(ItemRequest.code == code))
    assert request.status == "cancelled"  # open when the account went: stock back
    gone = db.session.get(User, request.user_id) if request.user_id else None
    assert gone is None or gone.deleted_at is not None
    assert db.session.scalar(select(User).where(User.phone == "+84938123456")) is None
    assert errors == []
