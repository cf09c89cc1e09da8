"""Staff see the messages of their units that did not arrive (issue #13), with the reason and
the request, and send one again: a failed or unknown message goes back in the queue once, under
a new provider id; one that was sent is never sent twice. Authorization follows the unit tree."""
from sqlalchemy import select

from app.extensions import db as _db
from app.models import OutboundMessage
from app.services import requests as req_svc
from app.services.messages import enqueue, sender, trouble
from tests.factories import DONG_THAP, make_hub, make_item, make_user
from tests.fake_gateways import FakeEsms
from tests.test_messages import esms_provider
from tests.test_requests_service import PICKUP
from tests.test_vendors import text


def tree():
    """A commune with a school below it, and a school elsewhere."""
    commune = make_hub(name="Đoàn xã Tân Phước 1", level="commune")
    school = make_hub(name="Đoàn trường THPT Tân Phước", parent_id=commune.id)
    elsewhere = make_hub(name="Đoàn trường THPT Cái Bè", province_code=DONG_THAP)
    return commune, school, elsewhere


def failed_request_message(hub):
    """A request of `hub` approved; its message refused by eSMS (108: a wrong phone)."""
    volunteer = make_user(roles=("volunteer",), hub=hub)
    req = req_svc.submit_request(make_user().id, hub.id, [make_item(hub).id], PICKUP)
    req_svc.change_status(volunteer.id, req.id, "approved")
    gateway = FakeEsms()
    try:
        gateway.script = [("json", {"CodeResult": "108", "ErrorMessage": "Phone invalid"})]
        assert sender.send_due(esms_provider(gateway)).failed == 1
    finally:
        gateway.close()
    return req, message_of(req)


def message_of(req) -> OutboundMessage:
    _db.session.rollback()
    return _db.session.scalar(select(OutboundMessage).where(OutboundMessage.request_id == req.id))


def test_staff_of_the_unit_or_above_see_it_with_the_reason_and_the_request(client, db,
                                                                         login_as):
    commune, school, elsewhere = tree()
    req, m = failed_request_message(school)
    assert (m.status, m.last_error) == ("failed", "108 Phone invalid")
    login_as("organizer", hub=commune)  # one level above the school
    page = text(client.get("/quan-ly/tin-nhan"))
    assert "Không gửi được" in page and "108 Phone invalid" in page
    assert f"Yêu cầu {req.code}" in page and f"yêu cầu {req.code} của bạn đã được duyệt" in page
    assert f'href="/yeu-cau/{req.id}"' in client.get("/quan-ly/tin-nhan").get_data(as_text=True)
    assert "Tin nhắn chưa đến" in text(client.get("/quan-ly/"))  # in the staff navigation

    login_as("volunteer", hub=elsewhere)
    page = text(client.get("/quan-ly/tin-nhan"))
    assert req.code not in page and "Mọi tin nhắn đều đã gửi đi." in page
    assert client.post(f"/quan-ly/tin-nhan/{m.id}/gui-lai").status_code == 404
    assert message_of(req).status == "failed"


def test_send_again_queues_once_under_a_new_provider_id_and_never_twice(client, db, login_as):
    _, school, _ = tree()
    req, m = failed_request_message(school)
    login_as("volunteer", hub=school)
    resp = client.post(f"/quan-ly/tin-nhan/{m.id}/gui-lai", follow_redirects=True)
    assert "Đã xếp tin nhắn vào hàng chờ gửi lại." in text(resp)
    again = client.post(f"/quan-ly/tin-nhan/{m.id}/gui-lai", follow_redirects=True)
    assert "không gửi thêm lần nữa" in text(again)  # a second click changes nothing
    m = message_of(req)
    assert (m.status, m.resends, m.attempts) == ("queued", 1, 0)
    gateway = FakeEsms()
    try:
        assert sender.send_due(esms_provider(gateway)).sent == 1
        [carried] = gateway.requests
        assert carried["body"]["RequestId"] == f"{m.idempotency_key}#1"  # not eSMS's duplicate
    finally:
        gateway.close()
    m = message_of(req)
    assert m.status == "sent" and [a.number for a in m.attempt_log] == [1, 2]
    assert trouble.resend(make_user(roles=("admin",)).id, m.id) is False  # sent: left alone
    assert message_of(req).status == "sent"
    assert req.code not in text(client.get("/quan-ly/tin-nhan"))


def test_a_message_for_no_unit_is_for_admins_only(client, db, login_as):
    enqueue(_db.session, "+84912345678", "request_approved", {"hub": "X", "code": "C1"}, "vi",
            "no-unit")
    _db.session.commit()
    _db.session.execute(OutboundMessage.__table__.update().values(status="unknown"))
    _db.session.commit()
    _, school, _ = tree()
    login_as("organizer", hub=school)
    assert "C1" not in text(client.get("/quan-ly/tin-nhan"))
    login_as("admin")
    page = text(client.get("/quan-ly/tin-nhan"))
    assert "C1" in page and "Không rõ đã gửi chưa" in page
