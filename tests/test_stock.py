"""A listed item's stock (issue #11): its hub's staff edit it, recount it (never below what requests
hold, also while students request it), unlist and relist it; each change is in the audit log."""
import io
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import pagecache
from app.models import AuditEntry, Item, ItemRequest, Notification, WaitlistEntry
from app.services import catalog, inventory
from app.services import requests as req_svc
from app.services.catalog import CatalogError, CatalogQuery, ItemFields
from app.services.requests import Delivery, OutOfStock, RequestError
from tests import factories
from tests.test_store import jpeg_bytes
from tests.threads import run_together

PICKUP = Delivery("pickup", "Trần Thị Bình", "0987654321", consent=True)
FORM = {"title": "Áo dài trắng", "category": "quan-ao", "size": "M", "condition": "like_new",
        "quantity": "5", "description": "Áo dài nữ sinh, còn mới"}


@pytest.fixture
def hub(db):
    return factories.make_hub()


@pytest.fixture
def volunteer(hub):
    return factories.make_user(roles=("volunteer",), hub=hub, name="Lê Văn Tình")


def fields(**overrides) -> ItemFields:
    base = {"title": "Giày thể thao", "category": "giay-dep", "size": "38", "condition": "good",
            "quantity": 5, "description": ""}
    return ItemFields(**(base | overrides))


def request_units(hub, item, n: int) -> list[ItemRequest]:
    return [req_svc.submit_request(factories.make_user().id, hub.id, [item.id], PICKUP)
            for _ in range(n)]


def fresh(db, item_id: int) -> Item:
    db.session.rollback()  # end the test's own read snapshot
    db.session.expire_all()
    return db.session.get(Item, item_id)


def found(q: str) -> list[str]:
    return [i.title for i in catalog.search(CatalogQuery(q=q), 24).items]


def uploads(app) -> set[str]:
    return {p.name for p in Path(app.config["UPLOAD_FOLDER"]).glob("*.jpg")}


# ---------------------------------------------------------------- editing

def test_an_edit_changes_the_fields_and_the_search_text(db, hub, volunteer):
    item = factories.make_item(hub, quantity=5)
    inventory.edit_item(volunteer.id, item.id, fields(
        title="Áo dài trắng", category="quan-ao", size="M", condition="like_new",
        description="Áo nữ sinh"))
    item = fresh(db, item.id)
    assert (item.title, item.category, item.size, item.condition, item.description) == \
        ("Áo dài trắng", "quan-ao", "M", "like_new", "Áo nữ sinh")
    assert item.edited_at is not None
    assert found("ao dai") == ["Áo dài trắng"]
    assert found("quan ao") == ["Áo dài trắng"]  # the category's words follow too
    assert found("giay") == []


def test_quantity_goes_up_and_down_keeping_what_requests_hold(db, hub, volunteer):
    item = factories.make_item(hub, quantity=5)
    request_units(hub, item, 2)
    inventory.edit_item(volunteer.id, item.id, fields(quantity=8))
    item = fresh(db, item.id)
    assert (item.quantity, item.available) == (8, 6)
    inventory.edit_item(volunteer.id, item.id, fields(quantity=2))
    item = fresh(db, item.id)
    assert (item.quantity, item.available, inventory.held(item)) == (2, 0, 2)


def test_quantity_below_what_requests_hold_is_refused_and_nothing_is_saved(app, db, hub,
                                                                         volunteer):
    item = factories.make_item(hub, quantity=5)
    request_units(hub, item, 3)
    before = uploads(app)
    with pytest.raises(CatalogError) as refused:
        inventory.edit_item(volunteer.id, item.id, fields(title="Tên mới", quantity=2),
                            new_photos=[jpeg_bytes()])
    assert refused.value.field == "quantity"
    assert str(refused.value.message) == \
        "3 món đang được giữ cho các yêu cầu, số lượng không thể ít hơn 3."
    item = fresh(db, item.id)
    assert (item.title, item.quantity, item.available, item.photos) == \
        ("Giày thể thao", 5, 2, [])
    assert uploads(app) == before  # the photo stored for the edit is gone again


