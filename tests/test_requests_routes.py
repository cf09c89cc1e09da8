"""The student's journey through the test client: basket, checkout, tracking, cancel, waitlist."""
import re
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest
from flask import url_for
from sqlalchemy import func, select

from app.models import Item, ItemRequest, Notification, WaitlistEntry
from app.services import requests as svc
from app.services.phones import display_phone
from tests.factories import (
    DONG_THAP,
    HA_NOI,
    HOAN_KIEM,
    TAN_PHUOC_1,
    TAN_PHUOC_2,
    login_id,
    make_hub,
    make_item,
    make_user,
)
from tests.test_security_matrix import CONFIRMED


def form(**changes) -> dict:
    data = {"recipient_name": "Nguyễn Văn An", "phone": "0912 345 678", "method": "post",
            "province_code": str(HA_NOI), "ward_code": str(HOAN_KIEM), "street": "12 Hàng Bạc",
            "consent": "y", "idempotency_key": uuid4().hex}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def errors_next_to(html: str, name: str) -> list[str]:
    """The error messages inside the form block (div.field or fieldset) holding input `name`."""
    for block in re.split(r'(?=<div class="field|<fieldset)', html):
        if f'name="{name}"' in block:
            return re.findall(r'<p class="error" role="alert">(.*?)</p>', block)
    raise AssertionError(f"no field {name}")


def top_errors(html: str) -> list[str]:
    """The messages above the form (not next to a field)."""
    above = html.split('<main', 1)[1].split('<form method="post" novalidate>', 1)[0]
    return re.findall(r'<p class="error" role="alert">(.*?)</p>', above)


def count_requests() -> int:
    return svc.db.session.scalar(select(func.count()).select_from(ItemRequest))


def available(item) -> int:
    return svc.db.session.scalar(select(Item.available).where(Item.id == item.id))


def in_basket(client, *items):
    for item in items:
        assert client.post(f"/gio/them/{item.id}").status_code == 303


@pytest.fixture
def hub(db):
    return make_hub(pickup_place="Phòng Đoàn, dãy B", wards=(TAN_PHUOC_1,))


# ------------------------------------------------------------------ the whole journey

def test_basket_checkout_by_post_then_tracking(client, login_as, hub, app):
    shoes, hat = make_item(hub), make_item(hub, title="Mũ lưỡi trai", size="")
    resp = client.post(f"/gio/them/{shoes.id}")  # anonymous is fine
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gio")
    in_basket(client, hat)
    page = client.get("/gio").get_data(as_text=True)
    assert "Giày thể thao" in page and "Mũ lưỡi trai" in page and hub.name in page
    assert f'href="/gio/gui/{hub.id}"' in page

    student = login_as("student")
    assert client.get(f"/gio/gui/{hub.id}").status_code == 200  # basket kept across login
    page = client.get(f"/gio/gui/{hub.id}").get_data(as_text=True)
    assert f'value="{display_phone(student.phone)}"' in page and student.name in page
    assert "Phòng Đoàn, dãy B" in page and "Nghị định 13/2023/NĐ-CP" in page
    day = svc.next_pickup_day(hub)
    assert f"{day.day}/{day.month}/{day.year}" in page and "Xã Tân Phước 1" in page
    assert 'hx-get="/dia-chi/phuong-xa"' in page and 'hx-target="#ward_code"' in page
    key = re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]{32})"', page).group(1)

    resp = client.post(f"/gio/gui/{hub.id}", data=form(idempotency_key=key))
    assert resp.status_code == 303
    req = svc.db.session.scalar(select(ItemRequest))
    assert resp.headers["Location"].endswith(f"/yeu-cau/{req.id}")
    assert (available(shoes), available(hat), req.method) == (0, 0, "post")
    with client.session_transaction() as sess:
        assert sess["basket"] == []

    page = client.get(f"/yeu-cau/{req.id}").get_data(as_text=True)
    assert f'<h1 class="code code-big">{req.code}</h1>' in page
    assert re.fullmatch(r"[0-9A-Z]{2}-[0-9A-Z]{4}", req.code)
    assert "Gửi qua bưu điện" in page and "Giày thể thao" in page and "Mũ lưỡi trai" in page
    assert "0912 345 678" in page and "12 Hàng Bạc, Phường Hoàn Kiếm" in page
    assert re.search(r'<li>\s*<strong>Đã gửi yêu cầu</strong> <small', page)
    for pending in ("Đã duyệt", "Đã đóng gói", "Đã gửi bưu điện", "Đã nhận"):
        assert re.search(rf'<li class="pending">\s*<strong>{pending}</strong>', page)
    assert "Hủy yêu cầu" in page
    mine = client.get("/yeu-cau").get_data(as_text=True)
    assert req.code in mine and "Đã gửi yêu cầu" in mine
    [note] = svc.db.session.scalars(select(Notification))
    with app.test_request_context():
        assert note.link == url_for("requests.detail", request_id=req.id)


