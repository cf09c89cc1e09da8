"""The weekly run: rules, building (grouping, cut-off, flags, idempotency, two builds at once),
the printables' data, the run pages and the `flask batches build` command."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db as _db
from app.models import (
    DeliveryRun,
    HubWard,
    RequestEvent,
    Route,
    RunStop,
    VolunteerSignup,
)
from app.services import geo, runs
from app.services import requests as req_svc
from app.services.formatting import next_weekday
from app.services.handover import latest_stop
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
from tests.threads import run_together

TODAY = date(2031, 1, 1)  # a Wednesday: far enough ahead that every real timestamp is "before"
SATURDAY = next_weekday(TODAY, 5)  # 4/1/2031
HUNG_THANH = geo.find_ward("Xã Hưng Thạnh", DONG_THAP)


def count(model, *where) -> int:
    return _db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def hub(db):
    return make_hub(wards=(TAN_PHUOC_1, TAN_PHUOC_2, HUNG_THANH))


@pytest.fixture
def organizer(hub):
    return make_user(roles=("organizer",), hub=hub, name="Phạm Minh Tuấn")


def approved(hub, organizer, method="volunteer", ward=TAN_PHUOC_1, street="Ấp 1",
             name="Trần Thị Bình", province=DONG_THAP, item=None):
    """A new student's request (for a new item unless given), approved by the organizer."""
    item = item or make_item(hub, title="Vở kẻ ngang", category="sach-vo", size="")
    student = make_user(name=name)
    d = Delivery(method, name, "0987654321", province if method != "pickup" else None,
                 ward if method != "pickup" else None, street if method != "pickup" else "",
                 True)
    req = req_svc.submit_request(student.id, hub.id, [item.id], d, today=TODAY)
    req_svc.change_status(organizer.id, req.id, "approved", today=TODAY)
    return req


def approve_at(req, when: datetime) -> None:
    _db.session.execute(update(RequestEvent).where(RequestEvent.request_id == req.id,
                                                   RequestEvent.status == "approved")
                        .values(created_at=when))
    _db.session.commit()


def sign_up(hub, day, name="Tình nguyện viên"):
    user = make_user(roles=("volunteer",), hub=hub, name=name)
    _db.session.add(VolunteerSignup(hub_id=hub.id, user_id=user.id, date=day))
    _db.session.commit()
    return user


def route_stops(run_id) -> list[list[str]]:
    """Recipient names per route, in route order and stop order."""
    _db.session.expire_all()
    routes = _db.session.scalars(select(Route).where(Route.run_id == run_id)
                                 .order_by(Route.number))
    return [[s.request.recipient_name for s in r.stops] for r in routes]


# ------------------------------------------------------------------ pure rules

def test_street_key_puts_the_same_street_together_then_by_house_number():
    assert runs.street_key("12 Nguyễn Huệ") == ("nguyen hue", 12)
    assert runs.street_key("số 40 đường Nguyễn Huệ") == ("nguyen hue", 40)
    assert runs.street_key("Số nhà 7/3, Lê Lợi") == ("le loi", 7)
    assert runs.street_key("Ấp Mỹ Hòa") == ("ap my hoa", 0)
    assert runs.street_key(None) == ("", 0)
    streets = ["40 Nguyễn Huệ", "Ấp 2", "3 Lê Lợi", "5 đường Nguyễn Huệ", "Ấp 1"]
    assert sorted(streets, key=runs.street_key) == [
        "Ấp 1", "Ấp 2", "3 Lê Lợi", "5 đường Nguyễn Huệ", "40 Nguyễn Huệ"]


def test_split_evenly_uses_the_fewest_routes_of_near_equal_size():
    assert [len(c) for c in runs.split_evenly(list(range(13)), 12)] == [7, 6]
    assert [len(c) for c in runs.split_evenly(list(range(24)), 12)] == [12, 12]
    assert [len(c) for c in runs.split_evenly(list(range(25)), 12)] == [9, 8, 8]
    assert runs.split_evenly([], 12) == []
    assert [x for c in runs.split_evenly(list(range(30)), 4) for x in c] == list(range(30))