def test_the_database_decides_when_requests_took_units_since_the_page_was_read(db, hub,
                                                                             volunteer):
    """The early check reads the item before the write; the conditional UPDATE decides."""
    item = factories.make_item(hub, quantity=3)
    seen = db.session.get(Item, item.id)
    assert inventory.held(seen) == 0
    request_units(hub, item, 3)  # after the page was read
    with pytest.raises(CatalogError, match="3 món đang được giữ"):
        inventory.edit_item(volunteer.id, item.id, fields(quantity=1))
    assert (fresh(db, item.id).quantity, fresh(db, item.id).available) == (3, 0)


def test_added_units_go_to_the_waitlist_first(db, hub, volunteer):
    item = factories.make_item(hub, quantity=1)
    request_units(hub, item, 1)
    waiter = factories.make_user(name="Phạm Chờ")
    req_svc.join_waitlist(waiter.id, item.id, PICKUP)
    inventory.edit_item(volunteer.id, item.id, fields(quantity=2))
    item = fresh(db, item.id)
    assert (item.quantity, item.available) == (2, 0)
    entry = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.user_id == waiter.id))
    assert entry.status == "fulfilled"
    assert db.session.get(ItemRequest, entry.request_id).user_id == waiter.id


def test_photos_are_added_removed_and_reordered_and_removed_files_deleted(app, db, hub,
                                                                          volunteer):
    item = catalog.create_item(hub.id, volunteer.id, fields(), [jpeg_bytes((200, 0, 0)),
                                                               jpeg_bytes((0, 200, 0))])
    first, second = [(p.id, p.stem) for p in fresh(db, item.id).photos]
    inventory.edit_item(volunteer.id, item.id, fields(), keep_photos=[second[0]],
                        new_photos=[jpeg_bytes((0, 0, 200))])
    photos = fresh(db, item.id).photos
    assert [p.stem for p in photos][0] == second[1] and len(photos) == 2
    assert [p.position for p in photos] == [0, 1]
    names = uploads(app)
    assert f"{first[1]}.jpg" not in names and f"{first[1]}_t.jpg" not in names
    assert f"{second[1]}.jpg" in names and f"{photos[1].stem}.jpg" in names

    inventory.edit_item(volunteer.id, item.id, fields(), keep_photos=[photos[1].id, second[0]])
    assert [p.stem for p in fresh(db, item.id).photos] == [photos[1].stem, second[1]]


def test_too_many_photos_or_another_items_photo_are_refused(db, hub, volunteer):
    item = catalog.create_item(hub.id, volunteer.id, fields(), [jpeg_bytes()] * 3)
    other = catalog.create_item(hub.id, volunteer.id, fields(), [jpeg_bytes()])
    with pytest.raises(CatalogError, match="Tối đa 4 ảnh") as refused:
        inventory.edit_item(volunteer.id, item.id, fields(), new_photos=[jpeg_bytes()] * 2)
    assert refused.value.field == "photos"
    with pytest.raises(CatalogError, match="không thuộc món đồ này"):
        inventory.edit_item(volunteer.id, item.id, fields(),
                            keep_photos=[fresh(db, other.id).photos[0].id])
    assert len(fresh(db, item.id).photos) == 3


def test_staff_of_a_unit_above_may_edit_others_may_not(db, hub):
    district = factories.make_hub(name="Đoàn xã Tân Phước")
    school = factories.make_hub(name="Đoàn trường THCS", parent_id=district.id)
    item = factories.make_item(school, quantity=2)
    above = factories.make_user(roles=("organizer",), hub=district)
    inventory.edit_item(above.id, item.id, fields(title="Giày của trường", quantity=2))
    assert fresh(db, item.id).title == "Giày của trường"
    for outsider in (factories.make_user(roles=("volunteer",), hub=hub), factories.make_user()):
        with pytest.raises(LookupError):
            inventory.edit_item(outsider.id, item.id, fields(title="Không được"))
        with pytest.raises(LookupError):
            inventory.set_listed(outsider.id, item.id, False)
    assert fresh(db, item.id).title == "Giày của trường"


# ---------------------------------------------------------------- racing students

