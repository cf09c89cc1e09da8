"""Union units from a phone (issue #11): organizers create units below theirs, edit every setting
and the wards their volunteers deliver to; every change is in the audit log in words; a unit's
contact shows as links where students look for it."""
import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import AuditEntry, Hub, HubWard
from app.services import audit, geo, hubs
from app.services import requests as req_svc
from app.services.hubs import HubError, HubSettings, HubSpec
from app.services.requests import Delivery
from tests import factories
from tests.factories import DONG_THAP, HOAN_KIEM, TAN_PHUOC_1, TAN_PHUOC_2

UNITS = "/quan-ly/don-vi"
TAN_PHUOC_3 = geo.find_ward("Xã Tân Phước 3", DONG_THAP)


@pytest.fixture
def tree(db):
    """Tỉnh Đoàn Đồng Tháp (no stock) → Đoàn xã Tân Phước 1 → a school; and a school elsewhere."""
    province = factories.make_hub(name="Tỉnh Đoàn Đồng Tháp", level="province",
                                  holds_stock=False, wards=())
    commune = factories.make_hub(name="Đoàn xã Tân Phước 1", level="commune",
                                 parent_id=province.id)
    school = factories.make_hub(name="Đoàn trường THPT Nguyễn Văn Tiếp", parent_id=commune.id)
    other = factories.make_hub(name="Đoàn phường Hoàn Kiếm", province_code=factories.HA_NOI,
                               ward_code=HOAN_KIEM, wards=(HOAN_KIEM,))
    return province, commune, school, other


def entries(**where) -> list[AuditEntry]:
    _db.session.rollback()
    stmt = select(AuditEntry).filter_by(**where).order_by(AuditEntry.id)
    return list(_db.session.scalars(stmt))


def as_actor(user):
    return audit.current_actor.set(user.id)


def settings(hub: Hub, **changes) -> HubSettings:
    return HubSettings(**(hubs.settings_of(hub).__dict__ | changes))


EDIT = {  # every setting, as the settings form posts it
    "name": "Đoàn trường THPT Nguyễn Văn Tiếp (Tân Phước)", "pickup_place": "Thư viện, tầng 2",
    "pickup_hours": "7:00–11:00", "description": "Nhận áo dài, giày, vở.",
    "contact_phone": "0912 345 678", "zalo_phone": "0987654321",
    "map_url": "https://maps.app.goo.gl/AbC123", "delivery_weekday": "6",
    "cutoff_weekday": "4", "cutoff_time": "18:30", "stops_per_route": "8",
    "weekly_limit": "5", "retention_days": "14", "holds_stock": "y",
}


# ---------------------------------------------------------------- the service

def test_a_unit_below_its_parent_takes_the_parents_province(tree):
    province, commune, _school, _other = tree
    organizer = factories.make_user(roles=("organizer",), hub=province)
    unit = hubs.create_hub(HubSpec(
        "Đoàn trường THCS Tân Phước", "", str(TAN_PHUOC_2), "Phòng Đoàn", "16:00–17:00",
        parent_id=commune.id, level="base", contact_phone="0912 345 678",
        zalo_phone="+84987654321", map_url="https://www.openstreetmap.org/#map=17/10.3/106.2"),
        actor_id=organizer.id)
    assert (unit.parent_id, unit.province_code, unit.ward_code) == \
        (commune.id, DONG_THAP, TAN_PHUOC_2)
    assert unit.path == f"/{province.id}/{commune.id}/{unit.id}/"
    assert (unit.contact_phone, unit.zalo_phone) == ("+84912345678", "+84987654321")
    assert unit.holds_stock and unit.level == "base"
    assert organizer.has_role("organizer", unit.id)