def test_double_submit_creates_one_request(client, login_as, hub):
    item = make_item(hub, quantity=3)
    login_as("student")
    in_basket(client, item)
    data = form()
    first = client.post(f"/gio/gui/{hub.id}", data=data)
    second = client.post(f"/gio/gui/{hub.id}", data=data)  # the basket is empty by now
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count_requests() == 1 and available(item) == 2


def test_control_characters_and_a_malformed_key_are_not_a_500(client, login_as, hub):
    item = make_item(hub)
    login_as("student")
    in_basket(client, item)
    resp = client.post(f"/gio/gui/{hub.id}", data=form(
        idempotency_key="x/\x00" * 50, recipient_name="An\x00", street="12\x00 Hàng Bạc"))
    assert resp.status_code == 303
    req = svc.db.session.scalar(select(ItemRequest))
    assert (req.idempotency_key, req.recipient_name, req.street) == (None, "An", "12 Hàng Bạc")


def test_pickup_needs_no_address(client, login_as, hub):
    item = make_item(hub)
    login_as("student")
    in_basket(client, item)
    resp = client.post(f"/gio/gui/{hub.id}", data=form(method="pickup", province_code="",
                                                       ward_code="", street=""))
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Nhận tại điểm phát" in page and "Phòng Đoàn, dãy B" in page
    assert "Sẵn sàng để nhận" in page


# ------------------------------------------------------------------ the basket