def test_cutoff_is_thursday_20h_vietnam_time_before_the_saturday(hub):
    assert (hub.cutoff_weekday, hub.cutoff_minutes, hub.stops_per_route) == (3, 1200, 12)
    assert runs.cutoff_at(hub, SATURDAY) == datetime(2031, 1, 2, 13, 0)  # 20:00 UTC+7
    hub.cutoff_weekday, hub.cutoff_minutes = 5, 7 * 60 + 30  # Saturday 7:30, the same day
    assert runs.cutoff_at(hub, SATURDAY) == datetime(2031, 1, 4, 0, 30)


def test_a_past_day_or_a_day_without_delivery_is_refused_with_a_clear_message(hub):
    with pytest.raises(runs.RunError) as exc:
        runs.build_run(hub.id, day=SATURDAY - timedelta(days=7), today=TODAY)
    assert str(exc.value.message) == (
        "Ngày giao Thứ Bảy, 28/12/2030 đã qua (hạn chốt của chuyến đó cũng đã qua): không thể "
        "lập chuyến cho ngày đã qua. Hãy chọn ngày giao tới, Thứ Bảy, 4/1/2031.")
    with pytest.raises(runs.RunError) as exc:
        runs.build_run(hub.id, day=SATURDAY + timedelta(days=1), today=TODAY)
    assert str(exc.value.message) == (
        "Chủ Nhật, 5/1/2031 không phải ngày giao của điểm phát (điểm phát giao vào Thứ Bảy). "
        "Hãy chọn Thứ Bảy, 11/1/2031.")
    assert count(DeliveryRun) == 0


# ------------------------------------------------------------------ building

def test_routes_group_by_ward_then_street_at_most_stops_per_route(hub, organizer):
    hub.stops_per_route = 3
    _db.session.commit()
    for name, ward, street in [
        ("An", TAN_PHUOC_1, "40 Nguyễn Huệ"), ("Bình", TAN_PHUOC_2, "Ấp 2"),
        ("Chi", TAN_PHUOC_1, "3 Lê Lợi"), ("Dũng", TAN_PHUOC_1, "5 Nguyễn Huệ"),
        ("Giang", TAN_PHUOC_1, "Ấp 1"), ("Hà", TAN_PHUOC_2, "Ấp 1"),
    ]:
        approved(hub, organizer, ward=ward, street=street, name=name)
    result = runs.build_run(hub.id, organizer.id, today=TODAY)
    assert (result.date, result.created, result.added, result.late) == (SATURDAY, True, 6, 0)
    # Tân Phước 1 has four stops → two routes of two; Tân Phước 2 one route.
    assert route_stops(result.run_id) == [["Giang", "Chi"], ["Dũng", "An"], ["Hà", "Bình"]]
    wards = _db.session.scalars(select(Route.ward_code).where(Route.run_id == result.run_id)
                                .order_by(Route.number)).all()
    assert wards == [TAN_PHUOC_1, TAN_PHUOC_1, TAN_PHUOC_2]


def test_post_and_pickup_go_to_their_lists_and_an_unserved_ward_is_flagged(hub, organizer):
    post = approved(hub, organizer, "post", HOAN_KIEM, "12 Hàng Bạc", "Lan", province=HA_NOI)
    pickup = approved(hub, organizer, "pickup", name="Minh")
    hand = approved(hub, organizer, ward=HUNG_THANH, name="Nam")
    # The hub stops delivering by hand to Hưng Thạnh after the request was approved.
    _db.session.execute(HubWard.__table__.delete().where(HubWard.ward_code == HUNG_THANH))
    _db.session.commit()
    _db.session.expire_all()

    result = runs.build_run(hub.id, organizer.id, today=TODAY)
    run = _db.session.get(DeliveryRun, result.run_id)
    assert [s.request_id for s in runs.stops_of(run, "post")] == [post.id]
    assert [s.request_id for s in runs.stops_of(run, "pickup")] == [pickup.id]
    [flagged] = runs.stops_of(run, "flagged")
    assert flagged.request_id == hand.id and flagged.route_id is None
    assert runs.flag_label(flagged).startswith("Xã Hưng Thạnh không còn trong vùng giao tận tay")
    assert route_stops(run.id) == []

    # Served again: the next build puts it on a route, still once in the run.
    _db.session.add(HubWard(hub_id=hub.id, ward_code=HUNG_THANH))
    _db.session.commit()
    runs.build_run(hub.id, organizer.id, today=TODAY)
    assert route_stops(run.id) == [["Nam"]]
    assert count(RunStop, RunStop.request_id == hand.id) == 1


