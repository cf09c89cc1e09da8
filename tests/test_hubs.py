from sqlalchemy import select

from app.models import Hub
from app.services import geo
from app.services.hubs import HubError, HubSpec, create_hub
from tests.factories import DONG_THAP, TAN_PHUOC_1, TAN_PHUOC_2


def test_hub_from_names_of_the_2025_list_with_config_defaults(app, db):
    app.config["HUB_DEFAULT_WEEKLY_LIMIT"] = 4
    try:
        hub = create_hub(HubSpec("Đoàn trường THPT Nguyễn Văn Tiếp", "Đồng Tháp", "Xã Tân Phước 1",
                                 "Phòng Đoàn", "16:30–17:30", ["Xã Tân Phước 2", str(TAN_PHUOC_1)]))
    finally:
        app.config["HUB_DEFAULT_WEEKLY_LIMIT"] = 3
    assert (hub.province_code, hub.ward_code) == (DONG_THAP, TAN_PHUOC_1)
    assert hub.delivery_ward_codes == {TAN_PHUOC_1, TAN_PHUOC_2}
    assert hub.weekly_limit == 4 and hub.delivery_weekday == 5
    assert hub.slug == "doan-truong-thpt-nguyen-van-tiep"


def test_old_province_or_foreign_ward_is_refused_and_nothing_saved(db):
    for spec, message in [
        (HubSpec("A", "Tiền Giang", "Xã Tân Phước 1", "P", "H"), "34 đơn vị"),
        (HubSpec("A", "Đồng Tháp", "Phường Hoàn Kiếm", "P", "H"), "không phải phường/xã"),
        (HubSpec("A", "Đồng Tháp", "Xã Tân Phước 1", "P", "H", ["Phường Hoàn Kiếm"]), "không phải"),
    ]:
        try:
            create_hub(spec)
        except HubError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"accepted {spec}")
    assert db.session.scalars(select(Hub)).all() == []


def test_cli_creates_a_hub(app, db):
    result = app.test_cli_runner().invoke(args=[
        "hub", "create", "--name", "Đoàn phường Hoàn Kiếm", "--province", "Hà Nội",
        "--ward", "Phường Hoàn Kiếm", "--pickup-place", "Nhà văn hóa", "--pickup-hours", "8–11h",
        "--deliver-to", "Phường Hoàn Kiếm"])
    assert result.exit_code == 0, result.output
    hub = db.session.scalar(select(Hub))
    assert hub.province_code == geo.find_province("Hà Nội") and len(hub.delivery_wards) == 1
    bad = app.test_cli_runner().invoke(args=[
        "hub", "create", "--name", "X", "--province", "Hà Tây", "--ward", "Y",
        "--pickup-place", "P", "--pickup-hours", "H"])
    assert bad.exit_code == 1 and "34 đơn vị" in bad.output


def test_namesake_hubs_get_their_own_slugs(app, db):
    spec = HubSpec("Đoàn xã Tân Phước", "Đồng Tháp", "Xã Tân Phước 1", "Nhà văn hóa",
                        "7:00–11:00")
    slugs = [create_hub(spec).slug for _ in range(3)]
    assert slugs == ["doan-xa-tan-phuoc", "doan-xa-tan-phuoc-2", "doan-xa-tan-phuoc-3"]
