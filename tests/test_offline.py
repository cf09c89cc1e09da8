"""The route offline (issue #15): the bundle the volunteer's phone keeps (salted hashes, never the
students' codes), and the sync of the phone's queue — each idempotency key applied once, what no
longer applies refused with its reason, the phone's time kept within bounds and shown to the
student. The real browser, with the network switched off, is at the end."""
import json
from datetime import timedelta
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
from flask_babel import format_datetime
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import (
    ItemRequest,
    Notification,
    OfflineAction,
    RequestEvent,
    Route,
    RunStop,
)
from app.models.base import utcnow
from app.services import handover, runs
from tests.factories import PASSWORD, make_hub, make_user
from tests.test_handover import in_run, statuses, stop_of
from tests.test_runs import SATURDAY, TODAY, again


@pytest.fixture
def hub(db):
    return make_hub()


@pytest.fixture
def organizer(hub):
    return make_user(roles=("organizer",), hub=hub, name="Phạm Minh Tuấn")


@pytest.fixture
def volunteer(hub):
    return make_user(roles=("volunteer",), hub=hub, name="Trần Văn Hùng")


def started_route(hub, organizer, volunteer, names=("An", "Bình", "Chi")):
    """A route of three parcels given to `volunteer`, set off; returns (route id, requests)."""
    reqs = [in_run(hub, organizer, name=n, street=f"{k} Nguyễn Huệ")
            for k, n in enumerate(names, 1)]
    route = _db.session.scalar(select(Route))
    route.volunteer_id = volunteer.id
    _db.session.commit()
    handover.start_route(volunteer.id, route.id)
    _db.session.expire_all()
    return route.id, reqs


def act(req, action="handover", **kw):
    body = {"key": kw.pop("key", None) or handover_key(), "stop": stop_of(req).id,
            "action": action, "at": kw.pop("at", utcnow().isoformat() + "Z")}
    if action == "handover":
        body["code"] = kw.pop("code", req.handover_code)
    else:
        body["reason"] = kw.pop("reason", "Không có ai ở nhà")
    return body | kw


_keys = iter(range(10**6))


def handover_key() -> str:
    return f"phone-key-{next(_keys):06d}"


def counts(req) -> tuple[int, int, int]:
    _db.session.expire_all()
    return (_db.session.scalar(select(func.count()).select_from(RequestEvent)
                               .where(RequestEvent.request_id == req.id)),
            _db.session.scalar(select(func.count()).select_from(Notification)
                               .where(Notification.user_id == req.user_id)),
            _db.session.scalar(select(func.count()).select_from(OfflineAction)))


# ------------------------------------------------------------------ the bundle

def test_the_bundle_checks_a_code_without_holding_it(hub, organizer, volunteer):
    route_id, reqs = started_route(hub, organizer, volunteer)
    bundle = handover.offline_bundle(volunteer.id, route_id)
    assert [s["code"] for s in bundle["stops"]] == [r.code for r in reqs]
    for stop, req in zip(bundle["stops"], reqs, strict=True):
        assert stop["state"] == "open"
        assert stop["hash"] == handover.code_hash(stop["salt"], req.handover_code)
        other = f"{(int(req.handover_code) + 1) % 10000:04d}"
        assert stop["hash"] != handover.code_hash(stop["salt"], other)
    assert len({s["salt"] for s in bundle["stops"]}) == 3
    text = json.dumps(bundle)
    assert not any(f'"{r.handover_code}"' in text for r in reqs)
    assert not any(r.recipient_name in text or r.phone in text for r in reqs)


def test_no_bundle_before_setting_off_after_48_hours_or_when_finished(hub, organizer, volunteer):
    req = in_run(hub, organizer)
    route_id = _db.session.scalar(select(Route.id))
    assert handover.offline_bundle(volunteer.id, route_id) is None  # not set off
    handover.start_route(volunteer.id, route_id)
    assert handover.offline_bundle(volunteer.id, route_id, utcnow() + timedelta(hours=47))
    assert handover.offline_bundle(volunteer.id, route_id,
                                   utcnow() + timedelta(hours=48, minutes=1)) is None
    handover.sync(volunteer.id, route_id, [act(req)])
    assert handover.offline_bundle(volunteer.id, route_id) is None  # every stop done


