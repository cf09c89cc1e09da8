"""`flask seed-demo`: a believable demo in an empty database, and never over existing data."""
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import Hub, Item, User
from app.services import geo, images
from tests.factories import make_hub


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def cli(app, db):
    return app.test_cli_runner()


def test_seed_demo_fills_an_empty_database(cli, client, app):
    result = cli.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output

    units = {h.slug: h for h in _db.session.scalars(select(Hub))}
    province, commune = units["tinh-doan-dong-thap"], units["doan-xa-tan-phuoc-1"]
    hubs = [units["thpt-nguyen-van-tiep"], units["doan-phuong-my-tho"]]
    assert (province.level, province.holds_stock, province.parent_id) == ("province", False, None)
    assert (commune.level, commune.holds_stock, commune.parent_id) == \
        ("commune", False, province.id)
    assert hubs[0].parent_id == commune.id and hubs[1].parent_id == province.id
    assert all(h.holds_stock and h.contact_phone for h in hubs)
    for hub in hubs:
        assert geo.ward_in_province(hub.ward_code, hub.province_code)
        assert hub.pickup_place and hub.pickup_hours and hub.weekly_limit == 3
        assert len(hub.delivery_wards) >= 3
        assert all(geo.ward_in_province(w, hub.province_code) for w in hub.delivery_ward_codes)
    assert geo.place_label(hubs[0].ward_code, hubs[0].province_code) == "Xã Tân Phước 1, Đồng Tháp"

    items = list(_db.session.scalars(select(Item)))
    assert len(items) >= 60
    assert {i.category for i in items} >= {"quan-ao", "sach-vo", "mu-non", "giay-dep",
                                           "do-dung-hoc-tap", "ba-lo-cap"}
    assert {i.hub_id for i in items} == {h.id for h in hubs}
    assert any(i.available == 0 for i in items) and any(i.available > 0 for i in items)
    assert any(i.size for i in items) and len({i.condition for i in items}) >= 3
    assert all(i.search_text.strip() and i.photos for i in items)
    folder = Path(app.config["UPLOAD_FOLDER"])
    for photo in items[0].photos + items[-1].photos:
        assert (folder / f"{photo.stem}.jpg").exists()
        assert (folder / f"{photo.stem}_t.jpg").stat().st_size <= images.THUMB_MAX_BYTES

    users = list(_db.session.scalars(select(User)))
    held = sorted((r.role, r.hub_id) for u in users for r in u.roles)
    assert len(users) == 8
    assert held == sorted([
        ("student", None), ("vendor", None), ("admin", None),
        ("volunteer", hubs[0].id), ("organizer", hubs[0].id),  # staff of both hubs
        ("volunteer", hubs[1].id), ("organizer", hubs[1].id),
        ("organizer", province.id)])  # and a province organizer above them
    top = next(u for u in users if u.has_role("organizer", province.id) and not u.has_role("admin"))
    assert top.hub_ids_for("organizer") == set(units[s].id for s in units)
    # Which account belongs to which unit is printed.
    assert "Nguyễn Hoàng Nam — Tỉnh Đoàn Đồng Tháp" in result.output
    assert "Đặng Thị Lan — Đoàn phường Mỹ Tho" in result.output

    # The printed phone numbers and password log in.
    assert "demo-0dong" in result.output
    for user in users:
        local = "0" + user.phone.removeprefix("+84")
        assert f"{local[:4]} {local[4:7]} {local[7:]}" in result.output
    resp = client.post("/tai-khoan/dang-nhap", data={"phone": "0901 000 001",
                                                    "password": "demo-0dong"})
    assert resp.status_code == 303

    # The demo is visible in the store.
    assert "Giày thể thao trắng" in client.get("/do-tang?q=giay").get_data(as_text=True)


def test_seed_demo_refuses_a_database_with_data(cli, db):
    make_hub()
    result = cli.invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "trống" in result.output
    assert count(Hub) == 1 and count(Item) == 0 and count(User) == 0


def test_seed_demo_if_empty_is_a_no_op_on_a_database_with_data(cli, db):
    make_hub()
    result = cli.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert "bỏ qua" in result.output
    assert count(Hub) == 1 and count(Item) == 0 and count(User) == 0


def test_seed_demo_twice_keeps_one_demo(cli, db):
    assert cli.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0
    items = count(Item)
    assert items >= 60
    assert cli.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0
    assert cli.invoke(args=["seed-demo"]).exit_code != 0
    assert (count(Hub), count(Item), count(User)) == (4, items, 8)

