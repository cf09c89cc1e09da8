"""The request domain without HTTP: fairness, stock, idempotency, cancel, waitlist,
authorization."""
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from app.models import Item, ItemRequest, Notification, WaitlistEntry
from app.services import basket
from app.services import requests as svc
from app.services.formatting import local_today
from app.services.requests import Delivery
from tests.factories import (
    DONG_THAP,
    HA_NOI,
    HOAN_KIEM,
    TAN_PHUOC_1,
    TAN_PHUOC_2,
    make_hub,
    make_item,
    make_user,
)

POST_HN = Delivery("post", "Nguyễn Văn An", "0912 345 678", HA_NOI, HOAN_KIEM, "12 Hàng Bạc", True)
HAND_TP1 = Delivery("volunteer", "Trần Thị Bình", "0987654321", DONG_THAP, TAN_PHUOC_1, "Ấp 3",
                    True)
PICKUP = Delivery("pickup", "Lê Văn Cường", "+84912000111", consent=True)


def count(model, *where) -> int:
    return svc.db.session.scalar(select(func.count()).select_from(model).where(*where))


def available(item) -> int:
    return svc.db.session.scalar(select(Item.available).where(Item.id == item.id))


def next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


# ------------------------------------------------------------------ pure rules

def test_validate_delivery_normalises_and_drops_the_address_of_a_plain_pickup(db):
    hub = make_hub()
    d = svc.validate_delivery(hub, POST_HN)
    assert (d.phone, d.province_code, d.ward_code) == ("+84912345678", HA_NOI, HOAN_KIEM)
    pickup = svc.validate_delivery(hub, PICKUP)
    assert (pickup.province_code, pickup.ward_code, pickup.street) == (None, None, "")


def test_validate_delivery_names_every_bad_field_in_vietnamese(db):
    hub = make_hub()
    bad = Delivery("post", "  ", "+14155550123", HA_NOI, TAN_PHUOC_1, "", False)
    with pytest.raises(svc.InvalidDelivery) as exc:
        svc.validate_delivery(hub, bad)
    errors = {k: str(v) for k, v in exc.value.errors.items()}
    assert errors == {
        "recipient_name": "Vui lòng nhập tên người nhận.",
        "phone": "Vui lòng dùng số điện thoại di động Việt Nam.",
        "ward_code": "Phường/xã không thuộc tỉnh/thành phố đã chọn.",
        "street": "Vui lòng nhập số nhà, đường hoặc thôn/ấp.",
        "consent": "Bạn cần đồng ý cho Đoàn dùng số điện thoại và địa chỉ để giao đồ.",
    }
    assert exc.value.field == "recipient_name"  # the first one, for callers that show one


def test_volunteer_delivery_only_to_the_wards_the_hub_serves(db):
    hub = make_hub(wards=(TAN_PHUOC_1,))
    assert svc.allowed_methods(hub, TAN_PHUOC_1) == ["pickup", "volunteer", "post"]
    assert svc.allowed_methods(hub, TAN_PHUOC_2) == ["pickup", "post"]
    svc.validate_delivery(hub, HAND_TP1)
    far = Delivery("volunteer", "An", "0912345678", DONG_THAP, TAN_PHUOC_2, "Ấp 1", True)
    with pytest.raises(svc.InvalidDelivery) as exc:
        svc.validate_delivery(hub, far)
    assert list(exc.value.errors) == ["method"] and "Xã Tân Phước 2" in exc.value.message
    assert svc.served_wards(hub) == ["Xã Tân Phước 1"]


def test_unknown_province_and_missing_ward(db):
    hub = make_hub()
    for province, ward, field in ((999, HOAN_KIEM, "province_code"), (HA_NOI, None, "ward_code")):
        with pytest.raises(svc.InvalidDelivery) as exc:
            svc.validate_delivery(hub, Delivery("post", "An", "0912345678", province, ward,
                                                "12 Hàng Bạc", True))
        assert list(exc.value.errors) == [field]


def test_next_pickup_day_is_the_hubs_weekday(db):
    hub = make_hub(delivery_weekday=5)
    assert svc.next_pickup_day(hub, date(2025, 10, 8)) == date(2025, 10, 11)  # Wed → Sat
    assert svc.next_pickup_day(hub, date(2025, 10, 11)) == date(2025, 10, 11)