@pytest.mark.parametrize("spec, field, message", [
    (dict(province="Hà Nội", ward="Phường Hoàn Kiếm"), "province", "cùng tỉnh/thành phố"),
    (dict(ward=str(HOAN_KIEM)), "ward_code", "không phải phường/xã của Đồng Tháp"),
    (dict(ward=""), "ward_code", "không phải phường/xã"),
    (dict(level="province"), "level", "không thể là Tỉnh Đoàn"),
    (dict(level="huyen"), "level", "chọn cấp"),
    (dict(name="  "), "name", "tên đơn vị"),
    (dict(contact_phone="0123"), "contact_phone", "không hợp lệ"),
    (dict(zalo_phone="+1 202 555 0100"), "zalo_phone", "Việt Nam"),
    (dict(map_url="javascript:alert(1)"), "map_url", "https://"),
])
def test_a_bad_new_unit_is_refused_by_its_field_and_nothing_saved(tree, spec, field, message):
    _province, commune, _school, _other = tree
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    before = _db.session.scalar(select(func.count()).select_from(Hub))
    values = dict(name="Đoàn trường mới", province="", ward=str(TAN_PHUOC_2),
                  pickup_place="Phòng Đoàn", pickup_hours="", parent_id=commune.id) | spec
    with pytest.raises(HubError) as refused:
        hubs.create_hub(HubSpec(**values), actor_id=organizer.id)
    assert refused.value.field == field and message in str(refused.value.message)
    assert _db.session.scalar(select(func.count()).select_from(Hub)) == before


def test_only_an_organizer_of_the_parent_creates_below_it(tree):
    province, commune, school, other = tree
    spec = HubSpec("Chi đoàn 10A1", "", str(TAN_PHUOC_1), "Lớp 10A1", "", parent_id=school.id)
    for user in (factories.make_user(roles=("volunteer",), hub=school),
                 factories.make_user(roles=("organizer",), hub=other),
                 factories.make_user(roles=("organizer",), hub=school)):
        if user.has_role("organizer", school.id):
            assert hubs.create_hub(spec, actor_id=user.id).parent_id == school.id
        else:
            with pytest.raises(LookupError):
                hubs.create_hub(spec, actor_id=user.id)
    with pytest.raises(LookupError):  # the top of a tree: only on the command line
        hubs.create_hub(HubSpec("Tỉnh Đoàn Hà Nội", "Hà Nội", "Phường Hoàn Kiếm", "P", "H",
                                level="province"),
                        actor_id=factories.make_user(roles=("organizer",), hub=province).id)


def test_every_setting_is_edited_and_audited_in_words(tree):
    _province, commune, school, _other = tree
    organizer = factories.make_user(roles=("organizer",), hub=commune, name="Lê Thị Hoa")
    token = as_actor(organizer)
    try:
        hubs.update_hub(organizer.id, school.id, HubSettings(
            name="Đoàn trường THPT Nguyễn Văn Tiếp (Tân Phước)", pickup_place="Thư viện",
            pickup_hours="7:00–11:00", description="Nhận áo dài.", contact_phone="0912345678",
            zalo_phone="0987 654 321", map_url="https://maps.app.goo.gl/AbC123",
            delivery_weekday=6, cutoff_weekday=4, cutoff_minutes=18 * 60 + 30,
            stops_per_route=8, weekly_limit=5, retention_days=14, holds_stock=True))
    finally:
        audit.current_actor.reset(token)
    hub = _db.session.get(Hub, school.id)
    assert (hub.name, hub.pickup_place, hub.pickup_hours, hub.description) == (
        "Đoàn trường THPT Nguyễn Văn Tiếp (Tân Phước)", "Thư viện", "7:00–11:00", "Nhận áo dài.")
    assert (hub.contact_phone, hub.zalo_phone, hub.map_url) == (
        "+84912345678", "+84987654321", "https://maps.app.goo.gl/AbC123")
    assert (hub.delivery_weekday, hub.cutoff_weekday, hub.cutoff_minutes, hub.stops_per_route,
            hub.weekly_limit, hub.retention_days) == (6, 4, 1110, 8, 5, 14)
    [entry] = entries(target_type="Hub")
    assert (entry.actor_id, entry.action, entry.target_id, entry.hub_id) == \
        (organizer.id, "update", school.id, school.id)
    said = audit.describe(entry)
    for words in ("Giờ nhận đồ: 16:30–17:30 → 7:00–11:00", "Ngày giao: Thứ Bảy → Chủ nhật",
                  "Ngày chốt danh sách: Thứ Năm → Thứ Sáu", "Giờ chốt danh sách: 20:00 → 18:30",
                  "Số món mỗi tuần: 3 → 5", "Điện thoại liên hệ: (trống) → 0912 345 678",
                  "Nơi nhận đồ: Phòng Đoàn, dãy A → Thư viện",
                  "Bản đồ: (trống) → https://maps.app.goo.gl/AbC123"):
        assert words in said, (words, said)
    assert "cutoff_minutes" not in said and "pickup_hours" not in said


