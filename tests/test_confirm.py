"""What cannot be undone asks first (app/confirm.py): the button's post answers a page saying what
will happen, with "Xác nhận …" and "Quay lại", and changes nothing; its "Xác nhận" post acts.
Someone else's object is a 404 at the first step too; the second post needs its CSRF token."""
import re

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.models import BoothSale, ItemRequest, MarketEvent, Order, Transfer, User
from app.services import market, orders, wallets
from app.services import requests as svc
from tests.factories import make_hub, make_item, make_user
from tests.test_market import join_by_phone, pay_by_phone, text
from tests.test_security_matrix import CONFIRMED
from tests.test_vendors import make_product
from tests.test_wallets import booth_of, market_event

PICKUP = svc.Delivery("pickup", "An", "0912345678", consent=True)


def asks(resp, confirm_label: str) -> str:
    """The confirm page: 200, its "Xác nhận …" button posting confirm=yes, and "Quay lại"."""
    assert resp.status_code == 200
    html = text(resp)
    assert re.search(rf'<button class="btn danger" name="confirm" value="yes">{confirm_label}'
                     r"</button>", html)
    assert "Quay lại</a>" in html
    return html


def status(model, id_):
    _db.session.expire_all()
    return _db.session.get(model, id_).status


def test_cancelling_a_request_asks_first(client, login_as):
    hub = make_hub()
    student = login_as("student")
    req = svc.submit_request(student.id, hub.id, [make_item(hub).id], PICKUP)
    html = asks(client.post(f"/yeu-cau/{req.id}/huy"), "Xác nhận hủy yêu cầu")
    assert f"Hủy yêu cầu {req.code}?" in html and "trả lại cho điểm phát" in html
    assert status(ItemRequest, req.id) == "submitted"
    assert client.post(f"/yeu-cau/{req.id}/huy", data=CONFIRMED).status_code == 303
    assert status(ItemRequest, req.id) == "cancelled"
    other = svc.submit_request(make_user().id, hub.id, [make_item(hub).id], PICKUP)
    assert client.post(f"/yeu-cau/{other.id}/huy").status_code == 404  # not theirs: no page


def test_rejecting_asks_first_and_carries_the_reason(client, login_as):
    hub = make_hub()
    req = svc.submit_request(make_user().id, hub.id, [make_item(hub).id], PICKUP)
    login_as("volunteer", hub=hub)
    html = asks(client.post(f"/quan-ly/yeu-cau/{req.id}/tu-choi",
                            data={"hub": hub.id, "reason": "Hồ sơ không đúng"}),
                "Xác nhận từ chối")
    assert '<input type="hidden" name="reason" value="Hồ sơ không đúng">' in html
    assert status(ItemRequest, req.id) == "submitted"
    resp = client.post(f"/quan-ly/yeu-cau/{req.id}/tu-choi",
                       data={"hub": hub.id, "reason": "Hồ sơ không đúng"} | CONFIRMED)
    assert resp.status_code == 303 and status(ItemRequest, req.id) == "rejected"
    login_as("volunteer", hub=make_hub())
    assert client.post(f"/quan-ly/yeu-cau/{req.id}/tu-choi",
                       data={"reason": "x"}).status_code == 404


@pytest.fixture
def booth(db):
    return booth_of(market_event())


def test_closing_a_market_asks_first_then_its_pay_page_says_closed_once(client, login_as, booth):
    event = booth.event
    participant = client.application.test_client()
    join_by_phone(participant, event)
    login_as(user=_db.session.get(User, event.created_by_id))
    html = asks(client.post(f"/phien-cho/{event.id}/dong"), "Xác nhận đóng phiên chợ")
    assert "không mở lại được" in html and status(MarketEvent, event.id) == "open"
    assert client.post(f"/phien-cho/{event.id}/dong", data=CONFIRMED).status_code == 303
    assert status(MarketEvent, event.id) == "closed"

    closed = f"Phiên chợ “{event.name}” đã đóng"
    pay = f"/phien-cho/gian-hang/{booth.id}/tra-diem"
    for resp in (participant.get(f"{pay}?amount=1000"), participant.post(pay, data={
            "amount": "1000", "note": "", "key": wallets.new_key()})):
        html = text(resp)
        assert html.count(closed) == 1 and "Xác nhận trả" not in html, html