def test_short_code_is_easy_to_read_out():
    code = svc.new_code()
    assert len(code) == 7 and code[2] == "-"
    assert not set(code.replace("-", "")) & set("ILOU")


# ------------------------------------------------------------------ submit

def test_submit_reserves_stock_and_records_the_timeline(db):
    hub, student = make_hub(), make_user()
    shoes, hat = make_item(hub, quantity=2), make_item(hub, title="Mũ")
    req = svc.submit_request(student.id, hub.id, [shoes.id, hat.id, shoes.id], POST_HN)
    assert req.status == "submitted" and [e.status for e in req.events] == ["submitted"]
    assert sorted(ln.item_id for ln in req.lines) == sorted([shoes.id, hat.id])
    assert (available(shoes), available(hat)) == (1, 0)
    assert req.phone == "+84912345678" and req.consent_at is not None
    assert count(Notification, Notification.user_id == student.id) == 1


def test_fairness_limit_per_week_per_hub_and_the_date_to_ask_again(db):
    hub, student = make_hub(weekly_limit=2), make_user()
    a, b, c = (make_item(hub, title=t) for t in ("Áo", "Quần", "Vở"))
    svc.submit_request(student.id, hub.id, [a.id, b.id], POST_HN)
    today = local_today()
    with pytest.raises(svc.LimitReached) as exc:
        svc.submit_request(student.id, hub.id, [c.id], POST_HN)
    monday = next_monday(today)
    assert exc.value.again_on == monday == svc.refused_until(student.id, hub)
    assert f"{monday.day}/{monday.month}/{monday.year}" in exc.value.message
    assert "tối đa 2 món" in exc.value.message
    assert available(c) == 1 and count(ItemRequest) == 1
    # Another hub has its own quota.
    other = make_hub()
    svc.submit_request(student.id, other.id, [make_item(other).id], POST_HN)


def test_limit_message_says_how_many_are_left(db):
    hub, student = make_hub(weekly_limit=3), make_user()
    items = [make_item(hub, title=f"Món {n}") for n in range(4)]
    svc.submit_request(student.id, hub.id, [items[0].id, items[1].id], POST_HN)
    assert svc.refused_until(student.id, hub) is None
    with pytest.raises(svc.LimitReached) as exc:
        svc.submit_request(student.id, hub.id, [items[2].id, items[3].id], POST_HN)
    assert "chỉ còn được yêu cầu 1 món" in exc.value.message


def test_last_weeks_and_cancelled_requests_do_not_count(db):
    hub, student = make_hub(weekly_limit=1), make_user()
    a, b, c = (make_item(hub, title=t) for t in ("Áo", "Quần", "Vở"))
    first = svc.submit_request(student.id, hub.id, [a.id], POST_HN)
    svc.db.session.execute(update(ItemRequest).where(ItemRequest.id == first.id)
                           .values(created_at=first.created_at - timedelta(days=8)))
    svc.db.session.commit()
    second = svc.submit_request(student.id, hub.id, [b.id], POST_HN)
    svc.cancel_request(student.id, second.id)
    svc.submit_request(student.id, hub.id, [c.id], POST_HN)


def test_one_unit_of_an_item_per_student(db):
    hub, student = make_hub(), make_user()
    shirts = make_item(hub, title="Áo đồng phục", quantity=5)
    svc.submit_request(student.id, hub.id, [shirts.id], POST_HN)
    with pytest.raises(svc.RequestError) as exc:
        svc.submit_request(student.id, hub.id, [shirts.id], POST_HN)
    assert exc.value.field == "items" and "1 món cùng loại" in exc.value.message
    assert available(shirts) == 4


def test_an_item_sold_out_or_unlisted_is_left_out_of_the_request(db):
    hub, student = make_hub(weekly_limit=2), make_user()
    left, gone = make_item(hub, title="Áo"), make_item(hub, title="Giày", available=0)
    unlisted, more = make_item(hub, title="Mũ"), make_item(hub, title="Vở")
    unlisted.is_listed = False
    db.session.commit()
    req = svc.submit_request(student.id, hub.id, [left.id, gone.id, unlisted.id, more.id],
                             POST_HN)
    # The weekly limit (2) counts the items taken, not the four asked for.
    assert [line.item_id for line in req.lines] == [left.id, more.id]
    assert (available(left), available(gone), available(unlisted)) == (0, 0, 1)