def test_htmx_add_answers_a_small_fragment(client, hub):
    item = make_item(hub)
    resp = client.post(f"/gio/them/{item.id}", headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "HX-Request" in resp.headers["Vary"]
    html = resp.get_data(as_text=True)
    assert "Đã thêm vào giỏ" in html and "<html" not in html


def test_remove_from_basket_plain_and_htmx(client, hub):
    a, b = make_item(hub, title="Áo khoác"), make_item(hub, title="Balo")
    in_basket(client, a, b)
    resp = client.post(f"/gio/bo/{a.id}", headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert 'id="basket"' in html and "Balo" in html and "Áo khoác" not in html
    assert "<html" not in html
    assert client.post(f"/gio/bo/{b.id}").status_code == 303
    assert "Giỏ của bạn đang trống" in client.get("/gio").get_data(as_text=True)


def test_basket_groups_by_hub_and_shows_what_ran_out(client, hub):
    other = make_hub(name="Đoàn xã Tân Phước 2")
    mine, theirs = make_item(hub, title="Áo"), make_item(other, title="Sách giáo khoa")
    in_basket(client, mine, theirs)
    mine.available = 0
    svc.db.session.commit()
    page = client.get("/gio").get_data(as_text=True)
    assert f'href="/gio/gui/{hub.id}"' in page and f'href="/gio/gui/{other.id}"' in page
    assert "Đã hết" in page and f'href="/do-tang/{mine.id}/cho"' in page


def test_unknown_ids_are_404(client, login_as, hub):
    hidden = make_item(hub)
    hidden.is_listed = False
    svc.db.session.commit()
    assert client.post("/gio/them/9999").status_code == 404
    assert client.post(f"/gio/them/{hidden.id}").status_code == 404
    login_as("student")
    assert client.get("/gio/gui/9999").status_code == 404
    assert client.get("/yeu-cau/9999").status_code == 404
    assert client.post("/yeu-cau/9999/huy").status_code == 404
    assert client.get("/do-tang/9999/cho").status_code == 404
    assert client.post("/do-tang/9999/cho/roi").status_code == 404


def test_checkout_of_a_hub_not_in_the_basket_goes_back_to_the_basket(client, login_as, hub):
    login_as("student")
    resp = client.get(f"/gio/gui/{hub.id}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gio")


# -------------------------------------------------------------- bad input: message, nothing saved

BAD_DELIVERY = [
    ({"province_code": "999"}, "province_code", "Vui lòng chọn tỉnh/thành phố trong danh sách."),
    ({"province_code": "abc"}, "province_code", "Vui lòng chọn tỉnh/thành phố trong danh sách."),
    ({"province_code": str(DONG_THAP)}, "ward_code",
     "Phường/xã không thuộc tỉnh/thành phố đã chọn."),
    ({"ward_code": "123456789"}, "ward_code", "Phường/xã không thuộc tỉnh/thành phố đã chọn."),
    ({"phone": "+1 415 555 0123"}, "phone", "Vui lòng dùng số điện thoại di động Việt Nam."),
    ({"phone": "0912"}, "phone",
     "Số điện thoại di động Việt Nam không hợp lệ (ví dụ: 0912 345 678)."),
    ({"phone": "09abc!"}, "phone", None),
    ({"consent": None}, "consent",
     "Bạn cần đồng ý cho Đoàn dùng số điện thoại và địa chỉ để giao đồ."),
    ({"method": None}, "method", "Vui lòng chọn cách nhận đồ."),
    ({"method": "drone"}, "method", "Vui lòng chọn cách nhận đồ."),
    ({"method": "volunteer", "province_code": str(DONG_THAP), "ward_code": str(TAN_PHUOC_2)},
     "method", "Tình nguyện viên của điểm phát này chưa giao tới Xã Tân Phước 2."),
    ({"street": " "}, "street", "Vui lòng nhập số nhà, đường hoặc thôn/ấp."),
    ({"recipient_name": ""}, "recipient_name", "Vui lòng nhập tên người nhận."),
]


@pytest.mark.parametrize("changes,field,message", BAD_DELIVERY)
def test_bad_delivery_input_is_told_next_to_the_field(client, login_as, hub, changes, field,
                                                      message):
    item = make_item(hub)
    login_as("student")
    in_basket(client, item)
    resp = client.post(f"/gio/gui/{hub.id}", data=form(**changes))
    assert resp.status_code == 422
    errors = errors_next_to(resp.get_data(as_text=True), field)
    assert errors and (message is None or errors[0].startswith(message)), errors
    assert count_requests() == 0 and available(item) == 1


def test_no_javascript_province_change_comes_back_with_its_wards(client, login_as, hub):
    login_as("student")
    in_basket(client, make_item(hub))
    resp = client.post(f"/gio/gui/{hub.id}", data=form(province_code=str(DONG_THAP),
                                                       ward_code=""))
    html = resp.get_data(as_text=True)
    assert errors_next_to(html, "ward_code") == ["Vui lòng chọn phường/xã."]
    assert "Xã Tân Phước 1" in html.split('name="ward_code"', 1)[1]


def _basket(client) -> list[int]:
    with client.session_transaction() as session:
        return session.get("basket", [])


def _flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash flash-error" role="status">(.*?)</p>', html)


def test_an_item_that_sold_out_or_was_unlisted_in_the_basket_is_left_out(client, login_as, hub):
    """It used to fail every checkout at the hub until the student found it and took it out."""
    shoes, hat = make_item(hub, title="Giày bata"), make_item(hub, title="Mũ lưỡi trai")
    bag, other = make_item(hub, title="Ba lô"), make_item(make_hub(), title="Áo mưa")
    login_as("student")
    in_basket(client, shoes, hat, bag, other)
    shoes.available = 0  # requested by someone else meanwhile
    bag.is_listed = False  # taken out of the store by the hub
    svc.db.session.commit()
    resp = client.post(f"/gio/gui/{hub.id}", data=form())
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    req = svc.db.session.scalar(select(ItemRequest))
    assert [line.item_id for line in req.lines] == [hat.id]
    assert (available(hat), available(shoes)) == (0, 0)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert _flashes(page) == ["“Giày bata” vừa hết, đã bỏ khỏi giỏ.",
                              "“Ba lô” đã được gỡ khỏi gian hàng, đã bỏ khỏi giỏ."]
    assert _basket(client) == [other.id]  # another hub's item stays


def test_when_nothing_is_left_it_is_said_and_nothing_is_recorded(client, login_as, hub):
    shoes, bag = make_item(hub, title="Giày bata"), make_item(hub, title="Ba lô")
    login_as("student")
    in_basket(client, shoes, bag)
    shoes.available, bag.is_listed = 0, False
    svc.db.session.commit()
    resp = client.post(f"/gio/gui/{hub.id}", data=form())
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert top_errors(html) == ["“Giày bata” vừa hết, đã bỏ khỏi giỏ.",
                                "“Ba lô” đã được gỡ khỏi gian hàng, đã bỏ khỏi giỏ.",
                                "Không còn món nào để gửi, nên chưa có yêu cầu nào được tạo."]
    assert f'href="/do-tang/{shoes.id}/cho"' in html  # the sold-out one can still be waited for
    assert count_requests() == 0 and _basket(client) == []
    assert client.get(f"/gio/gui/{hub.id}").status_code == 303  # nothing left to send


def test_the_basket_page_says_which_items_were_unlisted(client, hub):
    bag, hat = make_item(hub, title="Ba lô"), make_item(hub, title="Mũ lưỡi trai")
    in_basket(client, bag, hat)
    bag.is_listed = False
    svc.db.session.commit()
    page = client.get("/gio").get_data(as_text=True)
    assert _flashes(page) == ["“Ba lô” đã được gỡ khỏi gian hàng, đã bỏ khỏi giỏ."]
    assert _basket(client) == [hat.id]


def test_weekly_limit_is_told_with_the_date(client, login_as):
    hub = make_hub(weekly_limit=1)
    first, second = make_item(hub, title="Áo"), make_item(hub, title="Quần")
    student = login_as("student")
    svc.submit_request(student.id, hub.id, [first.id], svc.Delivery(
        "pickup", "An", "0912345678", consent=True))
    in_basket(client, second)
    again = svc.refused_until(student.id, hub)
    date_text = f"{again.day}/{again.month}/{again.year}"
    assert date_text in client.get(f"/gio/gui/{hub.id}").get_data(as_text=True)  # warned early
    resp = client.post(f"/gio/gui/{hub.id}", data=form())
    assert resp.status_code == 422
    [message] = top_errors(resp.get_data(as_text=True))
    assert "tối đa 1 món" in message and date_text in message
    assert count_requests() == 1 and available(second) == 1


def test_the_same_item_twice_is_refused(client, login_as, hub):
    item = make_item(hub, quantity=3)
    login_as("student")
    in_basket(client, item)
    assert client.post(f"/gio/gui/{hub.id}", data=form()).status_code == 303
    in_basket(client, item)
    resp = client.post(f"/gio/gui/{hub.id}", data=form())
    assert resp.status_code == 422
    assert "mỗi bạn chỉ nhận 1 món cùng loại" in top_errors(resp.get_data(as_text=True))[0]
    assert count_requests() == 1 and available(item) == 2


def test_missing_csrf_token_is_400_and_saves_nothing(csrf_app, db, hub):
    item = make_item(hub)
    student = make_user()
    client = csrf_app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"], sess["basket"] = login_id(student), True, [item.id]
    assert client.post(f"/gio/them/{item.id}").status_code == 400
    resp = client.post(f"/gio/gui/{hub.id}", data=form())
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    assert count_requests() == 0 and available(item) == 1


# ------------------------------------------------------------------ privacy and cancel

def _request_of(student, hub):
    return svc.submit_request(student.id, hub.id, [make_item(hub).id], svc.Delivery(
        "post", "Nguyễn Văn An", "0912345678", HA_NOI, HOAN_KIEM, "12 Hàng Bạc", True))


def test_another_students_request_is_404(client, login_as, hub):
    req = _request_of(make_user(), hub)
    login_as("student")
    assert client.get(f"/yeu-cau/{req.id}").status_code == 404
    assert client.post(f"/yeu-cau/{req.id}/huy").status_code == 404
    assert req.status == "submitted" and req.code not in client.get("/yeu-cau").get_data(
        as_text=True)


def test_volunteer_of_another_hub_gets_404(client, login_as, hub):
    req = _request_of(make_user(), hub)
    login_as("volunteer", hub=make_hub())
    assert client.get(f"/yeu-cau/{req.id}").status_code == 404


def test_volunteer_of_the_hub_sees_the_phone_and_address_but_cannot_cancel(client, login_as, hub):
    req = _request_of(make_user(), hub)
    login_as("volunteer", hub=hub)
    page = client.get(f"/yeu-cau/{req.id}").get_data(as_text=True)
    assert req.code in page and "0912 345 678" in page and "12 Hàng Bạc" in page
    assert "Hủy yêu cầu" not in page
    assert client.post(f"/yeu-cau/{req.id}/huy").status_code == 404


def test_student_cancels_until_packed(client, login_as, hub):
    student = login_as("student")
    req = _request_of(student, hub)
    item_id = req.lines[0].item_id
    resp = client.post(f"/yeu-cau/{req.id}/huy", data=CONFIRMED)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/yeu-cau/{req.id}")
    page = client.get(f"/yeu-cau/{req.id}").get_data(as_text=True)
    assert "Đã hủy yêu cầu" in page and "Hủy yêu cầu</button>" not in page
    assert svc.db.session.get(Item, item_id).available == 1

    packed = _request_of(student, hub)
    volunteer = make_user(roles=("volunteer",), hub=hub)
    svc.change_status(volunteer.id, packed.id, "approved")
    svc.change_status(volunteer.id, packed.id, "packed")
    page = client.get(f"/yeu-cau/{packed.id}").get_data(as_text=True)
    assert "Hủy yêu cầu</button>" not in page
    resp = client.post(f"/yeu-cau/{packed.id}/huy", data=CONFIRMED, follow_redirects=True)
    assert "không thể hủy nữa" in resp.get_data(as_text=True)
    assert svc.db.session.get(ItemRequest, packed.id).status == "packed"


def test_login_redirect_for_htmx_is_an_hx_redirect(client, hub):
    resp = client.get(f"/gio/gui/{hub.id}", headers={
        "HX-Request": "true", "HX-Current-URL": "http://localhost/gio"})
    assert resp.status_code == 401 and not resp.get_data()
    assert resp.headers["HX-Redirect"] == "/tai-khoan/dang-nhap?next=%2Fgio"
    plain = client.get(f"/gio/gui/{hub.id}")
    assert plain.status_code == 302 and "/tai-khoan/dang-nhap?next=" in plain.headers["Location"]


# ------------------------------------------------------------------ waitlist

def test_waitlist_join_shows_the_position_and_leave(client, login_as, hub):
    item = make_item(hub, title="Cặp sách", available=0)
    svc.join_waitlist(make_user().id, item.id, svc.Delivery("post", "Bình", "0987654321",
                                                            HA_NOI, HOAN_KIEM, "1 Tràng Tiền",
                                                            True))
    login_as("student")
    page = client.get(f"/do-tang/{item.id}/cho").get_data(as_text=True)
    assert "Cặp sách" in page and 'name="consent"' in page and 'name="idempotency_key"' in page
    resp = client.post(f"/do-tang/{item.id}/cho", data=form(consent=None))
    assert resp.status_code == 422
    assert errors_next_to(resp.get_data(as_text=True), "consent")
    assert svc.db.session.scalar(select(func.count()).select_from(WaitlistEntry)) == 1

    resp = client.post(f"/do-tang/{item.id}/cho", data=form())
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "vị trí số 2" in page and "Rời danh sách chờ" in page

    resp = client.post(f"/do-tang/{item.id}/cho/roi", follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "Bạn đã rời danh sách chờ." in page and "vị trí số" not in page


def test_waitlist_for_an_item_still_in_stock_offers_the_basket(client, login_as, hub):
    item = make_item(hub)
    login_as("student")
    page = client.get(f"/do-tang/{item.id}/cho").get_data(as_text=True)
    assert "vẫn còn" in page and f'action="/gio/them/{item.id}"' in page


def test_waitlisted_student_gets_the_unit_when_someone_cancels(client, login_as, hub):
    item = make_item(hub, available=0)
    holder = make_user()
    waiter = login_as("student")
    assert client.post(f"/do-tang/{item.id}/cho", data=form()).status_code == 303
    item.available = 1
    svc.db.session.commit()
    held = svc.submit_request(holder.id, hub.id, [item.id], svc.Delivery(
        "pickup", "Chi", "0912345678", consent=True))
    svc.cancel_request(holder.id, held.id)
    [given] = svc.list_for_user(waiter.id)
    assert given.code in client.get("/yeu-cau").get_data(as_text=True)
    assert given.code in client.get("/thong-bao/").get_data(as_text=True)


# ------------------------------------------------------------------ rate limit

RATE_WORKER = """
import sys
from app import create_app
from app.extensions import db
from tests import factories
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "SERVER_NAME": "localhost",
                  "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                  "REQUEST_RATE_LIMIT": "2 per minute", "WTF_CSRF_ENABLED": False})
with app.app_context():
    db.create_all()
    hub = factories.make_hub()
    codes = []
    for user in (factories.make_user(), factories.make_user()):
        client = app.test_client()
        client.post("/tai-khoan/dang-nhap", data={"phone": user.phone,
                                                  "password": factories.PASSWORD})
        codes.append([client.post(f"/gio/gui/{hub.id}", data={}).status_code for _ in range(3)])
    print(codes)
"""


def test_request_creation_is_rate_limited_per_user(tmp_path):
    out = subprocess.run([sys.executable, "-c", RATE_WORKER, f"sqlite:///{tmp_path / 'r.db'}"],
                         capture_output=True, text=True, timeout=120, check=False,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[[422, 422, 429], [422, 422, 429]]"


# ------------------------------------------------------------------ a real phone browser

def test_phone_browser_journey_with_the_htmx_ward_picker(database_url, db, tmp_path):
    """Login, add, remove with htmx, checkout choosing the ward from the htmx list, track."""
    from tests.browser import live_server, phone_browser, require_chromium
    from tests.factories import PASSWORD
    require_chromium()
    hub = make_hub(pickup_place="Phòng Đoàn, dãy B")
    keep, drop = make_item(hub, title="Áo đồng phục"), make_item(hub, title="Nón lá")
    student = make_user()
    with live_server(database_url, str(tmp_path)) as (base, _), phone_browser() as page:
        page.goto(f"{base}/tai-khoan/dang-nhap")
        page.fill("#phone", display_phone(student.phone))
        page.fill("#password", PASSWORD)
        page.click("form button.primary")
        for item in (keep, drop):  # an in-stock item's waitlist page offers the basket
            page.goto(f"{base}/do-tang/{item.id}/cho")
            page.click("form button.primary")
        page.wait_for_url(f"{base}/gio")
        page.locator(f'form[action="/gio/bo/{drop.id}"] button').click()  # htmx swap
        page.wait_for_selector("text=Nón lá", state="detached")
        assert page.url == f"{base}/gio"
        page.click(f'a[href="/gio/gui/{hub.id}"]')
        page.select_option("#province_code", str(DONG_THAP))
        page.wait_for_selector(f'#ward_code option[value="{TAN_PHUOC_1}"]', state="attached")
        page.select_option("#ward_code", str(TAN_PHUOC_1))
        page.fill("#street", "Ấp Tân Hòa")
        page.check('input[name="method"][value="volunteer"]')
        page.check("#consent")
        page.screenshot(path=str(tmp_path / "checkout.png"), full_page=True)
        page.click("form button.primary >> text=Gửi yêu cầu")
        page.wait_for_selector(".code-big")
        svc.db.session.rollback()  # end the test's read snapshot (SQLite WAL) to see the request
        req = svc.db.session.scalar(select(ItemRequest))
        assert page.inner_text(".code-big") == req.code
        assert (req.method, req.ward_code) == ("volunteer", TAN_PHUOC_1)
        assert "Tình nguyện viên giao vào ngày phát tới" in page.inner_text("main")
        assert [ln.item_id for ln in req.lines] == [keep.id]
        page.screenshot(path=str(tmp_path / "tracking.png"), full_page=True)


# -------------------------------------------------------------- what the chosen method needs

def test_pickup_asks_no_address_even_with_a_province_half_chosen(client, login_as, hub):
    login_as("student")
    in_basket(client, make_item(hub))
    resp = client.post(f"/gio/gui/{hub.id}", data=form(method="pickup", province_code="",
                                                       ward_code=str(TAN_PHUOC_1), street=""))
    assert resp.status_code == 303
    in_basket(client, make_item(hub, title="Vở"))
    html = client.post(f"/gio/gui/{hub.id}", data=form(method="pickup", consent=None,
                                                       province_code=str(DONG_THAP),
                                                       ward_code="")).get_data(as_text=True)
    assert "Vui lòng chọn tỉnh/thành phố" not in html and "Vui lòng chọn phường/xã" not in html
    assert errors_next_to(html, "consent")


def test_the_checkout_summary_links_each_message_to_its_field(client, login_as, hub):
    from tests.test_error_summary import summary_of
    login_as("student")
    in_basket(client, make_item(hub))
    resp = client.post(f"/gio/gui/{hub.id}", data=form(phone="0912", street="", consent=None))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert summary_of(html) == [
        ("street", "Vui lòng nhập số nhà, đường hoặc thôn/ấp."),
        ("phone", "Số điện thoại di động Việt Nam không hợp lệ (ví dụ: 0912 345 678)."),
        ("consent", "Bạn cần đồng ý cho Đoàn dùng số điện thoại và địa chỉ để giao đồ."),
    ]
    assert "js/error-summary.js" in html


def test_the_last_address_is_offered_again_and_the_ward_decides_the_volunteer(client, login_as,
                                                                              hub):
    student = login_as("student")
    in_basket(client, make_item(hub))
    html = client.get(f"/gio/gui/{hub.id}").get_data(as_text=True)
    assert "Địa chỉ lần trước" not in html
    assert client.post(f"/gio/gui/{hub.id}", data=form(
        recipient_name="Mẹ của An", street="Ấp 3, đường 12")).status_code == 303
    in_basket(client, make_item(hub, title="Vở"))
    html = client.get(f"/gio/gui/{hub.id}").get_data(as_text=True)
    assert "Địa chỉ lần trước của bạn đã được điền sẵn" in html
    assert 'value="Ấp 3, đường 12"' in html and 'value="Mẹ của An"' in html
    assert re.search(rf'<option selected value="{HOAN_KIEM}">', html)
    # Hoàn Kiếm is not one of the hub's wards: volunteers are not offered, and it says why
    assert re.search(r'<input disabled id="method-1"[^>]*value="volunteer"', html)
    assert "chưa giao tới Phường Hoàn Kiếm" in html
    assert student.id


# -------------------------------------------------------------- the week's allowance

def test_the_weeks_allowance_is_shown_before_checkout_and_adding_stops_at_the_limit(client,
                                                                                   login_as):
    hub = make_hub(weekly_limit=2)
    first, second, third = (make_item(hub, title=t) for t in ("Áo", "Quần", "Mũ"))
    html = client.get(f"/do-tang/{second.id}").get_data(as_text=True)
    assert "Tuần này bạn" not in html  # a visitor: nothing to count
    student = login_as("student")
    assert "Tuần này bạn" not in client.get(f"/do-tang/{second.id}").get_data(as_text=True)
    svc.submit_request(student.id, hub.id, [first.id], svc.Delivery(
        "pickup", "An", "0912345678", consent=True))
    left = "Tuần này bạn còn 1 món ở điểm phát này."
    html = client.get(f"/do-tang/{second.id}").get_data(as_text=True)
    assert left in html and re.search(r'<button class="btn primary">Thêm vào giỏ', html)
    in_basket(client, second)
    assert left in client.get("/gio").get_data(as_text=True)
    assert left in client.get(f"/gio/gui/{hub.id}").get_data(as_text=True)
    assert client.post(f"/gio/gui/{hub.id}", data=form(method="pickup")).status_code == 303

    again = svc.weekly_allowance(student.id, hub).again_on
    date_text = f"{again.day}/{again.month}/{again.year}"
    html = client.get(f"/do-tang/{third.id}").get_data(as_text=True)
    assert "Tuần này bạn đã nhận đủ 2 món ở điểm phát này." in html and date_text in html
    assert re.search(r'<button class="btn primary" disabled>Thêm vào giỏ', html)
    in_basket(client, third)  # (a basket may still hold it: the checkout link is not offered)
    html = client.get("/gio").get_data(as_text=True)
    assert date_text in html and f"/gio/gui/{hub.id}" not in html
