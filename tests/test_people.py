"""People of a union unit (issue #11): organizers invite volunteers and organizers by phone or by a
one-time link (a QR code at a meeting), cancel invitations and revoke roles; nobody grants a role
above their own or outside their subtree; a revoked role signs its holder out everywhere."""
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import AuditEntry, Invitation, User, UserRole, UserSession
from app.models.base import utcnow
from app.services import people
from tests import factories
from tests.test_accounts import Device, signed_in


@pytest.fixture
def tree(db):
    """Tỉnh Đoàn (no stock) → Đoàn xã → a school; and a school in another province."""
    province = factories.make_hub(name="Tỉnh Đoàn Đồng Tháp", level="province",
                                  holds_stock=False, wards=())
    commune = factories.make_hub(name="Đoàn xã Tân Phước 1", level="commune",
                                 parent_id=province.id)
    school = factories.make_hub(name="Đoàn trường THPT Nguyễn Văn Tiếp", parent_id=commune.id)
    other = factories.make_hub(name="Đoàn phường Hoàn Kiếm", province_code=factories.HA_NOI,
                               ward_code=factories.HOAN_KIEM, wards=(factories.HOAN_KIEM,))
    return province, commune, school, other


def roles_of(user_id: int) -> set[tuple[str, int | None]]:
    _db.session.rollback()
    return {(r.role, r.hub_id) for r in _db.session.scalars(
        select(UserRole).where(UserRole.user_id == user_id))}


def link_token(client, hub_id: int, how: str = "link", role: str = "volunteer", phone: str = ""):
    resp = client.post(f"/quan-ly/don-vi/{hub_id}/thanh-vien/moi",
                       data={"role": role, "how": how, "phone": phone})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:800]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    found = re.search(r"/loi-moi/([A-Za-z0-9_-]{20,})", page)
    return found.group(1) if found else None, page


# ---------------------------------------------------------------- invitations by link

def test_a_link_invitation_is_a_qr_code_taken_once_by_a_new_account(app, client, login_as, tree):
    province, commune, school, _ = tree
    organizer = factories.make_user(roles=("organizer",), hub=province)
    client = signed_in(app, organizer)
    token, page = link_token(client, school.id)
    assert token and "<svg" in page and "Dùng được một lần" in page
    stored = _db.session.scalar(select(Invitation))
    assert stored.token_hash == people.token_hash(token) != token  # only the hash is kept

    new = Device(app)
    join = new.get(f"/loi-moi/{token}")
    assert join.status_code == 200
    text = join.get_data(as_text=True)
    assert "Đoàn trường THPT Nguyễn Văn Tiếp mời bạn làm Tình nguyện viên" in text
    assert f"/tai-khoan/dang-ky?next=/loi-moi/{token}" in text
    resp = new.post(f"/tai-khoan/dang-ky?next=/loi-moi/{token}", data={
        "name": "Lê Văn Tình", "phone": "0933 111 222", "password": "tinh-nguyen-1",
        "confirm": "tinh-nguyen-1"})
    assert resp.headers["Location"] == f"/loi-moi/{token}"
    resp = new.post(f"/loi-moi/{token}/nhan")
    assert resp.status_code == 303 and resp.headers["Location"] == "/quan-ly/mon-do"
    volunteer = _db.session.scalar(select(User).where(User.phone == "+84933111222"))
    assert roles_of(volunteer.id) == {("student", None), ("volunteer", school.id)}
    role = _db.session.scalar(select(UserRole).where(UserRole.role == "volunteer"))
    assert role.granted_by_id == organizer.id
    assert new.get("/quan-ly/mon-do").status_code == 200

    # Used: nobody else can take it, and the page says so.
    other = factories.make_user(name="Người khác")
    third = signed_in(app, other)
    again = third.post(f"/loi-moi/{token}/nhan")
    assert again.status_code == 422 and third.get(f"/loi-moi/{token}").status_code == 410
    assert "đã hết hạn, đã được dùng hoặc đã bị hủy" in again.get_data(as_text=True)
    assert roles_of(other.id) == {("student", None)}
    assert client.get(f"/loi-moi/{'x' * 30}").status_code == 404