def test_recounts_racing_requests_never_break_the_stock_rule(app, db, hub, volunteer):
    """Students request units while staff set new quantities: every answer is a request, "out of
    stock" or "held", and afterwards 0 <= available <= quantity and quantity - available is the
    number of requests exactly."""
    item = factories.make_item(hub, quantity=6)
    students = [factories.make_user().id for _ in range(14)]
    quantities = [2, 12, 3, 9, 1, 15, 4, 7]
    random.Random(11).shuffle(quantities)
    n = len(students) + len(quantities)

    def act(i):
        if i < len(students):
            return ("request", req_svc.submit_request(students[i], hub.id, [item.id], PICKUP).id)
        quantity = quantities[i - len(students)]
        inventory.edit_item(volunteer.id, item.id, fields(quantity=quantity))
        return ("recount", quantity)

    results, errors = run_together(app, act, n)

    assert len(results) + len(errors) == n
    assert all(isinstance(e, (OutOfStock, CatalogError)) for e in errors), errors
    assert all(e.field == "quantity" for e in errors if isinstance(e, CatalogError))
    item = fresh(db, item.id)
    requests = db.session.scalar(select(func.count()).select_from(ItemRequest))
    assert requests == sum(1 for kind, _ in results if kind == "request")
    assert 0 <= item.available <= item.quantity
    assert item.quantity - item.available == requests
    assert item.quantity in {6, *quantities}


# ---------------------------------------------------------------- unlisting

def test_unlisting_keeps_open_requests_closes_the_waitlist_and_relisting_brings_it_back(
        db, hub, volunteer):
    item = factories.make_item(hub, title="Ba lô xanh", category="ba-lo-cap", quantity=1)
    [req] = request_units(hub, item, 1)
    waiter = factories.make_user(name="Phạm Chờ")
    req_svc.join_waitlist(waiter.id, item.id, PICKUP)
    effects = inventory.unlisting(fresh(db, item.id))
    assert (effects.open_requests, effects.waiting) == (1, 1)

    inventory.set_listed(volunteer.id, item.id, False)
    inventory.set_listed(volunteer.id, item.id, False)  # twice: nothing more happens
    assert fresh(db, item.id).is_listed is False
    assert found("ba lo") == []
    assert db.session.get(ItemRequest, req.id).status == "submitted"  # not cancelled
    assert db.session.scalar(select(WaitlistEntry.status)) == "closed"
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == waiter.id))
    assert "Ba lô xanh" in note.message and "danh sách chờ" in note.message
    assert inventory.unlisting(fresh(db, item.id)).waiting == 0

    # Nobody may ask for it now; a unit given back stays in stock.
    with pytest.raises(RequestError):
        req_svc.join_waitlist(factories.make_user().id, item.id, PICKUP)
    req_svc.cancel_request(req.user_id, req.id)
    assert fresh(db, item.id).available == 1
    with pytest.raises(OutOfStock):
        req_svc.submit_request(factories.make_user().id, hub.id, [item.id], PICKUP)

    inventory.set_listed(volunteer.id, item.id, True)
    assert fresh(db, item.id).is_listed is True
    assert found("ba lo") == ["Ba lô xanh"]
    req_svc.submit_request(factories.make_user().id, hub.id, [item.id], PICKUP)
    assert fresh(db, item.id).available == 0


def test_the_staff_list_has_unlisted_items_and_searches_titles(db, hub, volunteer):
    shoes = factories.make_item(hub, title="Giày thể thao")
    factories.make_item(hub, title="Vở ô li", category="sach-vo", size="")
    factories.make_item(factories.make_hub(), title="Giày của điểm khác")
    inventory.set_listed(volunteer.id, shoes.id, False)

    def titles(**kw):
        return [i.title for i in inventory.staff_items(inventory.StaffQuery(hub.id, **kw),
                                                       30).items]

    assert sorted(titles()) == ["Giày thể thao", "Vở ô li"]
    assert titles(q="giay") == ["Giày thể thao"]
    assert titles(show="unlisted") == ["Giày thể thao"]
    assert titles(show="listed") == ["Vở ô li"]


# ---------------------------------------------------------------- the routes

def edit_url(item) -> str:
    return f"/quan-ly/mon-do/{item.id}/sua"


def test_the_edit_link_shows_only_for_the_hubs_staff(client, login_as, hub):
    item = factories.make_item(hub)
    assert edit_url(item) not in client.get(f"/do-tang/{item.id}").get_data(as_text=True)
    login_as("volunteer", hub=factories.make_hub())
    assert edit_url(item) not in client.get(f"/do-tang/{item.id}").get_data(as_text=True)
    login_as("volunteer", hub=hub)
    page = client.get(f"/do-tang/{item.id}").get_data(as_text=True)
    assert edit_url(item) in page and f"/quan-ly/mon-do/{item.id}/go" in page


