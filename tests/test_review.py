"""The hub's desk: the queue of new requests (filters, approve one or many, reject with a reason),
who may see it, and the delivery days volunteers sign up for."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import (
    Item,
    ItemRequest,
    Notification,
    RequestEvent,
    VolunteerSignup,
    WaitlistEntry,
)
from app.services import requests as reqs
from app.services import review as svc
from app.services.formatting import local_today
from tests.factories import (
    DONG_THAP,
    HA_NOI,
    HOAN_KIEM,
    TAN_PHUOC_1,
    make_hub,
    make_item,
    make_user,
)
from tests.test_security_matrix import CONFIRMED
from tests.threads import run_together

HTMX = {"HX-Request": "true"}


def delivery(method="post", **changes) -> reqs.Delivery:
    data = {"method": method, "recipient_name": "Nguyễn Thị Hoa", "phone": "0912 345 678",
            "province_code": HA_NOI, "ward_code": HOAN_KIEM, "street": "12 Hàng Bạc",
            "consent": True}
    return reqs.Delivery(**(data | changes))


def request_for(hub, title="Giày thể thao", method="post", name="Nguyễn Thị Hoa", **changes):
    item = make_item(hub, title=title)
    student = make_user(name=name)
    return reqs.submit_request(student.id, hub.id, [item.id],
                               delivery(method, recipient_name=name, **changes))


def status_of(req) -> str:
    return _db.session.scalar(select(ItemRequest.status).where(ItemRequest.id == req.id))


def notes_for(user_id) -> list[str]:
    return list(_db.session.scalars(select(Notification.message)
                                    .where(Notification.user_id == user_id)
                                    .order_by(Notification.id)))


@pytest.fixture
def hub(db):
    return make_hub(name="Đoàn trường THPT Tân Phước", wards=(TAN_PHUOC_1,))


@pytest.fixture
def volunteer(hub):
    return make_user(roles=("volunteer",), hub=hub, name="Trần Văn Hùng")


# ---------------------------------------------------------------- who may see the queue

def test_the_queue_needs_a_hub_role(client, login_as, hub):
    assert client.get("/quan-ly/yeu-cau").status_code == 302
    for role in ("student", "vendor"):
        login_as(role)
        assert client.get("/quan-ly/yeu-cau").status_code == 403
        assert client.get("/quan-ly/lich-giao").status_code == 403


def test_another_hubs_volunteer_gets_404(client, login_as, hub):
    req = request_for(hub)
    login_as("volunteer", hub=make_hub())
    assert client.get(f"/quan-ly/yeu-cau?hub={hub.id}").status_code == 404
    assert client.get("/quan-ly/yeu-cau?hub=999999").status_code == 404
    assert client.post(f"/quan-ly/yeu-cau/{req.id}/duyet").status_code == 404
    assert client.post(f"/quan-ly/yeu-cau/{req.id}/tu-choi",
                       data={"reason": "Hết đồ"}).status_code == 404
    assert client.post("/quan-ly/yeu-cau/duyet-nhieu",
                       data={"hub": hub.id, "request_ids": [req.id]}).status_code == 404
    assert client.post("/quan-ly/yeu-cau/999999/duyet").status_code == 404
    assert status_of(req) == "submitted"


def test_the_queue_shows_the_delivery_details_and_filters(client, login_as, hub, volunteer):
    by_post = request_for(hub, "Áo dài", name="Lê Thị Hoa")
    by_hand = request_for(hub, "Nón lá", "volunteer", name="Phạm Văn Nam",
                          province_code=DONG_THAP, ward_code=TAN_PHUOC_1, street="Ấp 3")
    at_hub = request_for(hub, "Vở", "pickup", name="Võ Thị Lan", province_code=None,
                         ward_code=None, street="")
    other_hub = request_for(make_hub(), "Bút bi", name="Người Khác")
    reqs.change_status(make_user(roles=("admin",)).id, at_hub.id, "approved")  # not new any more
    login_as(user=volunteer)
    page = client.get("/quan-ly/yeu-cau").get_data(as_text=True)
    assert by_post.code in page and by_hand.code in page
    assert at_hub.code not in page and other_hub.code not in page
    assert "Lê Thị Hoa" in page and "0912 345 678" in page and "12 Hàng Bạc" in page
    assert "Ấp 3, Xã Tân Phước 1, Đồng Tháp" in page
    assert f'<option value="{TAN_PHUOC_1}">Xã Tân Phước 1</option>' in page

    resp = client.get("/quan-ly/yeu-cau?method=volunteer", headers=HTMX)
    fragment = resp.get_data(as_text=True)
    assert "<html" not in fragment and "HX-Request" in resp.headers["Vary"]
    assert by_hand.code in fragment and by_post.code not in fragment
    fragment = client.get(f"/quan-ly/yeu-cau?ward={HOAN_KIEM}", headers=HTMX).get_data(
        as_text=True)
    assert by_post.code in fragment and by_hand.code not in fragment
    for odd in ("method=fly", "ward=abc", "ward=99999999999999999999", "hub=x"):
        assert client.get(f"/quan-ly/yeu-cau?{odd}").status_code == 200


# ---------------------------------------------------------------- approve and reject

def test_approve_one_tells_the_student_and_keeps_the_filters(client, login_as, hub, volunteer):
    req = request_for(hub)
    login_as(user=volunteer)
    resp = client.post(f"/quan-ly/yeu-cau/{req.id}/duyet",
                       data={"hub": hub.id, "method": "post"})
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/quan-ly/yeu-cau?hub={hub.id}&method=post")
    assert status_of(req) == "approved"
    assert notes_for(req.user_id)[-1] == f"Yêu cầu {req.code}: Đã duyệt."
    assert f"Đã duyệt yêu cầu {req.code}." in client.get(resp.headers["Location"]).get_data(
        as_text=True)
    resp = client.post(f"/quan-ly/yeu-cau/{req.id}/duyet", data={"hub": hub.id})
    assert resp.status_code == 422  # twice: told, not a 500
    assert "Không thể chuyển" in resp.get_data(as_text=True)


def test_reject_needs_a_reason_then_the_stock_goes_to_the_waitlist(client, login_as, hub,
                                                                   volunteer):
    item = make_item(hub, title="Máy tính Casio")
    holder, waiter = make_user(name="Học Sinh A"), make_user(name="Học Sinh B")
    req = reqs.submit_request(holder.id, hub.id, [item.id], delivery())
    reqs.join_waitlist(waiter.id, item.id, delivery())
    login_as(user=volunteer)
    resp = client.post(f"/quan-ly/yeu-cau/{req.id}/tu-choi", data={"hub": hub.id, "reason": " "},
                       headers=HTMX)
    assert resp.status_code == 422
    fragment = resp.get_data(as_text=True)
    assert "Vui lòng ghi lý do từ chối." in fragment and '<details class="reject" open>' in fragment
    assert status_of(req) == "submitted"

    resp = client.post(f"/quan-ly/yeu-cau/{req.id}/tu-choi",
                       data={"hub": hub.id, "reason": "Hồ sơ không đúng"} | CONFIRMED)
    assert resp.status_code == 303 and status_of(req) == "rejected"
    assert notes_for(holder.id)[-1] == f"Yêu cầu {req.code}: Bị từ chối."
    [given] = reqs.list_for_user(waiter.id)  # the freed unit went to the one waiting
    assert given.status == "submitted"
    assert _db.session.scalar(select(WaitlistEntry.status)) == "fulfilled"
    assert _db.session.scalar(select(Item.available).where(Item.id == item.id)) == 0


def test_approve_many_in_one_go(client, login_as, hub, volunteer):
    a, b, c = (request_for(hub, t, name=n) for t, n in
               (("Áo", "An"), ("Quần", "Bình"), ("Mũ", "Chi")))
    gone = request_for(hub, "Giày", name="Dũng")
    reqs.cancel_request(gone.user_id, gone.id)
    foreign = request_for(make_hub(), "Bút", name="Em")
    login_as(user=volunteer)
    resp = client.post("/quan-ly/yeu-cau/duyet-nhieu", headers=HTMX, data={
        "hub": hub.id, "request_ids": [a.id, b.id, gone.id, foreign.id, a.id]})
    assert resp.status_code == 200
    fragment = resp.get_data(as_text=True)
    assert "Đã duyệt 2 yêu cầu." in fragment and f"Bỏ qua {gone.code}" in fragment
    assert c.code in fragment and a.code not in fragment  # the queue that is left
    assert [status_of(r) for r in (a, b, c, gone, foreign)] == \
        ["approved", "approved", "submitted", "cancelled", "submitted"]
    for r in (a, b):
        assert notes_for(r.user_id)[-1] == f"Yêu cầu {r.code}: Đã duyệt."
    resp = client.post("/quan-ly/yeu-cau/duyet-nhieu", data={"hub": hub.id})
    assert resp.status_code == 422 and "Hãy chọn ít nhất một yêu cầu." in resp.get_data(
        as_text=True)
    # Ids beyond what the database holds are no request: not a database error.
    resp = client.post("/quan-ly/yeu-cau/duyet-nhieu", data={
        "hub": hub.id, "request_ids": [str(2**31), str(10**20), c.id]})
    assert resp.status_code == 303 and status_of(c) == "approved"


def test_approve_many_is_one_transaction(hub, volunteer, monkeypatch):
    a, b = request_for(hub, "Áo", name="An"), request_for(hub, "Quần", name="Bình")
    real, calls = reqs.notify, []

    def flaky(user_id, key, link=None, **params):
        calls.append(user_id)
        if len(calls) == 2:
            raise RuntimeError("the notification store is down")
        real(user_id, key, link, **params)

    monkeypatch.setattr(reqs, "notify", flaky)
    with pytest.raises(RuntimeError):
        svc.approve_many(volunteer.id, hub.id, [a.id, b.id])
    assert status_of(a) == status_of(b) == "submitted"  # all or nothing


def test_two_volunteers_approving_at_once_approve_each_request_once(app, hub, volunteer):
    reqs_ = [request_for(hub, f"Món {k}", name=f"Bạn {k}") for k in range(4)]
    other = make_user(roles=("volunteer",), hub=hub)
    actors, ids = [volunteer.id, other.id] * 2, [r.id for r in reqs_]
    results, errors = run_together(app, lambda i: svc.approve_many(actors[i], hub.id, ids), 4)
    assert errors == [] and sorted(len(r.codes) for r in results) == [0, 0, 0, 4]
    _db.session.rollback()
    approvals = select(func.count()).select_from(RequestEvent).where(
        RequestEvent.status == "approved")
    assert _db.session.scalar(approvals) == 4
    assert len(notes_for(reqs_[0].user_id)) == 2  # submitted, approved: told once


def test_approve_many_checks_the_actor(hub):
    req = request_for(hub)
    for actor in (make_user(), make_user(roles=("volunteer",), hub=make_hub())):
        with pytest.raises(LookupError):
            svc.approve_many(actor.id, hub.id, [req.id])
    organizer = make_user(roles=("organizer",), hub=hub)
    assert svc.approve_many(organizer.id, hub.id, [req.id]).codes == [req.code]


# ---------------------------------------------------------------- delivery days

def test_volunteers_sign_up_for_the_next_four_delivery_days(client, login_as, hub, volunteer):
    days = svc.delivery_days(hub)
    assert len(days) == 4 and all(d.weekday() == hub.delivery_weekday for d in days)
    assert days[0] >= local_today() and days[0] - local_today() < timedelta(days=7)
    colleague = make_user(roles=("volunteer",), hub=hub, name="Lê Minh Khoa")
    svc.set_signup(colleague.id, hub.id, days[1], True)
    login_as(user=volunteer)
    page = client.get("/quan-ly/lich-giao").get_data(as_text=True)
    assert page.count('<li id="ngay-') == 4 and "Lê Minh Khoa" in page

    url = f"/quan-ly/lich-giao/{hub.id}/{days[1].isoformat()}"
    resp = client.post(url, data={"available": "1"}, headers=HTMX)
    row = resp.get_data(as_text=True)
    assert resp.status_code == 200 and row.lstrip().startswith("<li")
    assert "Trần Văn Hùng" in row and "Lê Minh Khoa" in row and 'value="0"' in row
    assert client.post(url, data={"available": "1"}).status_code == 303  # twice: still one
    signed = select(func.count()).select_from(VolunteerSignup).where(
        VolunteerSignup.user_id == volunteer.id)
    assert _db.session.scalar(signed) == 1
    client.post(url, data={"available": "0"})
    assert _db.session.scalar(signed) == 0


def test_signing_up_for_a_wrong_day_or_hub_is_refused(client, login_as, hub, volunteer):
    login_as(user=volunteer)
    first = svc.delivery_days(hub)[0]
    for day in (first + timedelta(days=1), first - timedelta(days=7), first + timedelta(weeks=4)):
        resp = client.post(f"/quan-ly/lich-giao/{hub.id}/{day.isoformat()}",
                           data={"available": "1"})
        assert resp.status_code == 303
        assert "Chỉ đăng ký được 4 ngày giao" in client.get(resp.headers["Location"]).get_data(
            as_text=True)
    assert client.post(f"/quan-ly/lich-giao/{hub.id}/hom-nay").status_code == 404
    other = make_hub()
    assert client.post(f"/quan-ly/lich-giao/{other.id}/{svc.delivery_days(other)[0]}",
                       data={"available": "1"}).status_code == 404
    assert client.get(f"/quan-ly/lich-giao?hub={other.id}").status_code == 404
    assert _db.session.scalar(select(func.count()).select_from(VolunteerSignup)) == 0


def test_delivery_days_follow_the_hub_weekday(db):
    hub = make_hub(delivery_weekday=2)  # Wednesday
    assert svc.delivery_days(hub, date(2025, 10, 1)) == [
        date(2025, 10, 1), date(2025, 10, 8), date(2025, 10, 15), date(2025, 10, 22)]
    assert svc.delivery_days(hub, date(2025, 10, 2))[0] == date(2025, 10, 8)


# ---------------------------------------------------------------- a real phone browser

def test_queue_in_a_phone_browser(database_url, hub, volunteer, tmp_path):
    """Approve two with the checkboxes (htmx), reject one (a reason is needed), filter."""
    from playwright.sync_api import expect

    from tests.browser import live_server, phone_browser, require_chromium
    from tests.factories import PASSWORD
    require_chromium()
    a = request_for(hub, "Áo dài", name="Lê Thị Hoa")
    b = request_for(hub, "Nón lá", "volunteer", name="Phạm Văn Nam", province_code=DONG_THAP,
                    ward_code=TAN_PHUOC_1, street="Ấp 3")
    c = request_for(hub, "Vở ô li", "pickup", name="Võ Thị Lan", province_code=None,
                    ward_code=None, street="")
    console_errors = []
    with live_server(database_url, str(tmp_path)) as (base, _), phone_browser() as page:
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.goto(f"{base}/tai-khoan/dang-nhap?next=/quan-ly/yeu-cau")
        page.fill("#phone", volunteer.phone)
        page.fill("#password", PASSWORD)
        page.click("form button.primary")
        page.wait_for_url(f"{base}/quan-ly/yeu-cau")
        rows = page.locator("table.queue tbody tr")
        expect(rows).to_have_count(3)
        page.screenshot(path=str(tmp_path / "queue.png"), full_page=True, caret="initial")

        page.select_option("#method", "volunteer")  # htmx filter, the URL follows
        page.wait_for_url("**method=volunteer*")
        expect(rows).to_have_count(1)
        page.select_option("#method", "")
        expect(rows).to_have_count(3)

        page.check(f"#chon-{a.id}")
        page.check(f"#chon-{b.id}")
        page.click("#bulk-approve button")
        expect(page.locator("#queue .flash-success")).to_have_text("Đã duyệt 2 yêu cầu.")
        expect(rows).to_have_count(1)

        page.click(f"#yc-{c.id} details.reject summary")
        page.click(f"#yc-{c.id} details.reject button")
        expect(page.locator(f"#yc-{c.id} .error")).to_have_text("Vui lòng ghi lý do từ chối.")
        # the page came back with the error summary on top, focused; its link goes to the field
        expect(page.locator("#error-summary")).to_be_focused()
        expect(page).to_have_title(re.compile(r"^Lỗi: "))
        page.click("#error-summary a")
        expect(page.locator(f"#ly-do-{c.id}")).to_be_focused()
        page.fill(f"#ly-do-{c.id}", "Hết vở ô li")
        page.click(f"#yc-{c.id} details.reject button")
        # what cannot be undone asks first (app/confirm.py)
        expect(page.locator("h1")).to_have_text(f"Từ chối yêu cầu {c.code}?")
        assert status_of(c) == "submitted"
        page.click("button[name=confirm]")
        expect(page.locator("#queue")).to_contain_text("Không có yêu cầu mới nào.")
        page.screenshot(path=str(tmp_path / "queue-done.png"), full_page=True, caret="initial")
    _db.session.rollback()
    assert [status_of(r) for r in (a, b, c)] == ["approved", "approved", "rejected"]
    # No CSP violation or script error on the way (the 422 is the reject without a reason).
    assert [e for e in console_errors if "status of 422" not in e] == []