def test_routes_go_round_robin_to_the_volunteers_signed_up_or_stay_unassigned(hub, organizer):
    hub.stops_per_route = 1
    _db.session.commit()
    for name in ("An", "Bình", "Chi"):
        approved(hub, organizer, name=name, street=f"Ấp {name}")
    first = runs.build_run(hub.id, organizer.id, today=TODAY)
    assert _db.session.scalars(select(Route.volunteer_id).where(
        Route.run_id == first.run_id)).all() == [None, None, None]

    hung, lan = sign_up(hub, SATURDAY, "Hùng"), sign_up(hub, SATURDAY, "Lan")
    sign_up(hub, SATURDAY + timedelta(days=7), "Tuần sau")
    runs.build_run(hub.id, organizer.id, today=TODAY)
    _db.session.expire_all()
    assert _db.session.scalars(select(Route.volunteer_id).where(Route.run_id == first.run_id)
                               .order_by(Route.number)).all() == [hung.id, lan.id, hung.id]


def test_building_again_adds_new_approvals_and_duplicates_nothing(hub, organizer):
    hub.stops_per_route = 2
    _db.session.commit()
    approved(hub, organizer, name="An", street="1 Lê Lợi")
    approved(hub, organizer, "post", HOAN_KIEM, "12 Hàng Bạc", "Lan", province=HA_NOI)
    first = runs.build_run(hub.id, organizer.id, today=TODAY)
    again = runs.build_run(hub.id, organizer.id, today=TODAY)
    assert (again.run_id, again.created, again.added) == (first.run_id, False, 0)
    assert count(RunStop) == 2 and count(Route) == 1

    approved(hub, organizer, name="Bình", street="9 Lê Lợi")
    approved(hub, organizer, name="Ánh", street="3 Lê Lợi")  # first in street order: room on 1
    approved(hub, organizer, "post", HOAN_KIEM, "1 Hàng Bạc", "Mai", province=HA_NOI)
    third = runs.build_run(hub.id, organizer.id, today=TODAY)
    assert (third.created, third.added) == (False, 3)
    assert route_stops(first.run_id) == [["An", "Ánh"], ["Bình"]]
    run = _db.session.get(DeliveryRun, first.run_id)
    assert [(s.request.recipient_name, s.position) for s in runs.stops_of(run, "post")] == [
        ("Lan", 1), ("Mai", 2)]
    assert count(RunStop) == 5 == count(RunStop, RunStop.run_id == first.run_id)


def test_a_new_stop_joins_its_route_in_street_order(hub, organizer):
    approved(hub, organizer, name="An", street="1 Lê Lợi")
    approved(hub, organizer, name="Chi", street="9 Lê Lợi")
    result = runs.build_run(hub.id, organizer.id, today=TODAY)
    approved(hub, organizer, name="Bình", street="5 Lê Lợi")
    runs.build_run(hub.id, organizer.id, today=TODAY)
    assert route_stops(result.run_id) == [["An", "Bình", "Chi"]]


def again(hub, organizer, first, street=None, item=None):
    """Another request of `first`'s student (to the same address unless `street`), approved."""
    item = item or make_item(hub, title="Áo đồng phục", category="quan-ao", size="M")
    d = Delivery("volunteer", first.recipient_name, first.phone, DONG_THAP, first.ward_code,
                 street or first.street, True)
    req = req_svc.submit_request(first.user_id, hub.id, [item.id], d, today=TODAY)
    req_svc.change_status(organizer.id, req.id, "approved", today=TODAY)
    return req


def doors(run_id) -> list[list[list[int]]]:
    """Per route, per stop (lead first), the request ids of its parcel."""
    _db.session.expire_all()
    routes = _db.session.scalars(select(Route).where(Route.run_id == run_id)
                                 .order_by(Route.number)).all()
    return [[[s.request_id for s in stop.group] for stop in r.doors] for r in routes]