def test_an_expired_or_cancelled_link_says_so_and_grants_nothing(app, client, login_as, tree):
    _, commune, school, _ = tree
    client = signed_in(app, factories.make_user(roles=("organizer",), hub=commune))
    token, _page = link_token(client, school.id)
    inv = _db.session.scalar(select(Invitation))
    inv.expires_at = utcnow()
    _db.session.commit()
    student = factories.make_user()
    other = signed_in(app, student)
    assert other.post(f"/loi-moi/{token}/nhan").status_code == 422
    assert roles_of(student.id) == {("student", None)}

    token, _page = link_token(client, school.id)
    inv = _db.session.scalar(select(Invitation).order_by(Invitation.id.desc()).limit(1))
    confirm = client.get(f"/quan-ly/don-vi/{school.id}/loi-moi/{inv.id}/huy")
    assert "Hủy lời mời?" in confirm.get_data(as_text=True)
    assert client.post(f"/quan-ly/don-vi/{school.id}/loi-moi/{inv.id}/huy").status_code == 303
    assert other.post(f"/loi-moi/{token}/nhan").status_code == 422
    assert roles_of(student.id) == {("student", None)}


def test_a_link_is_shown_only_on_the_device_that_made_it(app, client, login_as, tree):
    _, commune, school, _ = tree
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    client = signed_in(app, organizer)
    token, _page = link_token(client, school.id)
    inv = _db.session.scalar(select(Invitation))
    same_person_elsewhere = signed_in(app, organizer)
    page = same_person_elsewhere.get(f"/quan-ly/don-vi/{school.id}/loi-moi/{inv.id}")
    assert page.status_code == 200 and token not in page.get_data(as_text=True)
    assert "chỉ hiện trên thiết bị đã tạo nó" in page.get_data(as_text=True)


# ---------------------------------------------------------------- invitations by phone

def test_a_phone_invitation_waits_for_the_registration_with_that_phone(app, client, login_as,
                                                                       tree):
    _, commune, school, _ = tree
    client = signed_in(app, factories.make_user(roles=("organizer",), hub=commune))
    resp = client.post(f"/quan-ly/don-vi/{school.id}/thanh-vien/moi",
                       data={"role": "organizer", "how": "phone", "phone": "0944 555 666"})
    assert resp.status_code == 303
    listing = client.get(f"/quan-ly/don-vi/{school.id}/thanh-vien").get_data(as_text=True)
    assert "Lời mời đang chờ" in listing and "0944 555 666" in listing

    new = Device(app)
    resp = new.post("/tai-khoan/dang-ky", data={
        "name": "Phạm Thu Hà", "phone": "0944555666", "password": "can-bo-doan-1",
        "confirm": "can-bo-doan-1"})
    assert resp.headers["Location"] == "/tai-khoan/loi-moi"
    mine = new.get("/tai-khoan/loi-moi").get_data(as_text=True)
    assert "Cán bộ Đoàn — Đoàn trường THPT Nguyễn Văn Tiếp" in mine
    inv = _db.session.scalar(select(Invitation))
    resp = new.post(f"/tai-khoan/loi-moi/{inv.id}/nhan")
    assert resp.headers["Location"] == f"/quan-ly/don-vi/{school.id}"
    user = _db.session.scalar(select(User).where(User.phone == "+84944555666"))
    assert ("organizer", school.id) in roles_of(user.id)
    assert "Người phụ trách" in new.get(f"/quan-ly/don-vi/{school.id}").get_data(as_text=True)


