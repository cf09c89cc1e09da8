"""A request's life tells its student by phone (issue #13): each step of MESSAGE_FOR writes one
message in the same transaction as the step, in the student's language; staff see on the
request's page which messages went out and how they fared; the student does not."""
import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.models import OutboundMessage
from app.services import handover, privacy
from app.services import requests as req_svc
from app.services.messages import providers, sender
from tests.factories import make_hub, make_item, make_user
from tests.test_handover import in_run, stop_of
from tests.test_privacy import age, deliver, submit
from tests.test_requests_service import PICKUP, POST_HN
from tests.test_vendors import text


def sent() -> list[tuple[str, str, str]]:
    _db.session.rollback()
    return [(m.template, m.phone, m.language) for m in
            _db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]


def test_approval_and_rejection_send_a_message_with_the_reason(db):
    hub, student = make_hub(), make_user()
    student.locale = "en"
    _db.session.commit()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    first = req_svc.submit_request(student.id, hub.id, [make_item(hub).id], POST_HN)
    second = req_svc.submit_request(student.id, hub.id, [make_item(hub).id], PICKUP)
    assert sent() == []  # submitting tells nobody by phone
    req_svc.change_status(volunteer.id, first.id, "approved")
    req_svc.change_status(volunteer.id, second.id, "rejected", "Hết cỡ 38")
    assert sent() == [("request_approved", "+84912345678", "en"),
                      ("request_rejected", "+84912000111", "en")]
    rejected = _db.session.scalars(select(OutboundMessage)).all()[1]
    assert rejected.params["reason"] == "Hết cỡ 38" and rejected.request_id == second.id


def test_a_step_that_fails_sends_nothing(db):
    hub, student = make_hub(), make_user()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    req = req_svc.submit_request(student.id, hub.id, [make_item(hub).id], POST_HN)
    with pytest.raises(req_svc.RequestError):
        req_svc.change_status(volunteer.id, req.id, "rejected", "")  # a reason is required
    assert sent() == []


def test_the_post_path_tells_the_tracking_number_then_delivered(db):
    hub = make_hub()
    organizer = make_user(roles=("organizer",), hub=hub)
    volunteer = make_user(roles=("volunteer",), hub=hub)
    req = in_run(hub, organizer, "post")
    handover.post_sent(volunteer.id, stop_of(req).id, "EB123456789VN")
    handover.post_result(volunteer.id, stop_of(req).id, delivered=True)
    assert [t for t, _, _ in sent()] == ["request_approved", "request_posted", "request_delivered"]
    posted = _db.session.scalars(select(OutboundMessage)).all()[1]
    assert posted.params["tracking"] == "EB123456789VN"


def test_staff_see_the_messages_of_a_request_and_the_student_does_not(client, db, login_as):
    hub, student = make_hub(), make_user()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    req = req_svc.submit_request(student.id, hub.id, [make_item(hub).id], PICKUP)
    req_svc.change_status(volunteer.id, req.id, "approved")
    sender.send_due(providers.ConsoleProvider())
    req_svc.change_status(volunteer.id, req.id, "packed")
    req_svc.change_status(volunteer.id, req.id, "ready_for_pickup")  # queued, not sent yet
    login_as(user=volunteer)
    page = text(client.get(f"/yeu-cau/{req.id}"))
    assert "Tin nhắn đến điện thoại của học sinh" in page
    assert f"yêu cầu {req.code} của bạn đã được duyệt" in page
    assert "Đã gửi đi" in page and "Đang chờ gửi" in page and "1 lần thử" in page
    login_as(user=student)
    assert "Tin nhắn đến điện thoại" not in text(client.get(f"/yeu-cau/{req.id}"))


def test_the_privacy_purge_erases_the_phone_of_a_requests_sent_messages(db):
    hub = make_hub()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    old, recent = submit(hub, "Áo"), submit(hub, "Quần")
    for req in (old, recent):
        deliver(req, volunteer)
    sender.send_due(providers.ConsoleProvider())
    req_svc.change_status(volunteer.id, submit(hub, "Mũ").id, "approved")  # queued, open
    age(old, 31)
    privacy.purge()
    by_request = {}
    for m in _db.session.scalars(select(OutboundMessage)):
        by_request.setdefault(m.request_id, set()).add(m.phone)
    assert by_request.pop(old.id) == {""}
    assert all(phones == {"+84912345678"} for phones in by_request.values())