def test_a_students_requests_to_one_address_are_one_stop_one_parcel(hub, organizer):
    """Issue #14: one door, one parcel, one code (the first request's); another address of the
    same student is another stop; the route's size counts doors; building again packs a new
    request into its student's stop while the route has not set off, and never after."""
    hub.stops_per_route, hub.weekly_limit = 2, 10
    an = approved(hub, organizer, name="An", street="1 Lê Lợi")
    an2 = again(hub, organizer, an, street=" 1  lê lợi ")  # typed a little differently
    binh = approved(hub, organizer, name="Bình", street="3 Lê Lợi")
    an_school = again(hub, organizer, an, street="Trường THCS Tân Phước")
    result = runs.build_run(hub.id, organizer.id, today=TODAY)
    assert result.added == 4
    assert doors(result.run_id) == [[[an.id, an2.id], [binh.id]], [[an_school.id]]]
    run = _db.session.get(DeliveryRun, result.run_id)
    assert sorted(runs.route_sizes(run).values()) == [1, 2]
    lead, follower = latest_stop(an.id), latest_stop(an2.id)
    assert follower.position == lead.position and follower.lead_id == lead.id
    an3 = again(hub, organizer, an)
    runs.build_run(hub.id, organizer.id, today=TODAY)
    assert doors(result.run_id)[0] == [[an.id, an2.id, an3.id], [binh.id]]
    _, sections = runs.pick_list(run)
    assert [s.parcels for s in sections] == [2, 1]  # parcels, not requests
    _db.session.execute(update(Route).values(started_at=datetime(2031, 1, 4, 1)))
    _db.session.commit()
    an4 = again(hub, organizer, an)
    runs.build_run(hub.id, organizer.id, today=TODAY)
    assert doors(result.run_id)[2] == [[an4.id]]  # set off: a stop of a new route


def test_a_route_that_set_off_takes_no_new_stops(hub, organizer):
    approved(hub, organizer, name="An")
    result = runs.build_run(hub.id, organizer.id, today=TODAY)
    _db.session.execute(update(Route).values(started_at=datetime(2031, 1, 4, 1)))
    _db.session.commit()
    approved(hub, organizer, name="Bình")
    runs.build_run(hub.id, organizer.id, today=TODAY)
    assert route_stops(result.run_id) == [["An"], ["Bình"]]


def test_approved_after_the_cutoff_waits_for_the_next_weeks_run(hub, organizer):
    on_time = approved(hub, organizer, name="An")
    late = approved(hub, organizer, name="Bình")
    cutoff = runs.cutoff_at(hub, SATURDAY)
    approve_at(on_time, cutoff)  # exactly at the cut-off still counts
    approve_at(late, cutoff + timedelta(minutes=1))

    this_week = runs.build_run(hub.id, organizer.id, today=TODAY)
    assert (this_week.added, this_week.late) == (1, 1)
    assert route_stops(this_week.run_id) == [["An"]]
    assert runs.waiting_counts(_db.session.get(type(hub), hub.id), SATURDAY, TODAY) == (
        {"pickup": 0, "volunteer": 0, "post": 0}, 1)

    next_week = runs.build_run(hub.id, organizer.id, day=SATURDAY + timedelta(days=7),
                               today=TODAY)
    assert (next_week.added, next_week.late) == (1, 0)
    assert route_stops(next_week.run_id) == [["Bình"]]


def test_a_parcel_left_without_an_outcome_comes_back_next_week_nothing_lost(hub, organizer):
    req = approved(hub, organizer, name="An")
    runs.build_run(hub.id, organizer.id, today=TODAY)
    later = runs.build_run(hub.id, organizer.id, today=SATURDAY + timedelta(days=1))
    assert later.date == SATURDAY + timedelta(days=7)
    assert route_stops(later.run_id) == [["An"]]
    assert count(RunStop, RunStop.request_id == req.id) == 2


def test_only_volunteers_and_organizers_of_the_hub_build_its_run(hub, organizer):
    other_hub = make_hub()
    stranger = make_user(roles=("volunteer",), hub=other_hub)
    student = make_user()
    for user in (stranger, student):
        with pytest.raises(LookupError):
            runs.build_run(hub.id, user.id, today=TODAY)
    assert runs.build_run(hub.id, make_user(roles=("admin",)).id, today=TODAY).created


# ------------------------------------------------------------------ two builds at once