def test_an_existing_account_is_told_and_accepts_or_declines(app, client, login_as, tree):
    _, commune, school, _ = tree
    client = signed_in(app, factories.make_user(roles=("organizer",), hub=commune))
    student = factories.make_user(name="Trần Minh")
    for role in ("volunteer", "organizer"):
        assert client.post(f"/quan-ly/don-vi/{school.id}/thanh-vien/moi", data={
            "role": role, "how": "phone", "phone": student.phone}).status_code == 303
    theirs = Device(app)
    resp = theirs.post("/tai-khoan/dang-nhap", data={"phone": student.phone,
                                                     "password": factories.PASSWORD})
    assert resp.headers["Location"] == "/tai-khoan/loi-moi"
    assert "Bạn có 2 lời mời đang chờ" in theirs.get("/tai-khoan/").get_data(as_text=True)
    assert "mời bạn làm Tình nguyện viên" in theirs.get("/thong-bao/").get_data(as_text=True)
    volunteer_inv, organizer_inv = _db.session.scalars(select(Invitation).order_by(Invitation.id))
    assert theirs.post(f"/tai-khoan/loi-moi/{organizer_inv.id}/tu-choi").status_code == 303
    assert theirs.post(f"/tai-khoan/loi-moi/{volunteer_inv.id}/nhan").status_code == 303
    assert roles_of(student.id) == {("student", None), ("volunteer", school.id)}
    # The declined one cannot be accepted afterwards.
    theirs.post(f"/tai-khoan/loi-moi/{organizer_inv.id}/nhan")
    assert ("organizer", school.id) not in roles_of(student.id)


def test_someone_elses_phone_invitation_is_not_found(app, client, login_as, tree):
    _, commune, school, _ = tree
    client = signed_in(app, factories.make_user(roles=("organizer",), hub=commune))
    invited = factories.make_user()
    client.post(f"/quan-ly/don-vi/{school.id}/thanh-vien/moi",
                data={"role": "volunteer", "how": "phone", "phone": invited.phone})
    inv = _db.session.scalar(select(Invitation))
    stranger = factories.make_user()
    theirs = signed_in(app, stranger)
    assert theirs.post(f"/tai-khoan/loi-moi/{inv.id}/nhan").status_code == 404
    assert theirs.post(f"/tai-khoan/loi-moi/{inv.id}/tu-choi").status_code == 404
    assert roles_of(stranger.id) == {("student", None)}
    _db.session.refresh(inv)
    assert inv.accepted_at is None and inv.revoked_at is None


# ---------------------------------------------------------------- who may grant

def test_bad_invitations_get_a_message_by_the_field_and_change_nothing(client, login_as, tree):
    _, commune, school, _ = tree
    holder = factories.make_user(roles=("volunteer",), hub=school, name="Võ Thị Lan")
    login_as("organizer", hub=commune)
    url = f"/quan-ly/don-vi/{school.id}/thanh-vien/moi"
    cases = [
        ({"role": "volunteer", "how": "phone", "phone": ""}, "Vui lòng nhập số điện thoại"),
        ({"role": "volunteer", "how": "phone", "phone": "12345"}, "Số điện thoại"),
        ({"role": "volunteer", "how": "phone", "phone": holder.phone}, "Võ Thị Lan đã giữ"),
        ({"role": "volunteer", "how": "fax"}, "Mời bằng"),
    ]
    for body, message in cases:
        resp = client.post(url, data=body)
        assert resp.status_code == 422, body
        assert message in resp.get_data(as_text=True), body
    assert _db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_nobody_grants_above_their_own_role_or_outside_their_subtree(client, login_as, tree):
    province, commune, school, other = tree
    login_as("organizer", hub=commune)
    url = f"/quan-ly/don-vi/{school.id}/thanh-vien/moi"
    assert client.post(url, data={"role": "admin", "how": "link"}).status_code == 403
    assert client.post(url, data={"role": "student", "how": "link"}).status_code == 403
    for hub in (province, other):  # above the organizer's unit, another province's
        assert client.get(f"/quan-ly/don-vi/{hub.id}/thanh-vien").status_code == 404
        assert client.post(f"/quan-ly/don-vi/{hub.id}/thanh-vien/moi",
                           data={"role": "volunteer", "how": "link"}).status_code == 404
    assert _db.session.scalar(select(func.count()).select_from(Invitation)) == 0

    client.post("/tai-khoan/dang-xuat")
    login_as("volunteer", hub=school)  # a volunteer invites nobody
    assert client.get(f"/quan-ly/don-vi/{school.id}/thanh-vien").status_code == 404
    assert client.post(url, data={"role": "volunteer", "how": "link"}).status_code == 404


