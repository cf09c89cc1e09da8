"""The union's tree: a role held on a unit holds for every unit below it, never above or beside."""
from app.models import Hub
from tests.factories import make_hub, make_user


def test_paths_follow_the_tree_and_roles_hold_for_the_subtree(db):
    province = make_hub(name="Tỉnh Đoàn Đồng Tháp", level="province", holds_stock=False)
    commune = make_hub(name="Đoàn xã Tân Phước 1", level="commune", parent_id=province.id)
    school = make_hub(name="Đoàn trường THPT Nguyễn Văn Tiếp", parent_id=commune.id)
    elsewhere = make_hub(name="Đoàn phường Ninh Kiều")
    assert province.path == f"/{province.id}/"
    assert school.path == f"/{province.id}/{commune.id}/{school.id}/"
    assert school.lineage == [province.id, commune.id, school.id]

    top = make_user(roles=("organizer",), hub=province)
    middle = make_user(roles=("volunteer",), hub=commune)
    assert top.has_role("organizer", school.id) and top.has_role("organizer", province.id)
    assert not top.has_role("organizer", elsewhere.id)
    assert middle.has_role("volunteer", school.id) and middle.has_role("volunteer", commune.id)
    assert not middle.has_role("volunteer", province.id)  # never above
    assert not middle.has_role("organizer", school.id)
    assert top.hub_ids_for("organizer") == {province.id, commune.id, school.id}
    assert middle.hub_ids_for("volunteer", "organizer") == {commune.id, school.id}
    assert make_user().hub_ids_for("volunteer") == set()
    assert make_user(roles=("admin",)).hub_ids_for("organizer") is None


def test_a_unit_reloaded_keeps_its_path(db):
    parent = make_hub()
    child = make_hub(parent_id=parent.id)
    db.session.expire_all()
    assert db.session.get(Hub, child.id).path == f"/{parent.id}/{child.id}/"
