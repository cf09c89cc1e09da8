"""The union's numbers: requests by week, method and ward, delivered and missed, donations, items
given; the chart; the CSV; who sees which hubs."""
import csv
import io
import re
from datetime import timedelta

import pytest

from app.extensions import db as _db
from app.models import ItemRequest, RequestEvent, UserRole
from app.models.base import utcnow
from app.services import donations, privacy, stats
from app.services import requests as reqs
from app.services.formatting import local_today
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


def submit(hub, method="post", ward=HOAN_KIEM, province=HA_NOI, quantity=1):
    items = [make_item(hub, title=f"Món {k}") for k in range(quantity)]
    address = {"province_code": province, "ward_code": ward, "street": "12 Hàng Bạc"} \
        if ward else {}
    return reqs.submit_request(make_user().id, hub.id, [i.id for i in items], reqs.Delivery(
        method, "Nguyễn Thị Hoa", "0912 345 678", consent=True, **address))


def hand_over(req, actor):
    for status in ("approved", "packed", reqs.DISPATCH_STATUS[req.method], "delivered"):
        reqs.change_status(actor.id, req.id, status)


def backdate(req, days):
    """Move a request and its events `days` into the past."""
    req = _db.session.get(ItemRequest, req.id)
    for row in (req, *req.events):
        row.created_at -= timedelta(days=days)
    _db.session.commit()


def missed(req, actor):
    """What the weekly run records when nobody was home: an event, back to "approved"."""
    _db.session.add(RequestEvent(request_id=req.id, status="missed", note="Không có ai ở nhà",
                                 actor_id=actor.id))
    _db.session.commit()


@pytest.fixture
def hub(db):
    return make_hub(name="Đoàn trường THPT Tân Phước", wards=(TAN_PHUOC_1, TAN_PHUOC_2))


@pytest.fixture
def volunteer(hub):
    return make_user(roles=("volunteer",), hub=hub)


@pytest.fixture
def activity(hub, volunteer):
    """This week: 2 by post (Hoàn Kiếm), 1 by hand (Tân Phước 1, 2 items, delivered),
    1 pickup (no address, cancelled), 1 missed by hand; three weeks ago: 1 by post, delivered;
    a donation received with 4 units accepted; another hub's request (not counted)."""
    post_a, post_b = submit(hub), submit(hub)
    by_hand = submit(hub, "volunteer", TAN_PHUOC_1, DONG_THAP, quantity=2)
    hand_over(by_hand, volunteer)
    pickup = submit(hub, "pickup", None, None)
    reqs.cancel_request(pickup.user_id, pickup.id)
    not_home = submit(hub, "volunteer", TAN_PHUOC_2, DONG_THAP)
    reqs.change_status(volunteer.id, not_home.id, "approved")
    missed(not_home, volunteer)
    old = submit(hub)
    hand_over(old, volunteer)
    backdate(old, 21)
    gift = donations.offer_donation(donations.Offer(
        hub.id, "Cô Lan", "0987 654 321", "bring",
        (donations.OfferLine("Áo", "quan-ao", "M", "good", 5),), consent=True))
    donations.mark_received(volunteer.id, gift.id)
    donations.inspect_line(volunteer.id, gift.lines[0].id,
                           donations.Inspection(True, 5, 4, "good", "Một áo rách"))
    submit(make_hub())
    return {"post": (post_a, post_b), "by_hand": by_hand, "old": old}