def test_only_the_routes_volunteer_or_the_hubs_organizers_get_it(hub, organizer, volunteer):
    route_id, _ = started_route(hub, organizer, volunteer)
    other = make_user(roles=("volunteer",), hub=hub)
    elsewhere = make_user(roles=("volunteer",), hub=make_hub())
    for user in (other, elsewhere):
        with pytest.raises(LookupError):
            handover.offline_bundle(user.id, route_id)
        with pytest.raises(LookupError):
            handover.sync(user.id, route_id, [])
    assert handover.offline_bundle(organizer.id, route_id)
    assert handover.offline_bundle(make_user(roles=("admin",)).id, route_id)


# ------------------------------------------------------------------ the sync

def test_a_queue_is_applied_once_in_order_and_a_replay_changes_nothing(hub, organizer,
                                                                       volunteer):
    route_id, (an, binh, chi) = started_route(hub, organizer, volunteer)
    queue = [act(an), act(binh), act(chi, "missed", reason="Nhà đóng cửa")]
    results = handover.sync(volunteer.id, route_id, queue)
    assert [(r.applied, r.message) for r in results] == [(True, ""), (True, ""), (True, "")]
    assert statuses(an)[-1][0] == statuses(binh)[-1][0] == "delivered"
    assert statuses(chi)[-1] == ("missed", "Nhà đóng cửa")
    assert stop_of(chi).outcome == "missed" and stop_of(an).outcome_by_id == volunteer.id
    before = [counts(r) for r in (an, binh, chi)]
    again = handover.sync(volunteer.id, route_id, queue)
    assert [r.as_json() for r in again] == [r.as_json() for r in results]
    assert [counts(r) for r in (an, binh, chi)] == before
    assert _db.session.get(ItemRequest, chi.id).status == "approved"  # back for the next run


def test_a_missed_stop_ends_the_same_whether_recorded_online_or_offline(hub, organizer,
                                                                       volunteer):
    """The volunteer chooses what follows a missed delivery at the scan page and on the phone
    alike: back in line for the next run (the items stay reserved), or cancelled with the items
    back to stock; the events, the stop's outcome, the stock and the next run are the same."""
    from tests.test_handover import available
    route_id, reqs = started_route(hub, organizer, volunteer, ("An", "Bình", "Chi", "Dung"))
    online_next, offline_next, online_stock, offline_stock = reqs
    items = {r.id: r.lines[0].item_id for r in reqs}
    handover.missed(volunteer.id, hub.id, online_next.code, "Đi vắng", to_stock=False)
    handover.missed(volunteer.id, hub.id, online_stock.code, "Đi vắng", to_stock=True)
    results = handover.sync(volunteer.id, route_id, [
        act(offline_next, "missed", reason="Đi vắng", to_stock=False),
        act(offline_stock, "missed", reason="Đi vắng", to_stock=True)])
    assert all(r.applied for r in results)
    for online, offline in ((online_next, offline_next), (online_stock, offline_stock)):
        assert statuses(online)[-2:] == statuses(offline)[-2:]
        assert stop_of(online).outcome == stop_of(offline).outcome
        assert available(items[online.id]) == available(items[offline.id])
    assert statuses(offline_stock)[-1] == ("cancelled", "Đi vắng")
    assert stop_of(offline_stock).outcome == "to_stock" and available(items[offline_stock.id]) == 1
    assert statuses(offline_next)[-1] == ("missed", "Đi vắng")
    assert stop_of(offline_next).outcome == "missed" and available(items[offline_next.id]) == 0
    next_run = runs.build_run(hub.id, organizer.id, SATURDAY + timedelta(days=7), TODAY).run_id
    _db.session.expire_all()
    again = set(_db.session.scalars(select(RunStop.request_id).where(RunStop.run_id == next_run)))
    assert again == {online_next.id, offline_next.id}