@pytest.mark.parametrize("runs_before", [0, 1])
def test_volunteers_pressing_build_together_get_one_run_without_duplicates(
        app, hub, organizer, runs_before):
    hub.stops_per_route = 4
    _db.session.commit()
    for k in range(10):
        approved(hub, organizer, name=f"Bạn {k:02d}", street=f"{k} Lê Lợi")
    approved(hub, organizer, "post", HOAN_KIEM, "12 Hàng Bạc", "Lan", province=HA_NOI)
    volunteers = [make_user(roles=("volunteer",), hub=hub).id for _ in range(8)]
    if runs_before:  # the run exists: the racers all top it up
        runs.build_run(hub.id, organizer.id, today=TODAY)
        approved(hub, organizer, name="Bạn mới", street="99 Lê Lợi")

    hub_id = hub.id  # the threads must not touch this thread's session
    results, errors = run_together(
        app, lambda i: runs.build_run(hub_id, volunteers[i], today=TODAY), len(volunteers))

    assert not errors, errors
    assert len({r.run_id for r in results}) == 1
    assert sum(r.created for r in results) == 1 - runs_before
    assert sum(r.added for r in results) == (11 if not runs_before else 1)
    _db.session.rollback()  # end the test's own read snapshot (SQLite WAL) before checking
    assert count(DeliveryRun) == 1
    assert count(RunStop) == 11 + runs_before
    assert _db.session.scalar(select(func.count(func.distinct(RunStop.request_id)))) == \
        11 + runs_before
    assert count(Route) == 3 and route_stops(results[0].run_id)[0][0] == "Bạn 00"


# ------------------------------------------------------------------ printables' data

def test_pick_list_totals_per_item_and_per_route_leaving_out_handled_and_cancelled(
        hub, organizer):
    hub.stops_per_route = 2
    _db.session.commit()
    notebook = make_item(hub, title="Vở kẻ ngang", category="sach-vo", size="", quantity=5)
    hat = make_item(hub, title="Nón lá", category="mu-non", size="", quantity=5)
    shoes = make_item(hub, title="Giày vải", category="giay-dep", size="38", quantity=5)
    approved(hub, organizer, name="An", street="1 Lê Lợi", item=notebook)
    approved(hub, organizer, name="Bình", street="2 Lê Lợi", item=notebook)
    approved(hub, organizer, name="Chi", street="3 Lê Lợi", item=shoes)
    approved(hub, organizer, "post", HOAN_KIEM, "12 Hàng Bạc", "Lan", province=HA_NOI, item=hat)
    gone = approved(hub, organizer, "pickup", name="Minh", item=hat)
    run = _db.session.get(DeliveryRun, runs.build_run(hub.id, organizer.id, today=TODAY).run_id)
    req_svc.cancel_request(gone.user_id, gone.id, today=TODAY)

    totals, sections = runs.pick_list(run)
    assert totals == [runs.PickLine("Giày vải", "38", 1), runs.PickLine("Nón lá", "", 1),
                      runs.PickLine("Vở kẻ ngang", "", 2)]
    assert [(s.label, s.parcels, [(ln.title, ln.quantity) for ln in s.lines])
            for s in sections] == [
        ("Tuyến 1 — Xã Tân Phước 1", 2, [("Vở kẻ ngang", 2)]),
        ("Tuyến 2 — Xã Tân Phước 1", 1, [("Giày vải", 1)]),
        ("Gửi bưu điện", 1, [("Nón lá", 1)]),
    ]


def test_dispatch_csv_has_a_bom_every_parcel_and_no_spreadsheet_formulas(hub, organizer):
    approved(hub, organizer, "post", HOAN_KIEM, "12 Hàng Bạc", "=HYPERLINK(1)", province=HA_NOI)
    run = _db.session.get(DeliveryRun, runs.build_run(hub.id, organizer.id, today=TODAY).run_id)
    text = runs.dispatch_csv(run)
    assert text.startswith("\ufeffSTT,Mã bưu kiện,Người nhận,Điện thoại,Địa chỉ,")
    row = text.splitlines()[1].split(",")
    assert row[2] == "'=HYPERLINK(1)" and row[3] == "0987 654 321"
    assert row[4:7] == ["12 Hàng Bạc", "Phường Hoàn Kiếm", "Thành phố Hà Nội"]


# ------------------------------------------------------------------ pages

