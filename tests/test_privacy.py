"""`flask privacy purge`: phones and street addresses go once each hub's retention period has passed
since a request was delivered or closed; open ones stay; the numbers by ward do not change."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.models import Donation, ItemRequest, WaitlistEntry
from app.services import donations, privacy, stats
from app.services import requests as reqs
from tests.factories import DONG_THAP, TAN_PHUOC_1, make_hub, make_item, make_user

HAND = {"province_code": DONG_THAP, "ward_code": TAN_PHUOC_1, "street": "Ấp Tân Hòa"}


def submit(hub, title="Giày", student=None):
    item = make_item(hub, title=title)
    student = student or make_user()
    return reqs.submit_request(student.id, hub.id, [item.id], reqs.Delivery(
        "volunteer", "Nguyễn Thị Hoa", "0912 345 678", consent=True, **HAND))


def deliver(req, actor):
    for status in ("approved", "packed", "out_for_delivery", "delivered"):
        reqs.change_status(actor.id, req.id, status)


def age(req, days):
    """As if everything that happened to the request happened `days` ago."""
    req = _db.session.get(ItemRequest, req.id)
    for row in (req, *req.events):
        row.created_at -= timedelta(days=days)
    _db.session.commit()


def personal(model, row_id):
    _db.session.expire_all()
    row = _db.session.get(model, row_id)
    return row.phone, row.street, row.ward_code


@pytest.fixture
def hub(db):
    return make_hub(wards=(TAN_PHUOC_1,))  # retention_days: 30 by default


@pytest.fixture
def volunteer(hub):
    return make_user(roles=("volunteer",), hub=hub)


def test_old_closed_requests_lose_phone_and_street_recent_and_open_ones_keep_them(hub,
                                                                                  volunteer):
    old_delivered, recent_delivered = submit(hub, "Áo"), submit(hub, "Quần")
    old_open, old_rejected = submit(hub, "Mũ"), submit(hub, "Nón")
    for req in (old_delivered, recent_delivered):
        deliver(req, volunteer)
    reqs.change_status(volunteer.id, old_rejected.id, "rejected", "Hết đồ")
    for req in (old_delivered, old_open, old_rejected):
        age(req, 31)
    age(recent_delivered, 29)

    result = privacy.purge()
    assert (result.requests, result.dry_run) == (2, False)
    for req in (old_delivered, old_rejected):
        assert personal(ItemRequest, req.id) == (None, None, TAN_PHUOC_1)
    for req in (recent_delivered, old_open):
        assert personal(ItemRequest, req.id) == ("+84912345678", "Ấp Tân Hòa", TAN_PHUOC_1)
    n = stats.numbers([hub], weeks=8)
    assert n.by_ward == [("Xã Tân Phước 1, Đồng Tháp", 4)]  # the purged ones still count
    assert privacy.purge().requests == 0  # idempotent


def test_each_hub_keeps_data_for_its_own_period(db):
    short, long = make_hub(retention_days=7), make_hub(retention_days=90)
    actor = make_user(roles=("admin",))
    reqs_ = [submit(h) for h in (short, long)]
    for req in reqs_:
        deliver(req, actor)
        age(req, 10)
    assert privacy.purge().requests == 1
    assert personal(ItemRequest, reqs_[0].id)[0] is None
    assert personal(ItemRequest, reqs_[1].id)[0] == "+84912345678"


def test_waitlist_entries_and_donation_addresses_are_purged_too(hub, volunteer):
    item = make_item(hub, title="Máy tính", available=0)
    waiting, left = make_user(), make_user()
    delivery = reqs.Delivery("volunteer", "Hoa", "0912 345 678", consent=True, **HAND)
    for student in (waiting, left):
        reqs.join_waitlist(student.id, item.id, delivery)
    reqs.leave_waitlist(left.id, item.id)
    for entry in _db.session.scalars(select(WaitlistEntry)):
        entry.created_at -= timedelta(days=40)
    offer = donations.Offer(hub.id, "Cô Lan", "0987 654 321", "collect",
                            (donations.OfferLine("Áo", "quan-ao"),), consent=True, **HAND)
    closed, still_offered = donations.offer_donation(offer), donations.offer_donation(offer)
    donations.mark_received(volunteer.id, closed.id)
    donations.inspect_line(volunteer.id, closed.lines[0].id,
                           donations.Inspection(False, 1, reason="Áo rách"))
    for d in _db.session.scalars(select(Donation)):
        d.closed_at = d.closed_at and d.closed_at - timedelta(days=31)
        d.created_at -= timedelta(days=31)
    _db.session.commit()

    result = privacy.purge()
    assert (result.waitlist, result.donations) == (1, 1)
    entries = {e.user_id: e for e in _db.session.scalars(select(WaitlistEntry))}
    assert (entries[left.id].phone, entries[left.id].street) == (None, None)
    assert entries[waiting.id].phone == "+84912345678"  # still waiting: still needed
    assert personal(Donation, closed.id) == (None, None, TAN_PHUOC_1)
    assert personal(Donation, still_offered.id) == ("+84987654321", "Ấp Tân Hòa", TAN_PHUOC_1)


def test_cli_dry_run_counts_then_purge_then_nothing_left(app, hub, volunteer):
    req = submit(hub)
    deliver(req, volunteer)
    age(req, 45)
    cli = app.test_cli_runner()
    dry = cli.invoke(args=["privacy", "purge", "--dry-run"])
    assert dry.exit_code == 0 and "Sẽ xóa" in dry.output and "1 yêu cầu" in dry.output
    assert personal(ItemRequest, req.id)[0] == "+84912345678"  # the dry run changed nothing
    done = cli.invoke(args=["privacy", "purge"])
    assert done.exit_code == 0 and "Đã xóa" in done.output and "1 yêu cầu" in done.output
    assert personal(ItemRequest, req.id)[:2] == (None, None)
    again = cli.invoke(args=["privacy", "purge"])
    assert again.exit_code == 0 and "0 yêu cầu, 0 mục danh sách chờ, 0 quà tặng" in again.output


def test_a_purged_request_shows_without_its_phone(client, login_as, hub, volunteer):
    req = submit(hub)
    deliver(req, volunteer)
    age(req, 31)
    privacy.purge()
    login_as(user=volunteer)
    page = client.get(f"/yeu-cau/{req.id}").get_data(as_text=True)
    assert "0912 345 678" not in page and "Ấp Tân Hòa" not in page
    assert "Xã Tân Phước 1" in page