def test_a_volunteer_cannot_take_an_organizers_place_through_the_service(tree):
    _, commune, school, _ = tree
    volunteer = factories.make_user(roles=("volunteer",), hub=school)
    with pytest.raises(LookupError):
        people.invite(volunteer.id, school.id, "volunteer")
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    assert people.may_grant(organizer, "organizer", school.id)
    assert not people.may_grant(organizer, "admin", school.id)
    assert not people.may_grant(organizer, "volunteer", tree[0].id)


# ---------------------------------------------------------------- the list and revoking

def test_the_list_shows_who_holds_what_since_when(client, login_as, tree):
    province, commune, school, _ = tree
    factories.make_user(roles=("volunteer",), hub=school, name="Võ Thị Lan")
    factories.make_user(roles=("organizer",), hub=province, name="Bí thư Tỉnh Đoàn")
    login_as("organizer", hub=commune)
    page = client.get(f"/quan-ly/don-vi/{school.id}/thanh-vien").get_data(as_text=True)
    here, above = page.split("Từ đơn vị cấp trên")
    assert "Võ Thị Lan" in here and "Tình nguyện viên" in here
    assert "Bí thư Tỉnh Đoàn — Cán bộ Đoàn, Tỉnh Đoàn Đồng Tháp" in above
    assert re.search(r"\d{1,2}/\d{1,2}/20\d\d", here)


def test_revoking_a_role_asks_first_then_signs_the_holder_out(app, client, login_as, tree):
    _, commune, school, _ = tree
    volunteer = factories.make_user(roles=("volunteer",), hub=school, name="Võ Thị Lan")
    theirs = signed_in(app, volunteer)
    assert theirs.get("/quan-ly/mon-do").status_code == 200
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    client = signed_in(app, organizer)
    role = _db.session.scalar(select(UserRole).where(UserRole.role == "volunteer"))
    url = f"/quan-ly/don-vi/{school.id}/vai-tro/{role.id}/thu-hoi"
    ask = client.get(url).get_data(as_text=True)
    assert "Thu hồi vai trò của Võ Thị Lan?" in ask and "đăng xuất ngay" in ask
    assert roles_of(volunteer.id) == {("volunteer", school.id)}
    assert client.post(url).status_code == 303
    assert roles_of(volunteer.id) == set()
    assert _db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == volunteer.id, UserSession.ended_at.is_(None))) == 0
    assert theirs.get("/quan-ly/mon-do").status_code in (302, 401)
    entry = _db.session.scalar(select(AuditEntry).where(AuditEntry.target_type == "UserRole",
                                                        AuditEntry.action == "delete"))
    assert entry is not None and entry.actor_id == organizer.id


def test_revoking_is_refused_for_ones_own_role_and_other_units(client, login_as, tree):
    province, commune, school, other = tree
    organizer = login_as("organizer", hub=commune)
    own = organizer.roles[0]
    resp = client.post(f"/quan-ly/don-vi/{commune.id}/vai-tro/{own.id}/thu-hoi")
    assert resp.status_code == 422 and "không thể tự thu hồi" in resp.get_data(as_text=True)
    far = factories.make_user(roles=("volunteer",), hub=other).roles[0]
    up = factories.make_user(roles=("organizer",), hub=province).roles[0]
    for hub, role in ((other, far), (province, up), (school, far)):
        assert client.post(f"/quan-ly/don-vi/{hub.id}/vai-tro/{role.id}/thu-hoi"
                           ).status_code == 404
    assert len(roles_of(far.user_id)) == 1 and len(roles_of(up.user_id)) == 1
    assert ("organizer", commune.id) in roles_of(organizer.id)


def test_people_pages_render(client, login_as, tree):
    _, commune, school, _ = tree
    login_as("organizer", hub=commune)
    link_token(client, school.id)
    inv = _db.session.scalar(select(Invitation))
    for url in (f"/quan-ly/don-vi/{school.id}/thanh-vien", f"/quan-ly/don-vi/{school.id}",
                f"/quan-ly/don-vi/{school.id}/loi-moi/{inv.id}",
                f"/quan-ly/don-vi/{school.id}/loi-moi/{inv.id}/huy", "/tai-khoan/loi-moi"):
        assert client.get(url).status_code == 200, url