def test_numbers_by_week_method_ward_and_outcome(hub, activity):
    n = stats.numbers([hub], weeks=4)
    this, three_ago = n.weeks[-1], n.weeks[0]
    monday = local_today() - timedelta(days=local_today().weekday())
    assert [w.start for w in n.weeks] == [monday - timedelta(weeks=k) for k in (3, 2, 1, 0)]
    assert (this.requests, this.delivered, this.missed, this.given, this.donations) == \
        (5, 1, 1, 2, 1)
    assert (three_ago.requests, three_ago.delivered, three_ago.given) == (1, 1, 1)
    assert (n.total("requests"), n.total("given"), n.units_accepted) == (6, 3, 4)
    assert dict(n.by_method) == {"pickup": 1, "volunteer": 2, "post": 3}
    assert n.by_ward == [("Phường Hoàn Kiếm, Thành phố Hà Nội", 3),
                         ("Xã Tân Phước 1, Đồng Tháp", 1), ("Xã Tân Phước 2, Đồng Tháp", 1),
                         ("Không ghi địa chỉ (nhận tại điểm phát)", 1)]
    assert n.outcomes == {"open": 3, "delivered": 2, "cancelled": 1, "rejected": 0}
    assert stats.numbers([hub], weeks=2).total("requests") == 5  # the old one falls out


def test_chart_bars_are_scaled_to_the_largest_value(hub, activity):
    groups = stats.chart(stats.numbers([hub], weeks=4).weeks, width=400, height=100)
    assert len(groups) == 4 and [len(g.bars) for g in groups] == [3, 3, 3, 3]
    tallest = groups[-1].bars[0]
    assert (tallest.series, tallest.value, tallest.height, tallest.y) == ("requests", 5, 100, 0)
    delivered = groups[-1].bars[1]
    assert (delivered.value, delivered.height, delivered.y) == (1, 20, 80)
    assert all(b.x + b.width <= 400 for g in groups for b in g.bars)
    empty = stats.chart([stats.Week(local_today())])
    assert [b.height for b in empty[0].bars] == [0, 0, 0]
    year = stats.chart(stats.numbers([hub], weeks=52).weeks)
    assert sum(g.labelled for g in year) <= stats.LABELS and year[-1].labelled
    assert not any(g.valued for g in year) and all(g.valued for g in groups)


def test_csv_is_one_long_table_excel_can_read(hub, activity):
    text = stats.to_csv(stats.numbers([hub], weeks=4))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["Chỉ số", "Nhóm", "Giá trị"]
    assert ["Yêu cầu theo phường/xã", "Phường Hoàn Kiếm, Thành phố Hà Nội", "3"] in rows
    assert ["Yêu cầu theo cách nhận", "Gửi qua bưu điện", "3"] in rows
    assert ["Tổng", "Món đã trao", "3"] in rows and ["Tổng", "Món quà tặng đạt", "4"] in rows
    monday = local_today() - timedelta(days=local_today().weekday())
    assert ["Lần giao chưa thành công theo tuần", monday.isoformat(), "1"] in rows


def test_csv_cells_never_start_a_formula(db):
    hub = make_hub(name="=HYPERLINK(\"http://x\")")
    rows = list(csv.reader(io.StringIO(stats.to_csv(stats.numbers([hub])).lstrip("\ufeff"))))
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")"


# ---------------------------------------------------------------- the dashboard pages

def test_a_volunteer_sees_their_hub(client, login_as, hub, volunteer, activity):
    login_as(user=volunteer)
    resp = client.get("/quan-ly/so-lieu?weeks=4")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and hub.name in page
    assert '<span class="kpi-value">6</span>' in page  # new requests in 4 weeks
    assert page.count('<rect class="bar bar-') == 12 and "<svg" in page
    assert "style=" not in page and "<script>" not in page  # CSP: no inline style or script
    assert "Phường Hoàn Kiếm, Thành phố Hà Nội" in page
    assert f'href="/quan-ly/so-lieu.csv?hub={hub.id}&amp;weeks=4"' in page
    resp = client.get(f"/quan-ly/so-lieu.csv?hub={hub.id}&weeks=4")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    assert "Phường Hoàn Kiếm, Thành phố Hà Nội" in resp.get_data(as_text=True)