def test_the_phones_missed_form_offers_the_same_choice_as_the_scan_page(client, login_as, hub,
                                                                       organizer, volunteer):
    route_id, (an, _, _) = started_route(hub, organizer, volunteer)
    handover.missed(volunteer.id, hub.id, an.code, "Đi vắng", to_stock=True)
    login_as(user=volunteer)
    sheet = client.get(f"/giao-hang/tuyen/{route_id}").get_data(as_text=True)
    form = sheet.split("data-offline-missed ")[1].split("</form>")[0]
    assert "Sau đó" in form and '<input checked id="then-next-' in form
    assert "Giao lại ở chuyến sau" in form and "Hủy yêu cầu, trả món đồ về kho" in form
    assert "Đã hủy yêu cầu, món đồ về kho." in sheet  # what became of An's parcel


def test_the_sheet_under_way_scans_parcels_on_the_phone(client, login_as, hub, organizer,
                                                     volunteer):
    """The camera scanner on the sheet feeds the phone's check (a form that the page handles,
    data-scan-local), and its library is named for offline.js to store with the sheet."""
    route_id, _ = started_route(hub, organizer, volunteer)
    login_as(user=volunteer)
    sheet = client.get(f"/giao-hang/tuyen/{route_id}").get_data(as_text=True)
    assert 'data-form="offline-scan-form"' in sheet and "vendor/html5-qrcode.min.js" in sheet
    assert '<form id="offline-scan-form"' in sheet and "data-scan-local" in sheet
    assert "js/scan.js" in sheet and "js/offline.js" in sheet


def test_a_stop_of_two_requests_is_one_offline_stop_handed_over_at_once(hub, organizer,
                                                                       volunteer):
    """Issue #14 on the phone: the bundle holds one stop for a student's two requests to one
    address (her code of either request checks), one synced hand-over delivers both, at the
    phone's time, and a replay changes nothing."""
    hub.weekly_limit = 10
    first = in_run(hub, organizer, name="An", street="1 Lê Lợi")
    second = again(hub, organizer, first)
    runs.build_run(hub.id, organizer.id, today=TODAY)
    route = _db.session.scalar(select(Route))
    route.volunteer_id = volunteer.id
    _db.session.commit()
    handover.start_route(volunteer.id, route.id)
    bundle = handover.offline_bundle(volunteer.id, route.id)
    (stop,) = bundle["stops"]
    assert stop["id"] == stop_of(first).id and stop["codes"] == [first.code, second.code]
    assert sorted(stop["hashes"]) == sorted(handover.code_hash(stop["salt"], r.handover_code)
                                            for r in (first, second))
    at = utcnow()  # after setting off, before the sync
    queue = [act(first, code=second.handover_code, at=at.isoformat() + "Z")]
    assert [r.applied for r in handover.sync(volunteer.id, route.id, queue)] == [True]
    for req in (first, second):
        assert statuses(req)[-1][0] == "delivered" and stop_of(req).outcome_at == at
    before = [counts(r) for r in (first, second)]
    handover.sync(volunteer.id, route.id, queue)
    assert [counts(r) for r in (first, second)] == before


def test_delivered_meanwhile_by_another_volunteer_is_refused_with_when(hub, organizer,
                                                                      volunteer):
    route_id, (an, binh, _) = started_route(hub, organizer, volunteer)
    other = make_user(roles=("volunteer",), hub=hub)
    handover.confirm(other.id, hub.id, an.code, an.handover_code)  # at the scan page
    results = handover.sync(volunteer.id, route_id, [act(an), act(binh)])
    assert not results[0].applied
    assert results[0].message.startswith(f"Bưu kiện {an.code} đã được giao lúc ")
    assert results[0].message.endswith(": không giao lần nữa.")
    assert results[1].applied
    assert stop_of(an).outcome_by_id == other.id
    replay = handover.sync(volunteer.id, route_id, [act(an, key=results[0].key)])
    assert replay[0].as_json() == results[0].as_json()


def test_a_cancelled_request_is_refused(hub, organizer, volunteer):
    route_id, (an, binh, _) = started_route(hub, organizer, volunteer)
    handover.missed(organizer.id, hub.id, an.code, "Bạn nhận đã chuyển trường", to_stock=True)
    results = handover.sync(volunteer.id, route_id, [act(an)])
    assert not results[0].applied
    assert results[0].message == (f"Yêu cầu {an.code} đã ở trạng thái “Đã hủy”: đừng giao, hãy "
                                  "mang món đồ về điểm phát.")
    assert statuses(an)[-1][0] == "cancelled" and statuses(binh)[-1][0] == "out_for_delivery"