def test_a_bad_setting_is_refused_and_nothing_saved(tree):
    _province, commune, school, _other = tree
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    for change, field in [({"map_url": "http://maps.example/x"}, "map_url"),
                          ({"map_url": "javascript:alert(1)"}, "map_url"),
                          ({"map_url": "https://a b.vn"}, "map_url"),
                          ({"map_url": "data:text/html,<b>x</b>"}, "map_url"),
                          ({"contact_phone": "12345"}, "contact_phone"),
                          ({"weekly_limit": 0}, "weekly_limit"),
                          ({"stops_per_route": 101}, "stops_per_route"),
                          ({"delivery_weekday": 7}, "delivery_weekday"),
                          ({"pickup_place": " "}, "pickup_place")]:
        with pytest.raises(HubError) as refused:
            hubs.update_hub(organizer.id, school.id, settings(school, **change, name="Đổi tên"))
        assert refused.value.field == field, change
    _db.session.expire_all()
    assert _db.session.get(Hub, school.id).name == "Đoàn trường THPT Nguyễn Văn Tiếp"
    assert hubs.check_map_url(" https://goo.gl/maps/x ") == "https://goo.gl/maps/x"


def test_a_hub_with_listed_items_keeps_holding_stock(tree):
    _province, commune, school, _other = tree
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    factories.make_item(school)
    with pytest.raises(HubError) as refused:
        hubs.update_hub(organizer.id, school.id, settings(school, holds_stock=False))
    assert refused.value.field == "holds_stock"
    hubs.update_hub(organizer.id, commune.id, settings(commune, holds_stock=False))
    assert _db.session.get(Hub, commune.id).holds_stock is False


def test_editing_is_for_organizers_of_the_unit_or_above(tree):
    province, commune, school, other = tree
    for user in (factories.make_user(roles=("volunteer",), hub=school),
                 factories.make_user(roles=("organizer",), hub=other),
                 factories.make_user(roles=("organizer",), hub=school)):
        for target in (commune, province):
            with pytest.raises(LookupError):
                hubs.update_hub(user.id, target.id, settings(target, name="X"))
            with pytest.raises(LookupError):
                hubs.set_delivery_wards(user.id, target.id, [TAN_PHUOC_1])
    admin = factories.make_user(roles=("admin",))
    assert hubs.update_hub(admin.id, other.id, settings(other, weekly_limit=4)).weekly_limit == 4


def test_delivery_wards_are_of_the_province_and_audited_by_name(tree):
    _province, commune, school, _other = tree
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    with pytest.raises(HubError) as refused:
        hubs.set_delivery_wards(organizer.id, school.id, [TAN_PHUOC_2, HOAN_KIEM])
    assert refused.value.field == "wards" and "Đồng Tháp" in str(refused.value.message)
    assert school.delivery_ward_codes == {TAN_PHUOC_1}
    assert entries() == []
    token = as_actor(organizer)
    try:
        hubs.set_delivery_wards(organizer.id, school.id, [TAN_PHUOC_2, TAN_PHUOC_3])
    finally:
        audit.current_actor.reset(token)
    _db.session.expire_all()
    assert _db.session.get(Hub, school.id).delivery_ward_codes == {TAN_PHUOC_2, TAN_PHUOC_3}
    assert _db.session.scalar(select(func.count()).select_from(HubWard)
                              .where(HubWard.hub_id == school.id)) == 2
    [entry] = entries(target_type="Hub")
    assert audit.describe(entry) == \
        "Phường/xã giao hàng: thêm Xã Tân Phước 2, Xã Tân Phước 3; bỏ Xã Tân Phước 1"


