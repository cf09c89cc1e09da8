"""In-app notifications are stored as a key and parameters and shown in the reader's current
language: the same stored rows read in Vietnamese, then in English after the switch (a label
among the parameters, the request's status, included); a row from before keys keeps its text."""
from sqlalchemy import select

from app.extensions import db as _db
from app.models import Notification
from app.services import requests as reqs
from tests.factories import make_hub, make_user
from tests.test_review import request_for


def _page(client) -> str:
    return client.get("/thong-bao/").get_data(as_text=True)


def test_a_notification_follows_the_readers_language(client, db, login_as):
    hub = make_hub(name="Đoàn trường THPT Tân Phước")
    req = request_for(hub)
    organizer = make_user(roles=("organizer",), hub=hub, name="Lê Văn Duyệt")
    reqs.change_status(organizer.id, req.id, "approved")
    notes = _db.session.scalars(select(Notification).where(Notification.user_id == req.user_id)
                                .order_by(Notification.id)).all()
    assert [(n.key, n.params) for n in notes] == [
        ("request_received", {"code": req.code}),
        ("request_status", {"code": req.code, "status": {"t": "Đã duyệt"}})]
    login_as(user=req.user)
    vietnamese = _page(client)
    assert f"Đã nhận yêu cầu {req.code}. Đoàn sẽ duyệt sớm." in vietnamese
    assert f"Yêu cầu {req.code}: Đã duyệt." in vietnamese
    client.post("/ngon-ngu", data={"lang": "en"})
    english = _page(client)
    assert f"Request {req.code} received. The Youth Union will review it soon." in english
    assert f"Request {req.code}: Approved." in english
    assert "Đã nhận yêu cầu" not in english and "Đã duyệt" not in english


def test_a_row_from_before_keys_shows_its_stored_text(client, db, login_as):
    student = make_user()
    _db.session.add(Notification(user_id=student.id, message="Thông báo cũ còn nguyên."))
    _db.session.commit()
    login_as(user=student)
    client.post("/ngon-ngu", data={"lang": "en"})
    assert "Thông báo cũ còn nguyên." in _page(client)