def test_out_of_stock_when_nothing_is_left_leaves_nothing_saved(db):
    hub, student = make_hub(), make_user()
    gone, unlisted = make_item(hub, title="Giày", available=0), make_item(hub)
    unlisted.is_listed = False
    db.session.commit()
    with pytest.raises(svc.OutOfStock) as exc:
        svc.submit_request(student.id, hub.id, [gone.id], POST_HN)
    assert exc.value.item_ids == [gone.id] and "“Giày” vừa hết" in exc.value.message
    with pytest.raises(svc.OutOfStock) as exc:
        svc.submit_request(student.id, hub.id, [gone.id, unlisted.id], POST_HN)
    assert exc.value.item_ids == [gone.id, unlisted.id]
    assert available(unlisted) == 1
    assert count(ItemRequest) == 0 and count(Notification) == 0


def test_bad_delivery_or_foreign_item_leaves_nothing_saved(db):
    hub, other, student = make_hub(), make_hub(), make_user()
    item = make_item(hub)
    with pytest.raises(svc.InvalidDelivery):
        svc.submit_request(student.id, hub.id, [item.id], replace(POST_HN, consent=False))
    with pytest.raises(svc.RequestError):
        svc.submit_request(student.id, other.id, [item.id], POST_HN)
    with pytest.raises(svc.RequestError):
        svc.submit_request(student.id, hub.id, [], POST_HN)
    assert available(item) == 1 and count(ItemRequest) == 0


def test_the_same_idempotency_key_creates_one_request(db):
    hub, student = make_hub(), make_user()
    item = make_item(hub, quantity=3)
    first = svc.submit_request(student.id, hub.id, [item.id], POST_HN, idempotency_key="k1")
    again = svc.submit_request(student.id, hub.id, [item.id], POST_HN, idempotency_key="k1")
    emptied_basket = svc.submit_request(student.id, hub.id, [], POST_HN, idempotency_key="k1")
    assert first.id == again.id == emptied_basket.id
    assert count(ItemRequest) == 1 and available(item) == 2
    # Another student's key space is their own.
    other = make_user()
    assert svc.submit_request(other.id, hub.id, [item.id], POST_HN, "k1").id != first.id


# ------------------------------------------------------------------ cancel and the timeline

def test_cancel_returns_the_stock(db):
    hub, student = make_hub(), make_user()
    item = make_item(hub)
    req = svc.submit_request(student.id, hub.id, [item.id], POST_HN)
    svc.cancel_request(student.id, req.id)
    assert available(item) == 1
    assert req.status == "cancelled"
    assert [e.status for e in req.events] == ["submitted", "cancelled"]
    assert [s.status for s in svc.timeline(req)] == ["submitted", "cancelled"]


def test_cannot_cancel_after_packed_nor_someone_elses(db):
    hub, student = make_hub(), make_user()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    item = make_item(hub)
    req = svc.submit_request(student.id, hub.id, [item.id], POST_HN)
    with pytest.raises(LookupError):
        svc.cancel_request(make_user().id, req.id)
    svc.change_status(volunteer.id, req.id, "approved")
    svc.change_status(volunteer.id, req.id, "packed")
    with pytest.raises(svc.RequestError) as exc:
        svc.cancel_request(student.id, req.id)
    assert "đóng gói" in exc.value.message
    assert available(item) == 0 and req.status == "packed"


def test_timeline_shows_what_happened_then_the_steps_to_come(db):
    hub, student = make_hub(), make_user()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    req = svc.submit_request(student.id, hub.id, [make_item(hub).id], PICKUP)
    svc.change_status(volunteer.id, req.id, "approved", "Hẹn thứ Bảy")
    steps = svc.timeline(req)
    assert [(s.status, s.at is not None) for s in steps] == [
        ("submitted", True), ("approved", True), ("packed", False),
        ("ready_for_pickup", False), ("delivered", False)]
    assert steps[1].note == "Hẹn thứ Bảy" and steps[3].label == "Sẵn sàng để nhận"