def test_creating_a_unit_is_audited_with_its_parent_by_name(tree):
    _province, commune, _school, _other = tree
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    token = as_actor(organizer)
    try:
        unit = hubs.create_hub(HubSpec("Đoàn trường THCS Tân Phước", "", str(TAN_PHUOC_2),
                                       "Phòng Đoàn", "16:00–17:00", [str(TAN_PHUOC_2)],
                                       parent_id=commune.id), actor_id=organizer.id)
    finally:
        audit.current_actor.reset(token)
    [entry] = entries(target_type="Hub")
    assert (entry.action, entry.target_id, entry.hub_id) == ("create", unit.id, unit.id)
    said = audit.describe(entry, {commune.id: commune.name})
    for words in ("Tên đơn vị: Đoàn trường THCS Tân Phước", "Đơn vị cấp trên: Đoàn xã Tân Phước 1",
                  "Cấp: Đoàn cơ sở", "Phường/xã: Xã Tân Phước 2", "Giữ và phát đồ: có",
                  "Phường/xã giao hàng: thêm Xã Tân Phước 2"):
        assert words in said, (words, said)
    assert "slug" not in said and "path" not in said


def test_item_changes_read_before_and_after(db, tree):
    _province, commune, school, _other = tree
    item = factories.make_item(school, title="Giày thể thao", category="giay-dep", size="38",
                               quantity=2)
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    token = as_actor(organizer)
    try:
        item.title, item.category, item.condition, item.size = \
            "Giày vải", "quan-ao", "like_new", ""
        item.quantity, item.available, item.is_listed = 3, 3, False
        item.description = "Còn mới"
        item.search_text = " giay vai"
        _db.session.commit()
    finally:
        audit.current_actor.reset(token)
    [entry] = entries(target_type="Item")
    said = audit.describe(entry)
    for words in ("Tên món đồ: Giày thể thao → Giày vải", "Danh mục: Giày dép → Quần áo",
                  "Tình trạng: Còn tốt → Như mới", "Cỡ: 38 → (trống)", "Số lượng: 2 → 3",
                  "Còn lại: 2 → 3", "Đang hiển thị: có → không", "Mô tả: (trống) → Còn mới"):
        assert words in said, (words, said)
    assert "search_text" not in said


def test_a_students_data_never_reaches_the_log_through_a_unit(tree):
    """A unit's own contact is public; what the log keeps of a unit holds no student's data."""
    _province, commune, school, _other = tree
    student = factories.make_user(name="Trần Thị Bình", phone="+84911222333")
    item = factories.make_item(school)
    req_svc.submit_request(student.id, school.id, [item.id], Delivery(
        "volunteer", "Trần Thị Bình", "0911222333", DONG_THAP, TAN_PHUOC_1, "Ấp 1, nhà số 7",
        True))
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    token = as_actor(organizer)
    try:
        hubs.update_hub(organizer.id, school.id, settings(school, contact_phone="0912345678"))
        hubs.set_delivery_wards(organizer.id, school.id, [TAN_PHUOC_2])
    finally:
        audit.current_actor.reset(token)
    dumped = json.dumps([e.details for e in entries()], ensure_ascii=False)
    for secret in ("Trần Thị Bình", "911222333", "Ấp 1"):
        assert secret not in dumped
    assert "+84912345678" in dumped  # the union's own public number


def test_units_that_hold_no_stock_are_not_offered_as_hubs(client, login_as, tree):
    province, commune, school, _other = tree
    html = client.get("/do-tang").get_data(as_text=True)
    assert school.name in html and province.name not in html
    login_as("organizer", hub=province)
    form = client.get("/quan-ly/mon-do/moi").get_data(as_text=True)
    assert school.name in form and f'<option value="{province.id}"' not in form
    resp = client.post("/quan-ly/mon-do/moi", data={
        "hub_id": str(province.id), "title": "Áo", "category": "quan-ao", "size": "",
        "condition": "good", "quantity": "1", "description": ""})
    assert resp.status_code == 422
    offer = client.get("/tang-do").get_data(as_text=True)
    assert school.name in offer and province.name not in offer


