"""The evening before (issue #13): `flask messages remind` queues one reminder per person for
tomorrow — students expecting something (pickup list or a route of tomorrow's run, or a ready
pickup on the hub's pickup day) and volunteers holding a route — once, however often it runs;
someone who opted out gets none, but still every message of their request's own steps."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import OutboundMessage, User
from app.services import requests as req_svc
from app.services import runs
from app.services.messages import reminders
from tests.factories import HA_NOI, HOAN_KIEM, make_hub, make_user
from tests.test_runs import SATURDAY, TODAY, approved, sign_up

FRIDAY = SATURDAY - timedelta(days=1)


def outbox() -> list[tuple]:
    _db.session.rollback()
    return [(m.template, m.phone, m.params, m.request_id, m.idempotency_key) for m in
            _db.session.scalars(select(OutboundMessage).where(
                OutboundMessage.template.like("remind_%")).order_by(OutboundMessage.id))]


@pytest.fixture
def hub(db):
    return make_hub(name="Đoàn trường THPT Tân Phước", pickup_place="Phòng Đoàn")


@pytest.fixture
def organizer(hub):
    return make_user(roles=("organizer",), hub=hub, name="Phạm Minh Tuấn")


def saturday_run(hub, organizer):
    volunteer = sign_up(hub, SATURDAY, name="Trần Văn Hùng")
    at_door = approved(hub, organizer, "volunteer", name="Bạn giao tận tay")
    at_hub = approved(hub, organizer, "pickup", name="Bạn nhận tại trường")
    by_post = approved(hub, organizer, "post", name="Bạn ở xa", ward=HOAN_KIEM, province=HA_NOI,
                       street="12 Hàng Bạc")
    runs.build_run(hub.id, organizer.id, day=SATURDAY, today=TODAY)
    return volunteer, at_door, at_hub, by_post


def test_friday_evening_reminds_each_student_and_volunteer_of_saturday_once(hub, organizer):
    volunteer, at_door, at_hub, _by_post = saturday_run(hub, organizer)
    assert reminders.queue_reminders(TODAY) == reminders.Queued(TODAY + timedelta(days=1), 0, 0)
    assert reminders.queue_reminders(FRIDAY) == reminders.Queued(SATURDAY, 2, 1)
    day = SATURDAY.strftime("%d/%m/%Y")
    assert outbox() == [
        ("remind_delivery", at_door.phone, {"hub": hub.name, "day": day, "code": at_door.code},
         at_door.id, f"remind:{SATURDAY.isoformat()}:student:{at_door.user_id}"),
        ("remind_pickup", at_hub.phone, {"hub": hub.name, "day": day, "code": at_hub.code,
                                         "place": "Phòng Đoàn"},
         at_hub.id, f"remind:{SATURDAY.isoformat()}:student:{at_hub.user_id}"),
        ("remind_route", volunteer.phone, {"hub": hub.name, "day": day, "route": "1",
                                           "stops": "1"},
         None, f"remind:{SATURDAY.isoformat()}:volunteer:{volunteer.id}")]
    assert reminders.queue_reminders(FRIDAY) == reminders.Queued(SATURDAY, 0, 0)  # again: none
    assert len(outbox()) == 3


def test_a_ready_pickup_is_reminded_on_the_hubs_day_without_a_run(hub, organizer):
    req = approved(hub, organizer, "pickup")
    req_svc.change_status(organizer.id, req.id, "packed", today=TODAY)
    req_svc.change_status(organizer.id, req.id, "ready_for_pickup", today=TODAY)
    assert reminders.queue_reminders(FRIDAY) == reminders.Queued(SATURDAY, 1, 0)
    assert [t for t, *_ in outbox()] == ["remind_pickup"]
    req_svc.change_status(organizer.id, req.id, "delivered", today=TODAY)
    _db.session.execute(OutboundMessage.__table__.delete())
    _db.session.commit()
    assert reminders.queue_reminders(FRIDAY).students == 0  # delivered: nothing to remind


def test_an_opt_out_stops_reminders_but_not_the_requests_own_messages(hub, organizer):
    volunteer, at_door, at_hub, _ = saturday_run(hub, organizer)
    for user_id in (at_door.user_id, volunteer.id):
        _db.session.get(User, user_id).reminders_off = True
    _db.session.commit()
    assert reminders.queue_reminders(FRIDAY) == reminders.Queued(SATURDAY, 1, 0)
    assert [t for t, *_ in outbox()] == ["remind_pickup"]
    req_svc.change_status(organizer.id, at_door.id, "packed", today=TODAY)
    req_svc.change_status(organizer.id, at_door.id, "out_for_delivery", today=TODAY)
    req_svc.change_status(organizer.id, at_door.id, "delivered", today=TODAY)
    steps = _db.session.scalars(select(OutboundMessage.template).where(
        OutboundMessage.request_id == at_door.id).order_by(OutboundMessage.id)).all()
    assert steps == ["request_approved", "request_out_for_delivery", "request_delivered"]


def test_the_command_twice_queues_once(app, hub, organizer):
    saturday_run(hub, organizer)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["messages", "remind", "--today", FRIDAY.isoformat()])
    assert first.exit_code == 0, first.output
    assert f"reminders for {SATURDAY.isoformat()}: 2 students, 1 volunteers" in first.output
    again = runner.invoke(args=["messages", "remind", "--today", FRIDAY.isoformat()])
    assert "0 students, 0 volunteers" in again.output
    _db.session.rollback()
    assert _db.session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.template.like("remind_%"))) == 3


def test_a_student_turns_reminders_off_and_on_on_the_profile(client, db, login_as):
    student = login_as("student")
    page = client.get("/tai-khoan/").get_data(as_text=True)
    assert "Tin nhắn nhắc lịch" in page and 'name="reminders-wanted"' in page
    resp = client.post("/tai-khoan/nhac-lich", data={})  # the box left unticked
    assert resp.status_code == 303
    _db.session.expire_all()
    assert _db.session.get(User, student.id).reminders_off is True
    assert "không nhận tin nhắc lịch nữa" in client.get("/tai-khoan/").get_data(as_text=True)
    client.post("/tai-khoan/nhac-lich", data={"reminders-wanted": "y"})
    _db.session.expire_all()
    assert _db.session.get(User, student.id).reminders_off is False