def test_foreign_hubs_and_non_staff_are_refused(client, login_as, hub, activity):
    assert client.get("/quan-ly/so-lieu").status_code == 302
    login_as("student")
    assert client.get("/quan-ly/so-lieu").status_code == 403
    assert client.get("/quan-ly/so-lieu.csv").status_code == 403
    login_as("volunteer", hub=make_hub())
    assert client.get(f"/quan-ly/so-lieu?hub={hub.id}").status_code == 404
    assert client.get(f"/quan-ly/so-lieu.csv?hub={hub.id}").status_code == 404
    assert client.get("/quan-ly/so-lieu?hub=999999").status_code == 404
    assert client.get("/quan-ly/so-lieu?weeks=-3&hub=").status_code == 200


def test_organizers_see_their_hubs_together_admins_see_all(client, login_as, hub, activity):
    second, third = make_hub(name="Đoàn phường Ninh Kiều"), make_hub(name="Đoàn xã Mỹ Phước")
    submit(second)
    organizer = make_user(roles=("organizer",), hub=hub)
    organizer.roles.append(UserRole(role="organizer", hub_id=second.id))
    _db.session.commit()
    login_as(user=organizer)
    page = client.get("/quan-ly/so-lieu?weeks=4").get_data(as_text=True)
    assert "Tất cả điểm phát tôi phụ trách" in page and "Theo điểm phát" in page
    assert '<span class="kpi-value">7</span>' in page  # 6 + 1 at the second hub
    assert re.search(r"<td>Đoàn phường Ninh Kiều</td><td>1</td>", page)
    assert "Đoàn xã Mỹ Phước" not in page
    login_as("admin")
    page = client.get("/quan-ly/so-lieu?weeks=4").get_data(as_text=True)
    assert "Đoàn xã Mỹ Phước" in page and third.name in page
    assert '<span class="kpi-value">8</span>' in page  # every hub (the fixture's other one too)


def test_a_purged_request_still_counts_by_ward(hub, activity):
    before = stats.numbers([hub], weeks=4)
    result = privacy.purge(now=utcnow() + timedelta(days=hub.retention_days + 1))
    assert result.requests == 3  # delivered ×2, cancelled ×1
    after = stats.numbers([hub], weeks=4)
    assert after.by_ward == before.by_ward and after.weeks == before.weeks


# ---------------------------------------------------------------- a real phone browser

def test_dashboard_in_a_phone_browser(database_url, hub, volunteer, activity, tmp_path):
    from playwright.sync_api import expect

    from tests.browser import live_server, phone_browser, require_chromium
    from tests.factories import PASSWORD
    require_chromium()
    organizer = make_user(roles=("organizer",), hub=hub)
    console_errors = []
    with live_server(database_url, str(tmp_path)) as (base, _), phone_browser() as page:
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.goto(f"{base}/tai-khoan/dang-nhap")
        page.fill("#phone", organizer.phone)
        page.fill("#password", PASSWORD)
        page.click("form button.primary")
        page.click(".site-menu > summary")  # the phone's menu and the staff's, no JavaScript needed
        page.click("summary >> text=Quản lý")
        page.click(".nav-menu-items >> text=Số liệu")
        page.wait_for_url(f"{base}/quan-ly/so-lieu")
        expect(page.locator(".week-chart svg rect.bar")).to_have_count(24)
        box = page.locator(".week-chart svg").bounding_box()
        assert box["width"] > 300 and box["height"] > 80  # sized by the stylesheet
        fill = page.locator(".week-chart rect.bar-delivered").first.evaluate(
            "e => getComputedStyle(e).fill")
        assert fill == "rgb(23, 107, 52)"  # the CSS class colours it (no inline style)
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True, caret="initial")
        page.select_option("#weeks", "4")
        page.click(".dashboard-filters button")
        page.wait_for_url("**weeks=4*")
        expect(page.locator(".week-chart svg rect.bar")).to_have_count(12)
    assert console_errors == []