# ---------------------------------------------------------------- the pages

def test_the_tree_shows_levels_stock_and_links(client, login_as, tree):
    province, commune, school, other = tree
    login_as("organizer", hub=province)
    html = client.get(UNITS).get_data(as_text=True)
    for hub in (province, commune, school):
        assert hub.name in html
        assert f"{UNITS}/{hub.id}/sua" in html and f"{UNITS}/moi?cha={hub.id}" in html
    assert other.name not in html
    assert "Tỉnh Đoàn" in html and "Đoàn xã/phường" in html and "Đoàn cơ sở" in html
    assert "không giữ đồ" in html and "giữ và phát đồ" in html
    # nested: the school's list item sits inside the commune's
    assert re.search(re.escape(commune.name) + r".*<ul>.*" + re.escape(school.name), html,
                     re.DOTALL)
    assert client.get(f"{UNITS}/{school.id}").status_code == 200


def test_an_organizer_of_a_parent_edits_a_child_through_the_form(client, login_as, tree):
    _province, commune, school, _other = tree
    organizer = login_as("organizer", hub=commune)
    page = client.get(f"{UNITS}/{school.id}/sua")
    assert page.status_code == 200 and 'value="20:00"' in page.get_data(as_text=True)
    resp = client.post(f"{UNITS}/{school.id}/sua", data=EDIT)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{UNITS}/{school.id}")
    hub = _db.session.get(Hub, school.id)
    _db.session.refresh(hub)
    assert (hub.pickup_hours, hub.delivery_weekday, hub.cutoff_minutes, hub.retention_days,
            hub.contact_phone) == ("7:00–11:00", 6, 18 * 60 + 30, 14, "+84912345678")
    [entry] = entries(target_type="Hub")
    assert entry.actor_id == organizer.id
    admin = login_as("admin")
    log = client.get("/quan-tri/nhat-ky").get_data(as_text=True)
    assert "Giờ nhận đồ: 16:30–17:30 → 7:00–11:00" in log and "Đơn vị Đoàn" in log
    assert admin.id


def test_bad_input_on_the_form_is_shown_by_the_field(client, login_as, tree):
    _province, commune, school, _other = tree
    login_as("organizer", hub=commune)
    for change, message in [({"map_url": "javascript:alert(1)"}, "https://"),
                            ({"contact_phone": "0123"}, "không hợp lệ"),
                            ({"cutoff_time": "25:99"}, "20:00"),
                            ({"weekly_limit": "abc"}, ""),
                            ({"name": ""}, "tên đơn vị")]:
        resp = client.post(f"{UNITS}/{school.id}/sua", data=EDIT | change)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and 'class="error"' in html and message in html, change
        assert "<title>Lỗi:" in html
    _db.session.expire_all()
    assert _db.session.get(Hub, school.id).pickup_hours == "16:30–17:30"


def test_creating_a_unit_through_the_form(client, login_as, tree):
    _province, commune, _school, other = tree
    login_as("organizer", hub=commune)
    page = client.get(f"{UNITS}/moi", query_string={"cha": commune.id}).get_data(as_text=True)
    assert "Xã Tân Phước 2" in page and "Phường Hoàn Kiếm" not in page
    assert client.get(f"{UNITS}/phuong-xa", query_string={"parent_id": commune.id}
                      ).get_data(as_text=True).count("<option") > 10
    data = {"parent_id": str(commune.id), "name": "Đoàn trường THCS Tân Phước", "level": "base",
            "holds_stock": "y", "ward_code": str(TAN_PHUOC_2), "pickup_place": "Phòng Đoàn",
            "pickup_hours": "16:00–17:00", "contact_phone": "0912 345 678", "zalo_phone": "",
            "map_url": ""}
    bad = client.post(f"{UNITS}/moi", data=data | {"ward_code": str(HOAN_KIEM)})
    assert bad.status_code == 422 and "không phải phường/xã của Đồng Tháp" in \
        bad.get_data(as_text=True)
    assert client.post(f"{UNITS}/moi", data=data | {"parent_id": str(other.id)}
                       ).status_code == 404
    resp = client.post(f"{UNITS}/moi", data=data)
    assert resp.status_code == 303
    unit = _db.session.scalar(select(Hub).where(Hub.name == "Đoàn trường THCS Tân Phước"))
    assert unit.parent_id == commune.id and unit.contact_phone == "+84912345678"
    assert resp.headers["Location"].endswith(f"{UNITS}/{unit.id}")


