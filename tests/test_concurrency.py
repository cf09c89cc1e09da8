"""Twenty students race for the last unit: exactly one wins, on a SQLite file and on PostgreSQL."""

from sqlalchemy import func, select

from app.models import Item, ItemRequest
from app.services.requests import Delivery, OutOfStock, submit_request
from tests import factories
from tests.threads import run_together

RACERS = 24


def test_last_unit_goes_to_exactly_one_student(app, db):
    hub = factories.make_hub()
    item = factories.make_item(hub, quantity=1)
    students = [factories.make_user().id for _ in range(RACERS)]
    delivery = Delivery("post", "Trần Thị Bình", "0912345678", factories.DONG_THAP,
                        factories.TAN_PHUOC_2, "Ấp 3, đường Nguyễn Văn Tiếp", True)

    results, errors = run_together(
        app, lambda i: submit_request(students[i], hub.id, [item.id], delivery).code, RACERS)

    assert len(results) == 1, (results, errors)
    assert len(errors) == RACERS - 1
    assert all(isinstance(e, OutOfStock) for e in errors), errors
    db.session.rollback()  # end the test's own read snapshot (SQLite WAL) before checking
    assert db.session.get(Item, item.id).available == 0
    assert db.session.scalar(select(func.count()).select_from(ItemRequest)) == 1


def test_three_units_many_racers_never_oversell(app, db):
    hub = factories.make_hub()
    item = factories.make_item(hub, title="Vở kẻ ngang", category="sach-vo", quantity=3)
    students = [factories.make_user().id for _ in range(RACERS)]
    delivery = Delivery("pickup", "Lê Văn Cường", "0987654321")

    results, errors = run_together(
        app, lambda i: submit_request(students[i], hub.id, [item.id],
                                      Delivery(**{**delivery.__dict__, "consent": True})).id,
        RACERS)

    assert len(results) == 3
    assert all(isinstance(e, OutOfStock) for e in errors) and len(errors) == RACERS - 3
    db.session.rollback()  # end the test's own read snapshot (SQLite WAL) before checking
    assert db.session.get(Item, item.id).available == 0


def test_one_student_double_submit_is_one_request(app, db):
    """The same form posted twice at once (double tap) records one request."""
    hub = factories.make_hub()
    item = factories.make_item(hub, quantity=5)
    student = factories.make_user().id
    delivery = Delivery("pickup", "Lê Văn Cường", "0987654321", consent=True)

    results, errors = run_together(
        app, lambda i: submit_request(student, hub.id, [item.id], delivery,
                                      idempotency_key="form-123").id, 8)

    assert not [e for e in errors if not hasattr(e, "message")], errors
    assert len(set(results)) == 1
    db.session.rollback()  # end the test's own read snapshot (SQLite WAL) before checking
    assert db.session.get(Item, item.id).available == 4
    assert db.session.scalar(select(func.count()).select_from(ItemRequest)) == 1
