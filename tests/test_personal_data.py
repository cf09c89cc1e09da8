"""Decree 13/2023: a person downloads what the app holds about them and deletes their account."""
import csv
import io
import json

from sqlalchemy import select

from app.models import Item, ItemRequest, Notification, User, UserSession, WaitlistEntry
from app.services import personal_data, stats
from app.services import requests as reqs
from tests import factories
from tests.test_accounts import IPHONE, Device, opens_profile, signed_in
from tests.test_stats import hand_over


def _request(student, hub, item, method="volunteer"):
    return reqs.submit_request(student.id, hub.id, [item.id], reqs.Delivery(
        method, "Trần Thị Bình", "0987 654 321", factories.DONG_THAP, factories.TAN_PHUOC_1,
        "Ấp 3, nhà số 12", True))


def test_export_holds_the_users_data_and_nobody_elses(app, client, db, login_as):
    hub = factories.make_hub()
    other = factories.make_user(name="Người Khác")
    _request(other, hub, factories.make_item(hub, title="Áo của người khác"))
    me = login_as()
    _request(me, hub, factories.make_item(hub, title="Giày của tôi"))
    reqs.join_waitlist(me.id, factories.make_item(hub, title="Mũ hết", available=0).id,
                       reqs.Delivery("pickup", me.name, "0987654321", consent=True))
    data = json.loads(client.get("/tai-khoan/du-lieu-cua-toi.json").get_data(as_text=True))
    assert data["account"]["phone"] == me.phone and "password_hash" not in data["account"]
    assert [r["role"] for r in data["roles"]] == ["student"]
    [req] = data["requests"]
    assert req["lines"][0]["item"] == "Giày của tôi" and req["events"][0]["status"] == "submitted"
    assert req["street"] == "Ấp 3, nhà số 12"
    assert [w["item"] for w in data["waitlist"]] == ["Mũ hết"]
    assert data["notifications"] and data["sessions"]
    text = json.dumps(data, ensure_ascii=False)
    assert "Người Khác" not in text and "Áo của người khác" not in text
    rows = list(csv.reader(io.StringIO(
        client.get("/tai-khoan/yeu-cau-cua-toi.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Mã yêu cầu" and len(rows) == 2 and rows[1][5] == "Giày của tôi"


def test_delete_cancels_open_requests_erases_data_keeps_statistics(app, db):
    hub = factories.make_hub()
    staff = factories.make_user(roles=("organizer",), hub=hub)
    student = factories.make_user(name="Phạm Văn Cường")
    delivered = _request(student, hub, factories.make_item(hub, title="Vở"))
    hand_over(delivered, staff)
    item = factories.make_item(hub, title="Cặp", quantity=1)
    _request(student, hub, item, method="pickup")
    assert db.session.get(Item, item.id).available == 0
    before = stats.numbers([hub])
    other = signed_in(app, student, IPHONE).cookies()
    me = signed_in(app, student)

    page = me.get("/tai-khoan/xoa-tai-khoan").get_data(as_text=True)
    assert "không thể hoàn tác" in page and "số liệu ẩn danh" in page
    bad = me.post("/tai-khoan/xoa-tai-khoan", data={"password": "sai-roi-123"})
    assert bad.status_code == 422 and "Mật khẩu không đúng." in bad.get_data(as_text=True)
    assert db.session.get(User, student.id).deleted_at is None
    assert me.post("/tai-khoan/xoa-tai-khoan",
                   data={"password": factories.PASSWORD}).status_code == 303

    db.session.expire_all()
    assert db.session.get(Item, item.id).available == 1  # the stock came back
    user = db.session.get(User, student.id)
    assert user.deleted_at is not None and user.name != "Phạm Văn Cường" and not user.roles
    for r in db.session.scalars(select(ItemRequest).where(ItemRequest.user_id == student.id)):
        assert (r.phone, r.street) == (None, None) and r.recipient_name != "Trần Thị Bình"
        # the ward stays for the statistics; a pickup never kept one (it asks no address)
        assert r.ward_code == (None if r.method == "pickup" else factories.TAN_PHUOC_1)
    assert not db.session.scalars(select(Notification).where(
        Notification.user_id == student.id)).all()
    assert not db.session.scalars(select(UserSession).where(
        UserSession.user_id == student.id, UserSession.ended_at.is_(None))).all()
    after = stats.numbers([hub])
    assert after.total("requests") == before.total("requests")
    assert after.total("delivered") == before.total("delivered") == 1
    assert after.by_ward == before.by_ward
    assert not opens_profile(app, other, IPHONE) and me.get("/tai-khoan/").status_code == 302
    login = Device(app).post("/tai-khoan/dang-nhap", data={"phone": "0" + student.phone[3:],
                                                           "password": factories.PASSWORD})
    assert login.status_code == 422  # login impossible afterwards


def test_staff_and_open_shops_must_hand_over_first(app, client, db, login_as):
    hub = factories.make_hub()
    volunteer = login_as("volunteer", hub=hub)
    page = client.get("/tai-khoan/xoa-tai-khoan").get_data(as_text=True)
    assert "gỡ vai trò" in page
    resp = client.post("/tai-khoan/xoa-tai-khoan", data={"password": factories.PASSWORD})
    assert resp.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, volunteer.id).deleted_at is None


def test_packed_request_blocks_deletion(app, db):
    hub = factories.make_hub()
    staff = factories.make_user(roles=("organizer",), hub=hub)
    student = factories.make_user()
    req = _request(student, hub, factories.make_item(hub))
    for status in ("approved", "packed"):
        reqs.change_status(staff.id, req.id, status)
    try:
        personal_data.delete_account(student.id, factories.PASSWORD)
    except personal_data.DeletionRefused as exc:
        assert req.code in str(exc.message)
    else:
        raise AssertionError("deleted with a parcel on its way")
    assert db.session.get(User, student.id).deleted_at is None
    assert db.session.scalar(select(WaitlistEntry.id)) is None