def test_a_volunteer_edits_through_the_form_and_the_catalog_follows(app, client, login_as, hub):
    """Signed in, the catalog is live; an anonymous visitor's shared copy keeps the old title for
    CATALOG_CACHE_SECONDS at most, as it does for stock (app/pagecache.py)."""
    now = [0.0]
    pagecache.cache().clock = lambda: now[0]
    item = factories.make_item(hub, quantity=5)
    visitor = app.test_client()
    assert "Giày thể thao" in visitor.get("/do-tang").get_data(as_text=True)
    login_as("volunteer", hub=hub)
    form = client.get(edit_url(item))
    assert form.status_code == 200 and 'value="Giày thể thao"' in form.get_data(as_text=True)
    resp = client.post(edit_url(item), data=FORM)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/do-tang/{item.id}")
    assert "Áo dài trắng" in client.get("/do-tang").get_data(as_text=True)
    assert "Áo dài trắng" in visitor.get(f"/do-tang/{item.id}").get_data(as_text=True)
    now[0] += app.config["CATALOG_CACHE_SECONDS"]
    page = visitor.get("/do-tang").get_data(as_text=True)
    assert "Áo dài trắng" in page and "Giày thể thao" not in page


def test_the_form_refuses_a_quantity_below_what_is_held_by_the_field(db, client, login_as, hub):
    item = factories.make_item(hub, quantity=5)
    request_units(hub, item, 3)
    login_as("volunteer", hub=hub)
    resp = client.post(edit_url(item), data=FORM | {"quantity": "2"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "3 món đang được giữ cho các yêu cầu, số lượng không thể ít hơn 3." in page
    assert 'value="2"' in page  # what they typed stays in the field
    item = fresh(db, item.id)
    assert (item.title, item.quantity, item.available) == ("Giày thể thao", 5, 2)


def test_photos_through_the_form(app, db, client, login_as, hub):
    volunteer = login_as("volunteer", hub=hub)
    item = catalog.create_item(hub.id, volunteer.id, fields(), [jpeg_bytes((200, 0, 0)),
                                                               jpeg_bytes((0, 200, 0))])
    a, b = [(p.id, p.stem) for p in fresh(db, item.id).photos]
    page = client.get(edit_url(item)).get_data(as_text=True)
    assert 'name="existing-0-remove"' in page and 'name="existing-1-position"' in page
    resp = client.post(edit_url(item), data=FORM | {
        "existing-0-photo_id": str(a[0]), "existing-0-position": "1", "existing-0-remove": "y",
        "existing-1-photo_id": str(b[0]), "existing-1-position": "1",
        "photos": [(io.BytesIO(jpeg_bytes()), "new.jpg")]}, content_type="multipart/form-data")
    assert resp.status_code == 303, resp.get_data(as_text=True)
    photos = fresh(db, item.id).photos
    assert photos[0].stem == b[1] and len(photos) == 2
    assert f"{a[1]}.jpg" not in uploads(app)


@pytest.mark.parametrize("path, method", [
    ("/quan-ly/mon-do/{id}/sua", "GET"), ("/quan-ly/mon-do/{id}/sua", "POST"),
    ("/quan-ly/mon-do/{id}/go", "GET"), ("/quan-ly/mon-do/{id}/go", "POST"),
    ("/quan-ly/mon-do/{id}/dang-lai", "POST"),
])
def test_other_hubs_volunteers_get_404_students_403(db, client, login_as, hub, path, method):
    item = factories.make_item(hub)
    url = path.format(id=item.id)
    login_as("volunteer", hub=factories.make_hub())
    assert client.open(url, method=method, data=FORM).status_code == 404
    login_as("student")
    assert client.open(url, method=method, data=FORM).status_code == 403
    item = fresh(db, item.id)
    assert (item.title, item.is_listed) == ("Giày thể thao", True)


def test_the_staff_list_is_for_staff_of_the_hub(client, login_as, hub):
    factories.make_item(hub, title="Giày thể thao")
    other = factories.make_hub()
    assert client.get("/quan-ly/mon-do").status_code == 302  # to the login page
    login_as("student")
    assert client.get("/quan-ly/mon-do").status_code == 403
    login_as("volunteer", hub=hub)
    page = client.get("/quan-ly/mon-do?q=giay").get_data(as_text=True)
    assert "Giày thể thao" in page
    assert client.get(f"/quan-ly/mon-do?hub={other.id}").status_code == 404
    assert "/quan-ly/mon-do" in client.get("/do-tang").get_data(as_text=True)  # the staff menu


def test_unlisting_asks_first_then_hides_the_item_but_not_from_staff(client, login_as, hub):
    item = factories.make_item(hub, title="Ba lô xanh", category="ba-lo-cap", quantity=2)
    request_units(hub, item, 1)
    login_as("volunteer", hub=hub)
    confirm = client.get(f"/quan-ly/mon-do/{item.id}/go")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "1 yêu cầu đang mở vẫn giữ món" in text and "không yêu cầu nào bị hủy" in text
    assert 'method="post"' in text
    assert client.post(f"/quan-ly/mon-do/{item.id}/go").status_code == 303
    staff_page = client.get(f"/do-tang/{item.id}").get_data(as_text=True)
    assert "Đăng lại" in staff_page and "Thêm vào giỏ" not in staff_page
    assert "đã gỡ" in client.get("/quan-ly/mon-do").get_data(as_text=True)

    client.post("/tai-khoan/dang-xuat")
    assert client.get(f"/do-tang/{item.id}").status_code == 404
    assert "Ba lô xanh" not in client.get("/do-tang").get_data(as_text=True)
    assert client.post(f"/gio/them/{item.id}").status_code == 404

    login_as("organizer", hub=hub)
    assert client.post(f"/quan-ly/mon-do/{item.id}/dang-lai").status_code == 303
    client.post("/tai-khoan/dang-xuat")
    assert client.get(f"/do-tang/{item.id}").status_code == 200


def test_every_kind_of_change_is_audited_with_its_actor(db, client, login_as, hub):
    volunteer = login_as("volunteer", hub=hub)
    item = catalog.create_item(hub.id, volunteer.id, fields(), [jpeg_bytes()])
    photo_id = fresh(db, item.id).photos[0].id

    def logged(since: int) -> list[AuditEntry]:
        db.session.rollback()
        return list(db.session.scalars(select(AuditEntry).where(
            AuditEntry.id > since, AuditEntry.target_type == "Item").order_by(AuditEntry.id)))

    def last_id() -> int:
        db.session.rollback()
        return db.session.scalar(select(func.max(AuditEntry.id))) or 0

    changes = [
        ("fields", edit_url(item), FORM | {"quantity": "5"}, {"title", "search_text"}),
        ("quantity", edit_url(item), FORM | {"quantity": "9"}, {"quantity", "available"}),
        ("photos", edit_url(item), FORM | {"quantity": "9", "existing-0-photo_id": str(photo_id),
                                           "existing-0-remove": "y"}, {"edited_at"}),
        ("unlist", f"/quan-ly/mon-do/{item.id}/go", {}, {"is_listed"}),
        ("relist", f"/quan-ly/mon-do/{item.id}/dang-lai", {}, {"is_listed"}),
    ]
    for kind, url, data, changed in changes:
        since = last_id()
        assert client.post(url, data=data).status_code == 303, kind
        rows = logged(since)
        assert rows, kind
        assert all((r.actor_id, r.target_id, r.action) == (volunteer.id, item.id, "update")
                   for r in rows), kind
        assert changed <= {f for r in rows for f in r.details["fields"]}, (kind, rows)
    quantity = next(r for r in logged(0) if "quantity" in r.details["fields"])
    assert quantity.details["values"]["quantity"] == [None, 9]
    listed = [r.details["values"]["is_listed"] for r in logged(0)
              if "is_listed" in r.details["fields"]]
    assert listed == [[True, False], [False, True]]


def test_the_new_item_form_is_unchanged(client, login_as, hub):
    login_as("volunteer", hub=hub)
    page = client.get("/quan-ly/mon-do/moi").get_data(as_text=True)
    assert 'name="hub_id"' in page and "existing-" not in page
