"""A whole Saturday route without signal (issue #15), on `flask seed-demo`'s data in a real
phone-sized Chromium: the organizer builds the run, the volunteer sets off, then the network goes
and every stop is handled on the phone: one parcel found with the camera (Chromium's fake camera
plays its QR; the scanner's library comes from the service worker's cache) and handed over with
the student's code, one by its typed code, one missed with its items sent back to stock. Back
online the queue syncs once: the database, the stock and the students' tracking pages are right,
and a replay changes nothing."""
from datetime import timedelta

from flask_babel import format_datetime
from sqlalchemy import func, select, update

from app.extensions import db as _db
from app.models import (
    Hub,
    Item,
    ItemRequest,
    Notification,
    OfflineAction,
    RequestEvent,
    Route,
    User,
)
from app.models.base import utcnow
from app.seed import DEMO_PASSWORD, seed_demo
from app.services import handover
from app.services import requests as req_svc
from app.services.phones import normalize_vn_mobile
from app.services.requests import Delivery
from tests.factories import DONG_THAP, PASSWORD, TAN_PHUOC_2, make_user
from tests.test_handover import _qr_video, stop_of
from tests.test_offline import READ_QUEUE, REPLAY

DEMO_HUB = "thpt-nguyen-van-tiep"


def sign_in(page, base, phone, password):
    page.goto(f"{base}/tai-khoan/dang-nhap")
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("main form button.primary")
    page.wait_for_url(lambda url: "dang-nhap" not in url)


def demo_user(phone: str) -> User:
    return _db.session.scalar(select(User).where(User.phone == normalize_vn_mobile(phone)))


def _another_students_request(hub, organizer_id, name, street):
    """A request of a new student of the demo commune, approved (before the cut-off)."""
    item = _db.session.scalar(select(Item).where(Item.hub_id == hub.id, Item.available > 0)
                              .order_by(Item.id.desc()))
    student = make_user(name=name)
    req = req_svc.submit_request(student.id, hub.id, [item.id], Delivery(
        "volunteer", name, "0987654321", DONG_THAP, TAN_PHUOC_2, street, True))
    req_svc.change_status(organizer_id, req.id, "approved")
    return req


def _state(database_url):
    """What the sync may change: every event, notification and offline action, and the stock."""
    _db.session.rollback()
    return (_db.session.scalar(select(func.count()).select_from(RequestEvent)),
            _db.session.scalar(select(func.count()).select_from(Notification)),
            _db.session.scalar(select(func.count()).select_from(OfflineAction)),
            _db.session.scalar(select(func.sum(Item.available))))