def test_a_wrong_code_is_refused_and_counted_once(hub, organizer, volunteer):
    route_id, (an, *_) = started_route(hub, organizer, volunteer)
    wrong = act(an, code=f"{(int(an.handover_code) + 1) % 10000:04d}")
    results = handover.sync(volunteer.id, route_id, [wrong])
    assert not results[0].applied
    assert "Mã xác nhận không đúng (còn 4 lần thử)" in results[0].message
    handover.sync(volunteer.id, route_id, [wrong])
    assert stop_of(an).code_attempts == 1
    bad = handover.sync(volunteer.id, route_id, [act(an, code="12")])
    assert bad[0].message == "Mã xác nhận của bạn nhận gồm 4 chữ số."
    assert handover.sync(volunteer.id, route_id, [act(an)])[0].applied


def test_actions_not_of_this_route_or_without_a_key_are_refused(hub, organizer, volunteer):
    route_id, (an, *_) = started_route(hub, organizer, volunteer)
    other_hub = make_hub()
    other_org = make_user(roles=("organizer",), hub=other_hub)
    foreign = in_run(other_hub, other_org)
    results = handover.sync(volunteer.id, route_id, [
        act(foreign), {"stop": stop_of(an).id, "action": "handover", "code": an.handover_code},
        act(an, action="deliver"), "not an action", act(an, stop=987654), act(an, stop=2**40)])
    assert [r.applied for r in results] == [False] * 6
    assert results[4].message == results[5].message == results[0].message
    again = handover.sync(volunteer.id, route_id, [act(an, key=results[4].key, stop=987654)])
    assert again[0].as_json() == results[4].as_json()  # kept under its key
    assert results[0].message == "Thao tác này không thuộc tuyến: không áp dụng."
    assert results[1].message == "Thao tác không có mã đồng bộ hợp lệ: bỏ qua."
    assert statuses(an)[-1][0] == "out_for_delivery"
    assert statuses(foreign)[-1][0] == "approved"
    with pytest.raises(handover.HandoverError):
        handover.sync(volunteer.id, route_id, {"actions": []})


def test_a_key_of_another_volunteer_answers_nothing_of_theirs(hub, organizer, volunteer):
    route_id, (an, binh, _) = started_route(hub, organizer, volunteer)
    first = handover.sync(volunteer.id, route_id, [act(an, key="shared-key-1")])
    assert first[0].applied
    theirs = handover.sync(organizer.id, route_id, [act(binh, key="shared-key-1")])
    assert not theirs[0].applied and theirs[0].stop_id is None
    assert theirs[0].message == "Mã đồng bộ này đã được dùng cho thao tác khác."
    assert statuses(binh)[-1][0] == "out_for_delivery"


def test_the_phones_time_is_kept_within_bounds_and_shown_to_the_student(
        client, login_as, hub, organizer, volunteer):
    route_id, (an, binh, chi) = started_route(hub, organizer, volunteer)
    route = _db.session.get(Route, route_id)
    route.started_at = started = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    _db.session.commit()
    now = utcnow()
    earlier = started + timedelta(minutes=47)
    results = handover.sync(volunteer.id, route_id, [
        act(an, at=earlier.isoformat() + "Z"),
        act(binh, at=(now + timedelta(hours=3)).isoformat() + "Z"),  # a clock far ahead
        act(chi, "missed", at=(started - timedelta(days=1)).isoformat() + "+00:00"),
    ])
    after = utcnow()
    assert results[0].at == earlier == stop_of(an).outcome_at
    assert now <= results[1].at <= after
    assert results[2].at == started
    _db.session.expire_all()
    delivered = _db.session.scalar(select(RequestEvent).where(
        RequestEvent.request_id == an.id, RequestEvent.status == "delivered"))
    assert delivered.created_at == earlier
    login_as(user=_db.session.get(type(volunteer), an.user_id))
    html = client.get(f"/yeu-cau/{an.id}").get_data(as_text=True)
    with client.application.test_request_context():
        assert format_datetime(earlier, "HH:mm d/M/yyyy") in html


# ------------------------------------------------------------------ over HTTP