def test_the_ward_picker_filters_without_js_and_saves(client, login_as, tree):
    _province, commune, school, _other = tree
    login_as("organizer", hub=commune)
    full = client.get(f"{UNITS}/{school.id}/phuong-xa").get_data(as_text=True)
    assert "Xã Tân Phước 2" in full and f'value="{TAN_PHUOC_1}" checked' in full
    assert 'data-filter="#ward-list"' in full and "js/filter.js" in full
    filtered = client.get(f"{UNITS}/{school.id}/phuong-xa", query_string={"tim": "tan phuoc 2"}
                          ).get_data(as_text=True)
    assert filtered.count('type="checkbox"') == 2  # the chosen one, and the match
    assert "Xã Tân Phước 2" in filtered and "Phường Cao Lãnh" not in filtered
    bad = client.post(f"{UNITS}/{school.id}/phuong-xa",
                      data={"wards": [str(TAN_PHUOC_2), str(HOAN_KIEM)]})
    assert bad.status_code == 422 and "Chỉ chọn phường/xã của Đồng Tháp" in \
        bad.get_data(as_text=True)
    ok = client.post(f"{UNITS}/{school.id}/phuong-xa",
                     data={"wards": [str(TAN_PHUOC_2), str(TAN_PHUOC_3)]})
    assert ok.status_code == 303
    _db.session.expire_all()
    assert _db.session.get(Hub, school.id).delivery_ward_codes == {TAN_PHUOC_2, TAN_PHUOC_3}
    detail = client.get(f"{UNITS}/{school.id}").get_data(as_text=True)
    assert "Xã Tân Phước 2, Xã Tân Phước 3" in detail
    assert str(TAN_PHUOC_2) not in detail  # no ward codes shown


def test_who_may_use_the_unit_pages(client, login_as, tree):
    province, commune, school, other = tree
    assert client.get(UNITS).status_code == 302  # to the login page
    login_as("volunteer", hub=school)
    assert client.get(UNITS).status_code == 403
    assert client.get(f"{UNITS}/{school.id}/sua").status_code == 403
    assert client.post(f"{UNITS}/{school.id}/sua", data=EDIT).status_code == 403
    login_as("organizer", hub=other)  # another tree
    for url in (f"{UNITS}/{school.id}", f"{UNITS}/{school.id}/sua",
                f"{UNITS}/{school.id}/phuong-xa", f"{UNITS}/moi?cha={school.id}",
                f"{UNITS}/phuong-xa?parent_id={school.id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{UNITS}/{school.id}/sua", data=EDIT).status_code == 404
    assert client.post(f"{UNITS}/{school.id}/phuong-xa",
                       data={"wards": [str(TAN_PHUOC_2)]}).status_code == 404
    login_as("organizer", hub=school)  # below: never above
    assert client.get(f"{UNITS}/{commune.id}").status_code == 404
    assert client.get(f"{UNITS}/{school.id}").status_code == 200
    login_as("admin")
    assert client.get(f"{UNITS}/{other.id}/sua").status_code == 200
    _db.session.expire_all()
    assert _db.session.get(Hub, school.id).name == "Đoàn trường THPT Nguyễn Văn Tiếp"