def test_change_status_is_only_for_the_hubs_volunteers_organizers_and_admins(db):
    hub, other_hub, student = make_hub(), make_hub(), make_user()
    req = svc.submit_request(student.id, hub.id, [make_item(hub).id], POST_HN)
    for outsider in (make_user(roles=("volunteer",), hub=other_hub), student,
                     make_user(roles=("organizer",), hub=other_hub)):
        with pytest.raises(LookupError):
            svc.change_status(outsider.id, req.id, "approved")
    assert req.status == "submitted"
    svc.change_status(make_user(roles=("organizer",), hub=hub).id, req.id, "approved")
    svc.change_status(make_user(roles=("volunteer",), hub=hub).id, req.id, "packed")
    admin = make_user(roles=("admin",))
    with pytest.raises(svc.RequestError):  # a parcel for the post is not "ready for pickup"
        svc.change_status(admin.id, req.id, "ready_for_pickup")
    svc.change_status(admin.id, req.id, "at_post_office")
    svc.change_status(admin.id, req.id, "delivered")
    assert [e.status for e in req.events][-1] == "delivered" and not req.is_open
    assert count(Notification, Notification.user_id == student.id) == 5


def test_rejecting_needs_a_reason_and_returns_the_stock(db):
    hub, student = make_hub(), make_user()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    item = make_item(hub)
    req = svc.submit_request(student.id, hub.id, [item.id], POST_HN)
    with pytest.raises(svc.RequestError):
        svc.change_status(volunteer.id, req.id, "rejected", "  ")
    svc.change_status(volunteer.id, req.id, "rejected", "Không đúng đối tượng")
    assert req.reject_reason == "Không đúng đối tượng" and available(item) == 1


def test_personal_data_is_for_the_student_and_the_hubs_staff(db):
    hub, other_hub, student = make_hub(), make_hub(), make_user()
    req = svc.submit_request(student.id, hub.id, [make_item(hub).id], POST_HN)
    assert svc.can_see_personal_data(student, req)
    assert svc.can_see_personal_data(make_user(roles=("volunteer",), hub=hub), req)
    assert svc.can_see_personal_data(make_user(roles=("admin",)), req)
    assert not svc.can_see_personal_data(make_user(roles=("volunteer",), hub=other_hub), req)
    assert not svc.can_see_personal_data(make_user(), req)
    assert svc.get_visible(req.id, make_user()) is None
    assert svc.get_visible(req.id, student) is req


# ------------------------------------------------------------------ waitlist

def _taken_item(hub):
    """An item whose only unit is held by a first student's request."""
    item = make_item(hub)
    holder = make_user(name="Người giữ")
    req = svc.submit_request(holder.id, hub.id, [item.id], POST_HN)
    return item, holder, req


def test_join_and_leave_the_waitlist(db):
    hub = make_hub()
    item, holder, _ = _taken_item(hub)
    a, b = make_user(), make_user()
    entry = svc.join_waitlist(a.id, item.id, HAND_TP1)
    assert svc.join_waitlist(a.id, item.id, POST_HN).id == entry.id  # keeps the first place
    svc.join_waitlist(b.id, item.id, POST_HN)
    assert (svc.waitlist_position(a.id, item.id), svc.waitlist_position(b.id, item.id)) == (1, 2)
    svc.leave_waitlist(a.id, item.id)
    assert (svc.waitlist_position(a.id, item.id), svc.waitlist_position(b.id, item.id)) == (None, 1)
    with pytest.raises(svc.RequestError):  # the holder already has it
        svc.join_waitlist(holder.id, item.id, POST_HN)
    with pytest.raises(svc.RequestError):  # an item still in stock is requested, not waited for
        svc.join_waitlist(a.id, make_item(hub).id, POST_HN)


def test_a_cancelled_unit_goes_to_the_first_in_line(db):
    hub = make_hub()
    item, holder, req = _taken_item(hub)
    first, second = make_user(), make_user()
    svc.join_waitlist(first.id, item.id, HAND_TP1)
    svc.join_waitlist(second.id, item.id, POST_HN)
    svc.cancel_request(holder.id, req.id)
    [given] = svc.list_for_user(first.id)
    assert given.method == "volunteer" and given.ward_code == TAN_PHUOC_1
    assert [ln.item_id for ln in given.lines] == [item.id] and given.status == "submitted"
    assert available(item) == 0
    entry = svc.db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.user_id == first.id))
    assert (entry.status, entry.request_id) == ("fulfilled", given.id)
    assert svc.waitlist_position(second.id, item.id) == 1
    [note] = svc.db.session.scalars(select(Notification).where(Notification.user_id == first.id))
    assert given.code in note.message and note.link == svc.tracking_path(given.id)