def test_bundle_and_sync_endpoints(client, login_as, hub, organizer, volunteer):
    route_id, (an,) = started_route(hub, organizer, volunteer, names=("An",))
    login_as(user=volunteer)
    resp = client.get(f"/giao-hang/tuyen/{route_id}/ngoai-tuyen")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert resp.json["route"] == route_id and "csrf_token" in resp.json
    sheet = client.get(f"/giao-hang/tuyen/{route_id}").get_data(as_text=True)
    assert 'id="offline"' in sheet and "/static/js/offline.js?v=" in sheet
    body = {"actions": [act(an)]}
    first = client.post(f"/giao-hang/tuyen/{route_id}/dong-bo", json=body)
    assert first.status_code == 200 and first.json["results"][0]["applied"] is True
    again = client.post(f"/giao-hang/tuyen/{route_id}/dong-bo", json=body)
    assert again.json == first.json
    assert client.post(f"/giao-hang/tuyen/{route_id}/dong-bo", data=b"{[",
                       content_type="application/json").status_code == 400
    assert client.get(f"/giao-hang/tuyen/{route_id}/ngoai-tuyen").json["gone"] is True
    sw = client.get("/giao-hang/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert b"addEventListener(\"fetch\"" in sw.data


def test_the_sheet_of_a_route_not_set_off_has_no_offline_part(client, login_as, hub, organizer,
                                                               volunteer):
    in_run(hub, organizer)
    route_id = _db.session.scalar(select(Route.id))
    login_as(user=volunteer)
    sheet = client.get(f"/giao-hang/tuyen/{route_id}").get_data(as_text=True)
    assert 'id="offline"' not in sheet and "offline.js" not in sheet
    assert client.get(f"/giao-hang/tuyen/{route_id}/ngoai-tuyen").json["gone"] is True


def test_sync_needs_the_csrf_token(database_url, db, tmp_path):
    """The live server runs with CSRF on: a sync without the token changes nothing."""
    from tests.browser import live_server
    hub = make_hub()
    organizer = make_user(roles=("organizer",), hub=hub)
    volunteer = make_user(roles=("volunteer",), hub=hub)
    route_id, (an, *_) = started_route(hub, organizer, volunteer, names=("An",))
    body = {"actions": [act(an)]}
    opener = build_opener(HTTPCookieProcessor())

    def call(url, data=None, headers=None):
        try:
            with opener.open(Request(url, data, headers or {})) as resp:
                return resp.status, resp.read()
        except HTTPError as err:
            return err.code, err.read()

    with live_server(database_url, str(tmp_path)) as (base, _):
        page = call(f"{base}/tai-khoan/dang-nhap")[1].decode()
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        call(f"{base}/tai-khoan/dang-nhap", urlencode(
            {"phone": volunteer.phone, "password": PASSWORD, "csrf_token": token}).encode())
        sync_url, raw = f"{base}/giao-hang/tuyen/{route_id}/dong-bo", json.dumps(body).encode()
        kind = {"Content-Type": "application/json"}
        assert call(sync_url, raw, kind)[0] == 400
        assert statuses(an)[-1][0] == "out_for_delivery"
        status, bundle = call(f"{base}/giao-hang/tuyen/{route_id}/ngoai-tuyen")
        assert status == 200
        token = json.loads(bundle)["csrf_token"]
        status, answer = call(sync_url, raw, kind | {"X-CSRFToken": token})
        assert status == 200 and json.loads(answer)["results"][0]["applied"]
    assert statuses(an)[-1][0] == "delivered"



# ------------------------------------------------------------------ a real phone, signal off

READ_QUEUE = """async () => {
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open("gianhang-offline", 1); r.onsuccess = () => ok(r.result);
    r.onerror = () => ko(r.error); });
  const read = (name) => new Promise((ok) => {
    const r = db.transaction(name).objectStore(name).getAll(); r.onsuccess = () => ok(r.result); });
  const cached = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) cached.push(new URL(req.url).pathname);
  }
  return {queue: (await read("queue")).sort((a, b) => a.seq - b.seq), routes: await read("routes"),
          cached: cached};
}"""

REPLAY = """async ([url, actions]) => {
  const bundle = await (await fetch(url + "/ngoai-tuyen")).json();
  const resp = await fetch(url + "/dong-bo", {method: "POST", headers: {
    "Content-Type": "application/json", "X-CSRFToken": bundle.csrf_token},
    body: JSON.stringify({actions: actions})});
  return {status: resp.status, body: await resp.json()};
}"""


def test_phone_runs_a_route_with_the_network_off_and_syncs_once(database_url, db, tmp_path):
    """Set off online; with the network off: hand two parcels over by typed code, mark one
    missed, try a wrong code, hand over a fourth that another volunteer delivers meanwhile at
    the hub's scan page; reload (the sheet opens from the phone); back online the queue syncs:
    the database and the students' tracking pages show the phone's times, the fourth is refused
    with its reason; a replay of the same sync changes nothing. No console errors (CSP)."""
    from tests.browser import live_server, phones, require_chromium
    require_chromium()
    hub = make_hub()
    organizer = make_user(roles=("organizer",), hub=hub)
    volunteer = make_user(roles=("volunteer",), hub=hub, name="Trần Văn Hùng")
    other = make_user(roles=("volunteer",), hub=hub)
    reqs = [in_run(hub, organizer, name=n, street=f"{k} Nguyễn Huệ")
            for k, n in enumerate(("An", "Bình", "Chi", "Dung"), 1)]
    route = _db.session.scalar(select(Route))
    route.volunteer_id = volunteer.id
    _db.session.commit()
    route_id = route.id
    an, binh, chi, dung = reqs
    stops = {r.id: stop_of(r).id for r in reqs}
    student_an = _db.session.get(type(volunteer), an.user_id)
    with live_server(database_url, str(tmp_path)) as (base, app), phones() as new_phone:
        page = new_phone()
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{base}/tai-khoan/dang-nhap")
        page.fill("#phone", volunteer.phone)
        page.fill("#password", PASSWORD)
        page.click("form button.primary")
        page.wait_for_url(lambda url: "dang-nhap" not in url)
        page.goto(f"{base}/giao-hang/tuyen/{route_id}")
        assert page.locator("#offline").count() == 0  # not set off: the sheet as before
        page.click("text=Xuất phát: báo các bạn nhận")
        # stored, and the first sync over: the page at rest before the signal goes
        page.wait_for_selector("#offline[data-stored][data-synced]", state="attached")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        assert "Mọi thao tác đã được đồng bộ." in page.inner_text("#offline")

        page.context.set_offline(True)
        page.evaluate("window.dispatchEvent(new Event('offline'))")

        def hand_over(req, code):
            page.fill(f"#code-{stops[req.id]}", code)
            page.click(f"[data-offline-stop='{stops[req.id]}'] [data-offline-handover] button")

        wrong = f"{(int(chi.handover_code) + 1) % 10000:04d}"
        hand_over(chi, wrong)
        page.wait_for_selector(f"#code-{stops[chi.id]}-error:has-text('còn 4 lần thử')")
        hand_over(an, an.handover_code)
        hand_over(binh, binh.handover_code)
        page.click(f"[data-offline-stop='{stops[chi.id]}'] summary")
        page.fill(f"#reason-{stops[chi.id]}", "Nhà đóng cửa")
        page.click(f"[data-offline-stop='{stops[chi.id]}'] [data-offline-missed] button")
        hand_over(dung, dung.handover_code)
        page.wait_for_selector("#offline[data-waiting='4']", state="attached")
        assert "Chờ đồng bộ: 4 thao tác." in page.inner_text("#offline")
        assert "Đang mất mạng" in page.inner_text("#offline")
        # meanwhile another volunteer hands Dung's parcel over at the hub's scan page
        handover.confirm(other.id, hub.id, dung.code, dung.handover_code)

        page.reload()  # no network: the sheet comes from the phone
        page.wait_for_selector("#offline[data-waiting='4']", state="attached")
        sheet = page.inner_text(".stops")
        assert "Nhà đóng cửa; giao lại ở chuyến sau (trên máy này, chờ đồng bộ)" in sheet
        assert sheet.count("(trên máy này, chờ đồng bộ)") == 4
        # from the phone's copy: not the server's sheet, which now shows Dung's parcel delivered
        dung_li = page.locator("li.stop", has=page.locator(
            f"[data-offline-stop='{stops[dung.id]}']"))
        assert dung_li.locator(".status-delivered").count() == 0
        assert statuses(an)[-1][0] == "out_for_delivery"  # nothing reached the server
        page.screenshot(path=str(tmp_path / "offline-sheet.png"), full_page=True)

        stored = page.evaluate(READ_QUEUE)
        assert [e["status"] for e in stored["queue"]] == ["waiting"] * 4
        assert f"/giao-hang/tuyen/{route_id}" in stored["cached"]
        actions = [{k: e.get(k) for k in ("key", "stop", "action", "code", "reason", "at")}
                   for e in stored["queue"]]

        page.context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_selector("#offline[data-waiting='0'][data-synced]", state="attached")
        page.screenshot(path=str(tmp_path / "synced-sheet.png"), full_page=True)
        dung_state = page.inner_text(f"[data-offline-stop='{stops[dung.id]}'] .offline-state")
        assert dung_state.startswith(f"Bị từ chối: Bưu kiện {dung.code} đã được giao lúc ")
        assert page.inner_text(f"[data-offline-stop='{stops[an.id]}'] .offline-state") == \
            "Đã đồng bộ."

        assert statuses(an)[-1][0] == statuses(binh)[-1][0] == "delivered"
        assert statuses(chi)[-1] == ("missed", "Nhà đóng cửa")
        assert stop_of(an).outcome_by_id == volunteer.id
        assert stop_of(dung).outcome_by_id == other.id
        assert stop_of(chi).code_attempts == 0  # the wrong code stayed on the phone
        rows = _db.session.scalars(select(OfflineAction).order_by(OfflineAction.id)).all()
        assert [(r.stop_id, r.applied) for r in rows] == [
            (stops[an.id], True), (stops[binh.id], True), (stops[chi.id], True),
            (stops[dung.id], False)]
        synced_at = utcnow()
        delivered_at = _db.session.scalar(select(RequestEvent.created_at).where(
            RequestEvent.request_id == an.id, RequestEvent.status == "delivered"))
        assert delivered_at == rows[0].at and delivered_at < synced_at

        before = [counts(r) for r in reqs]
        # the route is finished: its data left the phone (the page still shows the results)
        gone = page.evaluate(READ_QUEUE)
        assert gone["routes"] == [] and gone["queue"] == []
        assert f"/giao-hang/tuyen/{route_id}" not in gone["cached"]
        replay = page.evaluate(REPLAY, [f"{base}/giao-hang/tuyen/{route_id}", actions])
        assert replay["status"] == 200
        assert [r["applied"] for r in replay["body"]["results"]] == [True, True, True, False]
        assert [counts(r) for r in reqs] == before

        student = new_phone()
        student.goto(f"{base}/tai-khoan/dang-nhap")
        student.fill("#phone", student_an.phone)
        student.fill("#password", PASSWORD)
        student.click("form button.primary")
        student.wait_for_url(lambda url: "dang-nhap" not in url)
        student.goto(f"{base}/yeu-cau/{an.id}")
        timeline = student.inner_text(".timeline")
        with app.test_request_context():
            assert f"Đã nhận {format_datetime(delivered_at, 'HH:mm d/M/yyyy')}" in \
                " ".join(timeline.split())
        assert not problems, problems


def test_two_syncs_of_one_queue_at_once_apply_it_once(app, hub, organizer, volunteer):
    """A phone that retries while its first sync is still under way (real threads, real
    database: the write lock on SQLite, the request's row lock on PostgreSQL)."""
    from tests.threads import run_together
    route_id, (an, binh, _) = started_route(hub, organizer, volunteer)
    queue = [act(an), act(binh, "missed")]
    volunteer_id = volunteer.id
    results, errors = run_together(app, lambda i: [
        r.as_json() for r in handover.sync(volunteer_id, route_id, queue)], 4)
    assert not errors, errors
    assert all(r == results[0] for r in results)
    assert [r["applied"] for r in results[0]] == [True, True]
    _db.session.rollback()  # a fresh read: the threads wrote after this session's snapshot
    assert _db.session.scalar(select(func.count()).select_from(OfflineAction)) == 2
    assert [s for s, _ in statuses(an)].count("delivered") == 1
    assert [s for s, _ in statuses(binh)].count("missed") == 1