def test_refunding_asks_first(client, login_as, booth):
    participant = client.application.test_client()
    join_by_phone(participant, booth.event)
    pay_by_phone(participant, booth, 5_000)
    payment = _db.session.scalar(select(Transfer).where(Transfer.kind == "payment"))
    login_as(user=booth.vendor.user)
    asks(client.post(f"/phien-cho/giao-dich/{payment.id}/hoan"), "Xác nhận hoàn điểm")
    assert not wallets.refunded_ids([payment.id])
    client.post(f"/phien-cho/giao-dich/{payment.id}/hoan", data=CONFIRMED)
    assert wallets.refunded_ids([payment.id]) == {payment.id}


def test_cancelling_an_order_or_a_sale_asks_first(client, login_as, booth):
    honey = make_product(booth.vendor, "Mật ong", stock=5)
    order = orders.submit_order(booth.vendor_id, {honey.id: 1}, PICKUP)
    login_as(user=booth.vendor.user)
    asks(client.post(f"/gian-hang/don-hang/{order.id}/huy"), "Xác nhận hủy đơn")
    assert status(Order, order.id) == "awaiting_payment"
    client.post(f"/gian-hang/don-hang/{order.id}/huy", data=CONFIRMED)
    assert status(Order, order.id) == "cancelled"

    sale = market.create_sale(booth.vendor.user_id, booth.id, market.basket(booth, {}, 20_000),
                              wallets.new_key())
    asks(client.post(f"/phien-cho/ban-hang/{sale.id}/huy"), "Xác nhận hủy giao dịch")
    assert status(BoothSale, sale.id) == "awaiting_payment"
    client.post(f"/phien-cho/ban-hang/{sale.id}/huy", data=CONFIRMED)
    assert status(BoothSale, sale.id) == "cancelled"


def test_the_confirmed_post_needs_its_csrf_token(app, client, login_as, booth):
    login_as(user=_db.session.get(User, booth.event.created_by_id))
    close = f"/phien-cho/{booth.event_id}/dong"
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get(f"/phien-cho/{booth.event_id}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert client.post(close, data=CONFIRMED).status_code == 400
        html = asks(client.post(close, data={"csrf_token": token}), "Xác nhận đóng phiên chợ")
        form = html.split('name="confirm"')[0].rsplit("<form", 1)[1]
        fresh = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        assert status(MarketEvent, booth.event_id) == "open"
        assert client.post(close, data={"csrf_token": fresh} | CONFIRMED).status_code == 303
        assert status(MarketEvent, booth.event_id) == "closed"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_closing_a_donation_offer_asks_first_and_carries_the_reason(client, login_as):
    from app.models import Donation
    from app.services import donations
    hub = make_hub()
    donation = donations.offer_donation(donations.Offer(
        hub.id, "Cô Lan", "0912345678", "bring",
        (donations.OfferLine("Áo sơ mi trắng", "quan-ao", "M", "good", 3),), consent=True))
    login_as("volunteer", hub=hub)
    url = f"/quan-ly/tang-do/{donation.id}/dong"
    html = asks(client.post(url, data={"reason": "Gọi ba lần không được"}),
                "Xác nhận đóng đề nghị")
    assert "Cô Lan" in html and "Gọi ba lần không được" in html
    assert status(Donation, donation.id) != "cancelled"
    client.post(url, data={"reason": "Gọi ba lần không được"} | CONFIRMED)
    assert status(Donation, donation.id) == "cancelled"


def test_rejecting_a_vendor_application_asks_first(client, login_as):
    from app.models import Vendor
    from tests.test_vendors import make_vendor
    hub = make_hub()
    vendor = make_vendor(hub=hub, status="pending")
    login_as("organizer", hub=hub)
    data = {"decision": "reject", "reason": "Thiếu giấy phép ATTP"}
    html = asks(client.post(f"/gian-hang/duyet/{vendor.id}", data=data), "Xác nhận từ chối")
    assert '<input type="hidden" name="decision" value="reject">' in html
    assert status(Vendor, vendor.id) == "pending"
    client.post(f"/gian-hang/duyet/{vendor.id}", data=data | CONFIRMED)
    assert status(Vendor, vendor.id) == "rejected"
    login_as("organizer", hub=make_hub())
    assert client.post(f"/gian-hang/duyet/{vendor.id}", data=data).status_code == 404