def test_a_whole_demo_route_runs_offline_on_a_phone_and_syncs_once(database_url, db, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, live_server, require_chromium
    require_chromium()
    with live_server(database_url, str(tmp_path)) as (base, app), sync_playwright() as pw:
        with app.app_context():
            seed_demo()
        hub = _db.session.scalar(select(Hub).where(Hub.slug == DEMO_HUB))
        organizer = demo_user("0901000004")
        volunteer = demo_user("0901000002")
        mai = demo_user("0901000001")
        others = [_another_students_request(hub, organizer.id, "Lê Văn Tèo", "Ấp Hưng Hòa"),
                  _another_students_request(hub, organizer.id, "Võ Thị Út", "Ấp Tân Hưng")]
        # every approval before this week's cut-off, whatever the hour the test runs at
        _db.session.execute(update(RequestEvent).where(RequestEvent.status == "approved")
                            .values(created_at=utcnow() - timedelta(days=8)))
        _db.session.commit()
        demo_reqs = list(_db.session.scalars(select(ItemRequest).where(
            ItemRequest.user_id == mai.id, ItemRequest.status == "approved",
            ItemRequest.method == "volunteer").order_by(ItemRequest.id)))
        assert demo_reqs, "the demo student has approved hand deliveries"
        teo, ut = others
        scanned = demo_reqs[-1]  # a request of the student's stop: its own code reads too
        _qr_video(tmp_path / "qr.y4m", f"{base}/giao-hang/{hub.id}/quet?ma={scanned.code}")
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={tmp_path / 'qr.y4m'}"])
        problems, syncs = [], []

        def phone():
            context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                          has_touch=True, locale="vi-VN")
            page = context.new_page()
            page.set_default_timeout(15000)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            return page

        try:
            boss = phone()
            sign_in(boss, base, "0901 000 004", DEMO_PASSWORD)
            boss.goto(f"{base}/giao-hang/{hub.id}")
            boss.locator("main").get_by_role("button", name="Lập chuyến").click()
            boss.wait_for_selector("text=Đã lập chuyến")
            _db.session.rollback()
            route = _db.session.scalar(select(Route).where(Route.volunteer_id == volunteer.id))
            assert route is not None, "the demo volunteer signed up for the day: theirs"
            on_route = {s.request_id for s in route.stops}
            assert {r.id for r in demo_reqs + others} <= on_route
            # the demo student's requests to one address: one stop, one parcel (issue #14)
            assert len(demo_reqs) == 2 and len(route.doors) == 3
            lead = stop_of(demo_reqs[0])
            assert [s.request_id for s in lead.group] == [r.id for r in demo_reqs]
            lead_id, parcel = lead.id, demo_reqs[0].code
            route_id = route.id

            page = phone()
            page.on("request", lambda r: syncs.append(r.url)
                    if r.method == "POST" and r.url.endswith("/dong-bo") else None)
            sign_in(page, base, "0901 000 002", DEMO_PASSWORD)
            page.goto(f"{base}/giao-hang/tuyen/{route_id}")
            page.click("text=Xuất phát: báo các bạn nhận")
            page.wait_for_selector("#offline[data-stored][data-synced]", state="attached")
            page.wait_for_function("navigator.serviceWorker.controller !== null")
            stored = page.evaluate(READ_QUEUE)
            assert any(p.endswith("/vendor/html5-qrcode.min.js") for p in stored["cached"])
            assert any(p.endswith("/js/scan.js") for p in stored["cached"])

            page.context.set_offline(True)
            page.evaluate("window.dispatchEvent(new Event('offline'))")
            page.reload()  # the sheet, its scripts and the scanner now come from the phone
            page.wait_for_selector("#offline:not([hidden])")
            assert "Đang mất mạng" in page.inner_text("#offline")

            def stop_id(req):
                return stop_of(req).id

            def hand_over(req, code):
                page.fill(f"#code-{stop_id(req)}", code)
                page.click(f"[data-offline-stop='{stop_id(req)}'] [data-offline-handover] button")

            # a parcel of no stop of this route, typed: refused on the phone
            page.fill("#offline-scan-code", f"{base}/giao-hang/{hub.id}/quet?ma=ZZ-ZZZZ")
            page.click("#offline-scan-form button")
            assert "Bưu kiện ZZ-ZZZZ không thuộc tuyến này" in page.inner_text(
                "#offline-scan-code-error")
            # the camera: the library loads from the cache, reads the QR, brings its stop forward
            page.click("#offline-scan-start")
            page.wait_for_selector(f"[data-offline-found]:has-text('Bưu kiện {parcel}')",
                                   timeout=60000)
            assert page.evaluate("document.activeElement.id") == f"code-{lead_id}"
            page.keyboard.type(demo_reqs[0].handover_code)  # read from her first request's page
            page.keyboard.press("Enter")
            hand_over(teo, teo.handover_code)  # the typed code
            ut_stop = stop_id(ut)
            page.click(f"[data-offline-stop='{ut_stop}'] summary")
            page.fill(f"#reason-{ut_stop}", "Chuyển nhà, không liên lạc được")
            page.check(f"#then-stock-{ut_stop}")
            page.click(f"[data-offline-stop='{ut_stop}'] [data-offline-missed] button")
            handled = 3  # one action per stop
            page.wait_for_selector(f"#offline[data-waiting='{handled}']", state="attached")
            assert "món đồ về kho (trên máy này, chờ đồng bộ)" in page.inner_text(
                f"[data-offline-stop='{ut_stop}']")
            page.reload()  # still no network: the phone's copy, with its queue
            page.wait_for_selector(f"#offline[data-waiting='{handled}']", state="attached")
            assert page.inner_text(".stops").count("(trên máy này, chờ đồng bộ)") == handled
            page.screenshot(path=str(tmp_path / "whole-route-offline.png"), full_page=True)
            assert not syncs
            _db.session.rollback()
            assert all(_db.session.get(ItemRequest, r.id).status == "out_for_delivery"
                       for r in demo_reqs + others)
            queue = page.evaluate(READ_QUEUE)["queue"]
            actions = [{k: e.get(k) for k in ("key", "stop", "action", "code", "reason",
                                              "to_stock", "at")} for e in queue]
            ut_item = ut.lines[0].item_id
            ut_available = _db.session.get(Item, ut_item).available

            page.context.set_offline(False)
            page.evaluate("window.dispatchEvent(new Event('online'))")
            page.wait_for_selector("#offline[data-waiting='0'][data-synced]", state="attached")
            assert len(syncs) == 1  # one sync carried the whole queue
            synced_at = utcnow()
            _db.session.rollback()
            rows = _db.session.scalars(select(OfflineAction).order_by(OfflineAction.id)).all()
            assert [r.applied for r in rows] == [True] * handled
            for req in demo_reqs + [teo]:
                req = _db.session.get(ItemRequest, req.id)
                assert req.status == "delivered"
                assert stop_of(req).outcome == "delivered"
                assert stop_of(req).outcome_by_id == volunteer.id
                assert stop_of(req).outcome_at < synced_at  # the phone's time, not the sync's
            ut = _db.session.get(ItemRequest, ut.id)
            assert ut.status == "cancelled" and stop_of(ut).outcome == "to_stock"
            assert _db.session.get(Item, ut_item).available == ut_available + 1
            assert handover.offline_bundle(volunteer.id, route_id) is None  # route finished
            gone = page.evaluate(READ_QUEUE)
            assert gone["routes"] == [] and gone["queue"] == []

            before = _state(database_url)
            replay = page.evaluate(REPLAY, [f"{base}/giao-hang/tuyen/{route_id}", actions])
            assert replay["status"] == 200
            assert [r["applied"] for r in replay["body"]["results"]] == [True] * handled
            assert _state(database_url) == before

            student = phone()
            sign_in(student, base, "0901 000 001", DEMO_PASSWORD)
            for req in demo_reqs:
                student.goto(f"{base}/yeu-cau/{req.id}")
                timeline = " ".join(student.inner_text(".timeline").split())
                with app.test_request_context():
                    at = format_datetime(stop_of(req).outcome_at, "HH:mm d/M/yyyy")
                assert f"Đã nhận {at}" in timeline
            other = phone()
            sign_in(other, base, _db.session.get(User, ut.user_id).phone, PASSWORD)
            other.goto(f"{base}/yeu-cau/{ut.id}")
            assert "Chuyển nhà, không liên lạc được" in other.inner_text("main")
        finally:
            browser.close()
        assert not problems, problems