def test_unit_forms_need_the_csrf_token(csrf_app, tree):
    _province, commune, school, _other = tree
    client = csrf_app.test_client()
    user = factories.make_user(roles=("organizer",), hub=commune)
    page = client.get("/tai-khoan/dang-nhap").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/tai-khoan/dang-nhap", data={
        "phone": user.phone, "password": factories.PASSWORD, "csrf_token": token}
        ).status_code == 303
    for url, data in ((f"{UNITS}/{school.id}/sua", EDIT),
                      (f"{UNITS}/{school.id}/phuong-xa", {"wards": [str(TAN_PHUOC_2)]}),
                      (f"{UNITS}/moi", {"parent_id": str(commune.id), "name": "X"})):
        assert client.post(url, data=data).status_code == 400, url
    _db.session.expire_all()
    assert _db.session.get(Hub, school.id).pickup_hours == "16:30–17:30"
    assert school.delivery_ward_codes == {TAN_PHUOC_1}


# ---------------------------------------------------------------- the contact, where students look

def test_a_units_contact_shows_as_links_on_the_three_pages(client, login_as, tree):
    _province, commune, school, _other = tree
    organizer = factories.make_user(roles=("organizer",), hub=commune)
    hubs.update_hub(organizer.id, school.id, settings(
        school, contact_phone="0912345678", zalo_phone="0987654321",
        map_url="https://maps.app.goo.gl/AbC123"))
    item = factories.make_item(school)
    student = login_as("student")
    req = req_svc.submit_request(student.id, school.id, [item.id],
                                 Delivery("pickup", "Bình", "0911222333", consent=True))
    school = _db.session.get(Hub, school.id)
    for url in (f"/diem-phat/{school.slug}", f"/do-tang/{item.id}", f"/yeu-cau/{req.id}"):
        html = client.get(url).get_data(as_text=True)
        assert 'href="tel:+84912345678"' in html and "0912 345 678" in html, url
        assert 'href="https://zalo.me/0987654321"' in html, url
        assert 'href="https://maps.app.goo.gl/AbC123"' in html, url


def test_a_unit_without_contact_shows_no_empty_links(client, tree):
    _province, _commune, school, _other = tree
    html = client.get(f"/diem-phat/{school.slug}").get_data(as_text=True)
    assert "tel:" not in html and "zalo.me" not in html


# ---------------------------------------------------------------- the command line

def test_the_cli_creates_a_unit_below_a_parent(app, tree):
    _province, commune, _school, _other = tree
    result = app.test_cli_runner().invoke(args=[
        "hub", "create", "--name", "Đoàn trường THCS Tân Phước", "--parent", str(commune.id),
        "--ward", "Xã Tân Phước 2", "--pickup-place", "Phòng Đoàn", "--pickup-hours", "16–17h",
        "--level", "base"])
    assert result.exit_code == 0, result.output
    unit = _db.session.scalar(select(Hub).where(Hub.name == "Đoàn trường THCS Tân Phước"))
    assert unit.parent_id == commune.id and unit.province_code == DONG_THAP
    top = app.test_cli_runner().invoke(args=[
        "hub", "create", "--name", "Tỉnh Đoàn Hà Nội", "--province", "Hà Nội",
        "--ward", "Phường Hoàn Kiếm", "--pickup-place", "Trụ sở", "--pickup-hours", "",
        "--level", "province", "--no-stock"])
    assert top.exit_code == 0, top.output
    hanoi = _db.session.scalar(select(Hub).where(Hub.name == "Tỉnh Đoàn Hà Nội"))
    assert hanoi.level == "province" and not hanoi.holds_stock and hanoi.parent_id is None
    for args, message in ((["--parent", "999999"], "Không có đơn vị"),
                          (["--parent", str(commune.id), "--province", "Hà Nội"], "cùng tỉnh")):
        bad = app.test_cli_runner().invoke(args=[
            "hub", "create", "--name", "X", "--ward", "Phường Hoàn Kiếm", "--pickup-place", "P",
            "--pickup-hours", "H", *args])
        assert bad.exit_code == 1 and message in bad.output, bad.output