def test_a_rejected_unit_goes_to_the_first_in_line(db):
    hub = make_hub()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    item, _, req = _taken_item(hub)
    waiter = make_user()
    svc.join_waitlist(waiter.id, item.id, POST_HN)
    svc.change_status(volunteer.id, req.id, "approved")
    svc.change_status(volunteer.id, req.id, "rejected", "Trùng người nhận")
    assert [r.status for r in svc.list_for_user(waiter.id)] == ["submitted"]
    assert available(item) == 0


def test_an_ineligible_waiter_is_passed_over(db):
    hub = make_hub(weekly_limit=1, wards=(TAN_PHUOC_1, TAN_PHUOC_2))
    item, holder, req = _taken_item(hub)
    over_limit, moved_away, served = make_user(), make_user(), make_user()
    svc.submit_request(over_limit.id, hub.id, [make_item(hub, title="Vở").id], POST_HN)
    svc.join_waitlist(over_limit.id, item.id, POST_HN)
    far = Delivery("volunteer", "An", "0912345678", DONG_THAP, TAN_PHUOC_2, "Ấp 1", True)
    svc.join_waitlist(moved_away.id, item.id, far)
    svc.join_waitlist(served.id, item.id, POST_HN)
    hub.delivery_wards = [w for w in hub.delivery_wards if w.ward_code == TAN_PHUOC_1]
    svc.db.session.commit()

    svc.cancel_request(holder.id, req.id)

    assert [r.status for r in svc.list_for_user(served.id)] == ["submitted"]
    assert len(svc.list_for_user(over_limit.id)) == 1  # only the earlier request
    assert svc.waitlist_position(over_limit.id, item.id) == 1  # keeps their place for next week
    skipped = svc.db.session.scalar(select(WaitlistEntry).where(
        WaitlistEntry.user_id == moved_away.id))
    assert skipped.status == "skipped"
    [note] = svc.db.session.scalars(select(Notification).where(
        Notification.user_id == moved_away.id))
    assert "Xã Tân Phước 2" in note.message
    assert available(item) == 0


def test_nobody_waiting_leaves_the_unit_in_stock(db):
    hub = make_hub()
    item, holder, req = _taken_item(hub)
    waiter = make_user()
    svc.join_waitlist(waiter.id, item.id, POST_HN)
    svc.leave_waitlist(waiter.id, item.id)
    svc.cancel_request(holder.id, req.id)
    assert available(item) == 1 and svc.list_for_user(waiter.id) == []


def test_requesting_directly_closes_ones_own_waitlist_entry(db):
    hub, waiter = make_hub(), make_user()
    item = make_item(hub, quantity=2, available=0)
    svc.join_waitlist(waiter.id, item.id, POST_HN)
    svc.db.session.execute(update(Item).where(Item.id == item.id).values(available=1))  # restock
    svc.db.session.commit()
    got = svc.submit_request(waiter.id, hub.id, [item.id], POST_HN)
    entry = svc.db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.user_id == waiter.id))
    assert (entry.status, entry.request_id) == ("fulfilled", got.id)
    assert svc.waitlist_position(waiter.id, item.id) is None


# ------------------------------------------------------------------ the basket (session helpers)

def test_basket_add_remove_and_cap():
    b = basket.add([], 3)
    b = basket.add(b, 5)
    assert basket.add(b, 3) == [3, 5]
    assert basket.remove(b, 3) == [5] and basket.remove(None, 1) == []
    full = list(range(basket.MAX_ITEMS))
    assert basket.add(full, 999) == full


def test_basket_groups_by_hub_in_order_and_drops_unlisted(db):
    h1, h2 = make_hub(), make_hub()
    a, b, c = make_item(h1, title="A"), make_item(h2, title="B"), make_item(h1, title="C")
    hidden = make_item(h1, title="Ẩn")
    hidden.is_listed = False
    svc.db.session.commit()
    groups = basket.groups([a.id, b.id, c.id, hidden.id, 12345])
    assert [(g.hub.id, g.item_ids) for g in groups] == [(h1.id, [a.id, c.id]), (h2.id, [b.id])]
    assert basket.group_for([b.id], h1.id) is None
