"""A forgotten password: a code issued by the hub's staff, then the reset page."""
import re
from datetime import timedelta

from sqlalchemy import select, update

from app.models import AuditEntry, OneTimeCode, User
from app.models.base import utcnow
from app.services import requests as reqs
from app.services import resets
from tests import factories
from tests.test_accounts import IPHONE, Device, opens_profile, signed_in


def _student_of(hub):
    student = factories.make_user()
    item = factories.make_item(hub)
    reqs.submit_request(student.id, hub.id, [item.id], reqs.Delivery(
        "pickup", student.name, "0912345678", consent=True))
    return student


def _issue(app, staff, phone):
    return signed_in(app, staff).post("/tai-khoan/ma-khoi-phuc/cap", data={"phone": phone})


def _code_in(page: str) -> str:
    [code] = re.findall(r'class="code code-big">(\w{4}) (\w{4})<', page)
    return "".join(code)


def test_a_volunteer_of_the_students_hub_issues_a_code_shown_once(app, client, db, login_as):
    hub = factories.make_hub()
    student = _student_of(hub)
    login_as("volunteer", hub=hub)
    assert client.get("/tai-khoan/ma-khoi-phuc").status_code == 200
    resp = client.post("/tai-khoan/ma-khoi-phuc/cap", data={"phone": student.phone})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    code = _code_in(resp.get_data(as_text=True))
    assert len(code) == 8 and set(code) <= set(resets.ALPHABET)
    row = db.session.scalar(select(OneTimeCode))
    assert row.purpose == "reset" and row.user_id == student.id and code not in row.code_hash
    assert timedelta(minutes=29) < row.expires_at - utcnow() <= timedelta(minutes=30)
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.target_type == "OneTimeCode"))
    assert audit is not None and audit.action == "create"
    assert code not in str(audit.details) and row.code_hash not in str(audit.details)


def test_who_may_issue(app, db):
    hub, other_hub = factories.make_hub(), factories.make_hub()
    student = _student_of(hub)
    outsider = factories.make_user(roles=("volunteer",), hub=other_hub)
    assert _issue(app, outsider, student.phone).status_code == 403
    assert _issue(app, factories.make_user(), student.phone).status_code == 403  # a student
    assert _issue(app, factories.make_user(roles=("organizer",), hub=other_hub),
                  student.phone).status_code == 200  # any organizer
    assert _issue(app, factories.make_user(roles=("admin",)), student.phone).status_code == 200
    refused = select(OneTimeCode.id).where(OneTimeCode.issued_by_id == outsider.id)
    assert db.session.scalar(refused) is None


def test_reset_with_the_code_ends_every_session_and_signs_in_fresh(app, db):
    hub = factories.make_hub()
    student = _student_of(hub)
    old = signed_in(app, student, IPHONE).cookies()
    code = _code_in(_issue(app, factories.make_user(roles=("volunteer",), hub=hub),
                           student.phone).get_data(as_text=True))
    device = Device(app)
    resp = device.post("/tai-khoan/dat-lai-mat-khau", data={
        "phone": "0" + student.phone[3:], "code": code[:4].lower() + "-" + code[4:],
        "password": "moi-hon-123", "confirm": "moi-hon-123"})
    assert resp.status_code == 303
    assert device.get("/tai-khoan/").status_code == 200  # signed in fresh
    assert not opens_profile(app, old, IPHONE)  # every earlier session ended
    db.session.expire_all()
    assert db.session.get(User, student.id).check_password("moi-hon-123")
    again = device.post("/tai-khoan/dat-lai-mat-khau", data={
        "phone": student.phone, "code": code, "password": "khac-nua-123",
        "confirm": "khac-nua-123"})
    assert again.status_code == 422 and "đã được dùng" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, student.id).check_password("moi-hon-123")  # single use


def _redeem(phone, code, password="moi-hon-123"):
    try:
        resets.redeem(phone, code, password)
    except resets.ResetError:
        return False
    return True


def _code_for(_db, student, staff):
    return resets.issue_for(staff.id, student.phone).code


def test_expired_code_and_a_newer_code_void_the_old(app, db):
    hub = factories.make_hub()
    student = _student_of(hub)
    staff = factories.make_user(roles=("organizer",), hub=hub)
    first = _code_for(db, student, staff)
    second = _code_for(db, student, staff)
    assert not _redeem(student.phone, first)  # voided by the newer code
    db.session.execute(update(OneTimeCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert not _redeem(student.phone, second)  # expired
    db.session.expire_all()
    assert db.session.get(User, student.id).check_password(factories.PASSWORD)


def test_wrong_tries_void_the_code(app, db):
    hub = factories.make_hub()
    student = _student_of(hub)
    code = _code_for(db, student, factories.make_user(roles=("admin",)))
    wrong = "".join("2" if ch != "2" else "3" for ch in code)
    for _ in range(resets.MAX_TRIES):
        assert not _redeem(student.phone, wrong)
    assert not _redeem(student.phone, code)  # the right code, too late
    db.session.expire_all()
    assert db.session.get(User, student.id).check_password(factories.PASSWORD)


def test_issuing_is_limited_per_staff_member(app, db):
    hub = factories.make_hub()
    student = _student_of(hub)
    staff = factories.make_user(roles=("organizer",), hub=hub)
    for _ in range(resets.ISSUES_PER_HOUR):
        resets.issue_for(staff.id, student.phone)
    try:
        resets.issue_for(staff.id, student.phone)
    except resets.ResetError as exc:
        assert "quá nhiều" in str(exc.message)
    else:
        raise AssertionError("the limit did not hold")
    assert resets.issue_for(factories.make_user(roles=("admin",)).id, student.phone).code


def test_bad_reset_input_shows_a_clear_message(client, db):
    factories.make_user(phone="+84912000111")
    resp = client.post("/tai-khoan/dat-lai-mat-khau", data={
        "phone": "0912000111", "code": "ABCD2345", "password": "moi-hon-123",
        "confirm": "moi-hon-123"})
    assert resp.status_code == 422
    assert "Mã khôi phục không đúng, đã hết hạn hoặc đã được dùng" in resp.get_data(as_text=True)
    assert client.get("/tai-khoan/dat-lai-mat-khau").status_code == 200
