"""The audit log: staff, vendors and admins leave one entry per thing they change (who, what, when),
students leave none, personal data stays out, and the page is for admins only."""
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import AuditEntry, Item, ItemRequest
from app.services import audit, orders, runs
from app.services import requests as req_svc
from app.services.requests import Delivery
from tests import factories
from tests.test_runs import TODAY
from tests.test_security_matrix import CONFIRMED
from tests.test_vendors import make_product, make_vendor

LOG = "/quan-tri/nhat-ky"


def entries() -> list[AuditEntry]:
    _db.session.rollback()
    return list(_db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def submitted(hub, student=None, street="Ấp 1, nhà số 7", phone="0987654321") -> ItemRequest:
    item = factories.make_item(hub, title="Vở kẻ ngang", category="sach-vo", size="")
    student = student or factories.make_user(name="Trần Thị Bình")
    return req_svc.submit_request(student.id, hub.id, [item.id], Delivery(
        "volunteer", "Trần Thị Bình", phone, factories.DONG_THAP, factories.TAN_PHUOC_1, street,
        True))


@pytest.fixture
def hub(db):
    return factories.make_hub()


def test_approving_a_request_is_one_entry_by_the_volunteer(client, login_as, hub):
    req = submitted(hub)
    volunteer = login_as("volunteer", hub=hub)
    assert client.post(f"/quan-ly/yeu-cau/{req.id}/duyet").status_code == 303
    [entry] = entries()
    assert (entry.actor_id, entry.action, entry.target_type, entry.target_id, entry.hub_id) == \
        (volunteer.id, "update", "ItemRequest", req.id, hub.id)
    assert entry.details["values"]["status"] == ["submitted", "approved"]
    assert audit.describe(entry) == "Trạng thái: Đã gửi yêu cầu → Đã duyệt"  # words, not ids


def test_confirming_a_payment_is_one_entry_by_the_vendor(client, login_as, db):
    vendor = make_vendor()
    honey = make_product(vendor)
    order = orders.submit_order(vendor.id, {honey.id: 1}, Delivery(
        "pickup", "Phạm Thị Mua", "0912345678", consent=True))
    assert entries() == []  # a guest's order: nobody to log
    login_as(user=vendor.user)
    assert client.post(f"/gian-hang/don-hang/{order.id}/da-nhan-tien").status_code == 303
    [entry] = entries()
    assert (entry.actor_id, entry.action, entry.target_type, entry.target_id, entry.hub_id) == \
        (vendor.user_id, "update", "Order", order.id, vendor.hub_id)
    assert entry.details["values"]["status"] == [None, "paid"]
    assert "confirmed_by_id" in entry.details["fields"]
    # Confirming again changes nothing, so it logs nothing.
    client.post(f"/gian-hang/don-hang/{order.id}/da-nhan-tien")
    assert len(entries()) == 1


def test_listing_an_item_is_one_entry_by_the_volunteer(client, login_as, hub):
    volunteer = login_as("volunteer", hub=hub)
    resp = client.post("/quan-ly/mon-do/moi", data={
        "hub_id": str(hub.id), "title": "Áo khoác", "category": "quan-ao", "size": "L",
        "condition": "good", "quantity": "3", "description": ""})
    assert resp.status_code == 303
    item_id = _db.session.scalar(select(Item.id))
    [entry] = entries()
    assert (entry.actor_id, entry.action, entry.target_type, entry.target_id, entry.hub_id) == \
        (volunteer.id, "create", "Item", item_id, hub.id)
    assert entry.details["values"]["quantity"] == [None, 3]


def test_a_students_own_actions_leave_no_entry(client, login_as, hub):
    student = login_as("student")
    req = submitted(hub, student)  # as the service, then through HTTP
    assert client.post(f"/yeu-cau/{req.id}/huy", data=CONFIRMED).status_code == 303
    item = factories.make_item(hub)
    client.post(f"/gio/them/{item.id}")
    resp = client.post(f"/gio/gui/{hub.id}", data={
        "method": "pickup", "recipient_name": "Bình", "phone": "0987654321", "consent": "y"})
    assert resp.status_code == 303
    assert _db.session.scalar(select(func.count()).select_from(ItemRequest)) == 2
    assert entries() == []


def test_a_refused_action_leaves_no_entry(client, login_as, hub):
    req = submitted(hub)
    login_as("volunteer", hub=factories.make_hub())  # of another hub
    assert client.post(f"/quan-ly/yeu-cau/{req.id}/duyet").status_code == 404
    login_as("volunteer", hub=hub)
    req_svc.cancel_request(req.user_id, req.id)
    assert client.post(f"/quan-ly/yeu-cau/{req.id}/duyet").status_code == 422  # too late
    assert entries() == []


def test_personal_data_is_named_never_copied(db, hub):
    req = submitted(hub, street="12 Hàng Bạc", phone="0912000111")
    actor = factories.make_user(roles=("admin",))
    token = audit.current_actor.set(actor.id)
    try:
        req.street, req.phone, req.status = "99 Phố Huế", "+84912999888", "approved"
        _db.session.commit()
    finally:
        audit.current_actor.reset(token)
    [entry] = entries()
    assert {"street", "phone", "status"} <= set(entry.details["fields"])
    dumped = json.dumps(entry.details, ensure_ascii=False)
    for secret in ("Hàng Bạc", "Phố Huế", "912000111", "912999888", req.handover_code):
        assert secret not in dumped


def test_the_log_page_is_for_admins_only(client, login_as, hub):
    assert client.get(LOG).status_code == 302
    for role in ("student", "volunteer", "organizer", "vendor"):
        login_as(role, hub=hub)
        assert client.get(LOG).status_code == 403, role
    login_as("admin")
    assert client.get(LOG).status_code == 200


def test_the_log_page_shows_and_filters_entries(client, login_as, hub):
    req = submitted(hub)
    login_as(user=factories.make_user(roles=("volunteer",), hub=hub, name="Lê Văn Tâm"))
    client.post(f"/quan-ly/yeu-cau/{req.id}/duyet")
    client.post("/quan-ly/mon-do/moi", data={
        "hub_id": str(hub.id), "title": "Nón", "category": "quan-ao", "size": "",
        "condition": "good", "quantity": "1", "description": ""})
    admin = login_as("admin")
    html = client.get(LOG).get_data(as_text=True)
    assert "Nhật ký thao tác" in html and "Lê Văn Tâm" in html and hub.name in html
    assert "Trạng thái: Đã gửi yêu cầu → Đã duyệt" in html and f"#{req.id}" in html
    assert html.count('<tr class="entry">') == 2

    def rows(**args) -> int:
        resp = client.get(LOG, query_string=args)
        assert resp.status_code == 200
        return resp.get_data(as_text=True).count('<tr class="entry">')

    assert rows(action="create") == 1 and rows(action="update") == 1
    assert rows(target="Item") == 1 and rows(target="ItemRequest") == 1
    assert rows(actor="tâm") == 2 and rows(actor=admin.name + "x") == 0
    assert rows(since="2000-01-01", until="2099-12-31") == 2 and rows(until="2001-01-01") == 0
    for hostile in ({"actor": "%_\x00<script>"}, {"since": "9999-99-99"}, {"page": "-5"},
                    {"until": "9999-12-31"}, {"action": "drop"}, {"page": "99999999999"}):
        assert client.get(LOG, query_string=hostile).status_code == 200, hostile


def test_approving_a_vendor_logs_the_decision_and_the_role_it_grants(client, login_as, hub):
    vendor = make_vendor(hub, status="pending")
    organizer = login_as("organizer", hub=hub)
    assert client.post(f"/gian-hang/duyet/{vendor.id}", data={"decision": "approve"}
                       ).status_code == 303
    logged = {(e.action, e.target_type, e.actor_id, e.hub_id) for e in entries()}
    assert logged == {("update", "Vendor", organizer.id, hub.id),
                      ("create", "UserRole", organizer.id, hub.id)}
    [granted] = [e for e in entries() if e.target_type == "UserRole"]
    said = audit.describe(granted, {hub.id: hub.name})
    assert "Vai trò: Thanh niên khởi nghiệp" in said and f"Đơn vị: {hub.name}" in said, said


def test_statements_on_many_rows_are_one_entry_each(db, hub):
    """Building a run inserts its parcels in one statement: one entry with the row count."""
    organizer = factories.make_user(roles=("organizer",), hub=hub)
    req = submitted(hub)
    req_svc.change_status(organizer.id, req.id, "approved")
    token = audit.current_actor.set(organizer.id)
    try:
        runs.build_run(hub.id, organizer.id, today=TODAY)
    finally:
        audit.current_actor.reset(token)
    logged = [(e.action, e.target_type, e.details.get("rows")) for e in entries()]
    assert ("create", "DeliveryRun", None) in logged and ("create", "RunStop", 1) in logged
    assert all(e.actor_id == organizer.id for e in entries())


def test_a_stops_outcome_reads_in_words_and_names_no_column():
    """#14: the demo's log said "Kết quả: delivered, outcome_at, outcome_by_id"."""
    entry = AuditEntry(actor_id=None, action="update", target_type="RunStop", target_id=1,
                       details={"fields": ["outcome", "outcome_at", "outcome_by_id"],
                                "values": {"outcome": [None, "delivered"]}})
    assert audit.describe(entry) == "Kết quả: Đã giao, 2 thông tin khác"
    entry.details = {"fields": ["reject_reason", "status"],
                     "values": {"status": ["submitted", "rejected"]}}
    entry.target_type = "ItemRequest"
    assert audit.describe(entry) == "Trạng thái: Đã gửi yêu cầu → Bị từ chối, 1 thông tin khác"