def test_the_build_button_builds_the_run_and_the_page_shows_it(client, login_as, hub, organizer):
    approved(hub, organizer, name="Trần Thị Bình", street="12 Nguyễn Huệ")
    approved(hub, organizer, "post", HOAN_KIEM, "12 Hàng Bạc", "Lan", province=HA_NOI)
    login_as(user=make_user(roles=("volunteer",), hub=hub))
    page = client.get(f"/giao-hang/{hub.id}?date={SATURDAY.isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Chuyến giao Thứ Bảy, 4/1/2031" in html and "Thứ Năm 20:00, 2/1/2031" in html
    assert "1 giao tận tay, 1 gửi bưu điện, 0 nhận tại điểm phát" in html
    assert "Chưa có ai đăng ký giao ngày này" in html

    resp = client.post(f"/giao-hang/{hub.id}/lap-chuyen", data={"date": SATURDAY.isoformat()})
    assert resp.status_code == 303
    assert resp.location.endswith(f"/giao-hang/{hub.id}?date=2031-01-04")
    html = client.get(resp.location).get_data(as_text=True)
    assert "Đã lập chuyến Thứ Bảy, 4/1/2031: thêm 2 bưu kiện." in html
    assert "Tuyến 1" in html and "Chưa có người nhận tuyến" in html
    assert "Gửi bưu điện: 1 bưu kiện" in html
    again = client.post(f"/giao-hang/{hub.id}/lap-chuyen", data={"date": SATURDAY.isoformat()},
                        follow_redirects=True)
    assert "Chuyến Thứ Bảy, 4/1/2031 đã đủ: không có yêu cầu mới." in again.get_data(as_text=True)
    assert count(RunStop) == 2


@pytest.mark.parametrize("day, message", [
    ("2020-01-04", "Ngày giao Thứ Bảy, 4/1/2020 đã qua"),
    ("2031-01-05", "Chủ Nhật, 5/1/2031 không phải ngày giao của điểm phát"),
    ("04/01/2031", "Vui lòng chọn ngày giao (ngày/tháng/năm)."),
    ("", "Vui lòng chọn ngày giao (ngày/tháng/năm)."),
    ("9999-12-31", "Vui lòng chọn ngày giao (ngày/tháng/năm)."),  # no overflow: a message
    ("0001-01-01", "Vui lòng chọn ngày giao (ngày/tháng/năm)."),
])
def test_a_bad_day_comes_back_with_the_message_and_builds_nothing(client, login_as, hub,
                                                                  day, message):
    login_as("organizer", hub=hub)
    resp = client.post(f"/giao-hang/{hub.id}/lap-chuyen", data={"date": day})
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert count(DeliveryRun) == 0
    assert client.get(f"/giao-hang/{hub.id}?date={day}").status_code == 200


def test_printables_show_routes_pick_list_dispatch_labels_and_pickups(client, login_as, hub,
                                                                      organizer):
    volunteer = sign_up(hub, SATURDAY, "Trần Văn Hùng")
    hand = approved(hub, organizer, name="Trần Thị Bình", street="12 Nguyễn Huệ")
    post = approved(hub, organizer, "post", HOAN_KIEM, "12 Hàng Bạc", "Lê Văn Lan",
                    province=HA_NOI)
    pickup = approved(hub, organizer, "pickup", name="Ngô Minh")
    run_id = runs.build_run(hub.id, organizer.id, today=TODAY).run_id
    route_id = _db.session.scalar(select(Route.id))
    login_as(user=volunteer)

    sheet = client.get(f"/giao-hang/tuyen/{route_id}").get_data(as_text=True)
    assert "Tuyến 1 — Xã Tân Phước 1" in sheet and "Trần Văn Hùng" in sheet
    assert "Trần Thị Bình" in sheet and "0987 654 321" in sheet and hand.code in sheet
    assert "12 Nguyễn Huệ, Xã Tân Phước 1, Đồng Tháp" in sheet and "Vở kẻ ngang" in sheet
    assert sheet.count("<svg") == 1 and 'class="stop-qr"' in sheet

    pick = client.get(f"/giao-hang/chuyen/{run_id}/nhat-hang").get_data(as_text=True)
    assert "Tổng cộng lấy từ kho" in pick and "Tuyến 1 — Xã Tân Phước 1" in pick
    assert "Gửi bưu điện" in pick and "Nhận tại điểm phát" in pick

    dispatch = client.get(f"/giao-hang/chuyen/{run_id}/buu-dien").get_data(as_text=True)
    assert post.code in dispatch and "Lê Văn Lan" in dispatch and "Nhãn địa chỉ" in dispatch
    assert dispatch.count("<svg") == 1
    csv_resp = client.get(f"/giao-hang/chuyen/{run_id}/buu-dien.csv")
    assert csv_resp.mimetype == "text/csv" and "attachment" in csv_resp.headers[
        "Content-Disposition"]
    assert post.code in csv_resp.get_data(as_text=True)

    pickups = client.get(f"/giao-hang/chuyen/{run_id}/nhan-tai-diem-phat")
    assert pickup.code in pickups.get_data(as_text=True)


def test_run_pages_are_404_for_other_hubs_and_students(client, login_as, hub, organizer):
    approved(hub, organizer)
    run_id = runs.build_run(hub.id, organizer.id, today=TODAY).run_id
    route_id = _db.session.scalar(select(Route.id))
    stop_id = _db.session.scalar(select(RunStop.id))
    urls = [f"/giao-hang/{hub.id}", f"/giao-hang/{hub.id}/quet",
            f"/giao-hang/chuyen/{run_id}/nhat-hang", f"/giao-hang/tuyen/{route_id}",
            f"/giao-hang/chuyen/{run_id}/buu-dien", f"/giao-hang/chuyen/{run_id}/buu-dien.csv",
            f"/giao-hang/chuyen/{run_id}/nhan-tai-diem-phat"]
    posts = [f"/giao-hang/{hub.id}/lap-chuyen", f"/giao-hang/tuyen/{route_id}/xuat-phat",
             f"/giao-hang/chuyen/{run_id}/san-sang", f"/giao-hang/buu-kien/{stop_id}/buu-gui",
             f"/giao-hang/{hub.id}/quet/xac-nhan"]
    for roles, hub_ in ((("volunteer",), make_hub()), (("student",), None)):
        login_as(*roles, hub=hub_)
        assert [client.get(u).status_code for u in urls] == [404] * len(urls)
        assert [client.post(u, data={"date": SATURDAY.isoformat(), "tracking_number":
                                     "EB123456789VN", "ma": "0D-4K7P", "student_code": "1234"}
                            ).status_code for u in posts] == [404] * len(posts)
    assert client.get("/giao-hang").status_code == 404  # the student has no hub to deliver for
    assert count(RunStop) == 1 and _db.session.scalar(select(Route.started_at)) is None


def test_the_staff_menu_lands_on_the_only_hub(client, login_as, hub):
    login_as("volunteer", hub=hub)
    assert client.get("/giao-hang").location.endswith(f"/giao-hang/{hub.id}")


def test_flask_batches_build(app, hub, organizer):
    approved(hub, organizer)
    cli = app.test_cli_runner()
    out = cli.invoke(args=["batches", "build", "--hub", str(hub.id), "--date", "2031-01-04"])
    assert out.exit_code == 0, out.output
    assert "Chuyến 2031-01-04" in out.output and "mới lập; thêm 1 bưu kiện" in out.output
    again = cli.invoke(args=["batches", "build", "--hub", str(hub.id), "--date", "2031-01-04"])
    assert "đã có, lập lại; thêm 0 bưu kiện" in again.output
    past = cli.invoke(args=["batches", "build", "--hub", str(hub.id), "--date", "2020-01-04"])
    assert past.exit_code == 1 and "đã qua" in past.output
    missing = cli.invoke(args=["batches", "build", "--hub", "999"])
    assert missing.exit_code == 1 and "Không có điểm phát 999." in missing.output
    assert count(RunStop) == 1


def test_a_pickup_in_next_weeks_run_is_told_that_day_not_the_hubs_next(hub, organizer):
    late = approved(hub, organizer, method="pickup", name="Bình")
    approve_at(late, runs.cutoff_at(hub, SATURDAY) + timedelta(minutes=1))
    assert req_svc.pickup_day_of(late, TODAY) == SATURDAY  # in no run yet: the hub's next day
    runs.build_run(hub.id, organizer.id, day=SATURDAY + timedelta(days=7), today=TODAY)
    assert req_svc.pickup_day_of(late, TODAY) == SATURDAY + timedelta(days=7)
