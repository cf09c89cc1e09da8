"""Phiên chợ 4.0 through HTTP: the organizer's event and invitations, the vendor's booth, joining
and paying from a phone, the desk's wallet cards paid at a booth with a PIN, real sales by VietQR
(by hand and by the bank webhook), the live fragments, the scoreboard and the report."""
import csv
import hashlib
import hmac
import io
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import (
    Booth,
    BoothSale,
    MarketEvent,
    Notification,
    Transfer,
    User,
    Wallet,
)
from app.services import market, payments, vietqr, wallets
from tests import factories
from tests.test_orders import scan
from tests.test_security_matrix import CONFIRMED
from tests.test_vendors import make_vendor, text
from tests.test_wallets import CREDIT, balance, booth_of, market_event

HTMX = {"HX-Request": "true"}


@pytest.fixture
def event(db):
    return market_event()


@pytest.fixture
def booth(event):
    return booth_of(event)


def join_by_phone(client, event, name="Trần Thị Cúc", phone="0912 000 111", first="yes"):
    resp = client.post(f"/phien-cho/{event.id}/tham-gia", data={
        "name": name, "phone": phone, "first_qr": first, "consent": "y",
        "key": wallets.new_key()})
    assert resp.status_code == 303, text(resp)[:600]
    return _db.session.scalar(select(Wallet).where(Wallet.name == name))


def confirm_page(client, booth, **args):
    resp = client.get(f"/phien-cho/gian-hang/{booth.id}/tra-diem", query_string=args)
    html = text(resp)
    fields = dict(re.findall(r'name="(amount|note|key)" type="hidden" value="([^"]*)"', html))
    return resp, html, fields


def pay_by_phone(client, booth, amount):
    resp, _html, fields = confirm_page(client, booth, amount=str(amount))
    assert resp.status_code == 200 and fields["amount"] == str(amount)
    return client.post(f"/phien-cho/gian-hang/{booth.id}/tra-diem", data=fields)


def payments_count() -> int:
    _db.session.rollback()
    return _db.session.scalar(select(func.count()).select_from(Transfer)
                              .where(Transfer.kind == "payment"))


# ---------------------------------------------------------------- the organizer's event

def test_an_organizer_creates_an_event_of_their_hub(client, login_as, db):
    hub = factories.make_hub()
    organizer = login_as("organizer", hub=hub)
    assert "Tạo phiên chợ" in text(client.get("/phien-cho/"))
    resp = client.post("/phien-cho/tao", data={
        "hub_id": hub.id, "name": "Phiên chợ 4.0 tháng 12", "place": "Sân trường",
        "day": "2999-12-20", "start": "07:30", "end": "11:00", "practice_credit": "150.000"})
    assert resp.status_code == 303
    event = _db.session.scalar(select(MarketEvent))
    assert (event.hub_id, event.practice_credit, event.created_by_id) == (hub.id, 150_000,
                                                                          organizer.id)
    assert event.starts_at.hour == 0 and event.starts_at.minute == 30  # 07:30 in Vietnam is UTC
    assert (event.ends_at - event.starts_at) == timedelta(hours=3, minutes=30)
    assert "150.000" in text(client.get(resp.headers["Location"]))


@pytest.mark.parametrize("change, message", [
    ({"end": "07:00"}, "Giờ kết thúc phải sau giờ bắt đầu"),
    ({"day": "2001-01-01"}, "kết thúc sau thời điểm hiện tại"),
    ({"practice_credit": "0"}, "Điểm tập cho mỗi người"),
    ({"practice_credit": "mười"}, "chữ số"),
    ({"name": " "}, "Vui lòng đặt tên"),
])
def test_bad_event_details_are_refused_next_to_the_field(client, login_as, db, change, message):
    hub = factories.make_hub()
    login_as("organizer", hub=hub)
    data = {"hub_id": hub.id, "name": "Phiên chợ", "place": "Sân", "day": "2999-12-20",
            "start": "07:30", "end": "11:00", "practice_credit": "100000"} | change
    resp = client.post("/phien-cho/tao", data=data)
    assert resp.status_code == 422 and message in text(resp)
    assert _db.session.scalar(select(func.count()).select_from(MarketEvent)) == 0


def test_only_organizers_create_and_only_of_their_hubs(client, login_as, db):
    login_as("vendor")
    assert client.get("/phien-cho/tao").status_code == 404
    client.post("/tai-khoan/dang-xuat")
    mine, other = factories.make_hub(), factories.make_hub()
    login_as("organizer", hub=mine)
    resp = client.post("/phien-cho/tao", data={
        "hub_id": other.id, "name": "X", "place": "Y", "day": "2999-12-20", "start": "07:30",
        "end": "11:00", "practice_credit": "100000"})
    assert resp.status_code == 422 and "điểm phát bạn tổ chức" in text(resp)


def test_a_hub_id_beyond_the_database_range_asks_for_a_hub(client, login_as, db):
    hub = factories.make_hub()
    login_as("organizer", hub=hub)
    resp = client.post("/phien-cho/tao", data={
        "hub_id": str(2**40), "name": "X", "place": "Y", "day": "2999-12-20", "start": "07:30",
        "end": "11:00", "practice_credit": "100000"})
    assert resp.status_code == 422
    assert _db.session.scalar(select(func.count()).select_from(MarketEvent)) == 0


def test_a_malformed_sale_key_is_ignored_not_a_500(client, login_as, booth):
    login_as(user=booth.vendor.user)
    product = market.booth_products(booth)[0]
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/ban",
                       data={f"qty_{product.id}": "1", "key": "bad\x00key/"})
    assert resp.status_code == 303
    assert _db.session.scalar(select(BoothSale)).idempotency_key is None


def test_invitations_accepted_by_the_vendor_or_assigned_by_the_organizer(client, login_as,
                                                                         event):
    first = make_vendor(event.hub, business_name="Mật ong U Minh")
    second = make_vendor(event.hub, business_name="Nón lá Tân Phước")
    other_hub = make_vendor(business_name="Ở nơi khác")
    login_as(user=_db.session.get(User, event.created_by_id))
    page = text(client.get(f"/phien-cho/{event.id}"))
    assert "Mật ong U Minh" in page and "Ở nơi khác" not in page
    resp = client.post(f"/phien-cho/{event.id}/moi", data={"vendor_ids": [other_hub.id]})
    assert _db.session.scalar(select(func.count()).select_from(Booth)) == 0
    resp = client.post(f"/phien-cho/{event.id}/moi", data={"vendor_ids": [first.id, second.id]})
    assert resp.status_code == 303
    booths = {b.vendor_id: b for b in _db.session.scalars(select(Booth))}
    assert {b.status for b in booths.values()} == {"invited"}
    assert _db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == first.user_id)) == 1
    # the organizer assigns the second vendor's booth
    client.post(f"/phien-cho/gian-hang/{booths[second.id].id}/nhan-loi")
    client.post("/tai-khoan/dang-xuat")
    # the first vendor sees the invitation on the market page and accepts it
    login_as(user=first.user)
    assert "Nhận lời tham gia" in text(client.get("/phien-cho/"))
    client.post(f"/phien-cho/gian-hang/{booths[first.id].id}/nhan-loi")
    _db.session.rollback()
    numbers = {b.vendor_id: b.number for b in _db.session.scalars(select(Booth))}
    assert numbers == {second.id: 1, first.id: 2}
    assert _db.session.scalar(select(func.count()).select_from(Wallet)
                              .where(Wallet.booth_id.is_not(None))) == 2
    # a vendor cannot answer someone else's invitation
    assert client.post(f"/phien-cho/gian-hang/{booths[second.id].id}/tu-choi").status_code == 404
    assert "Gian 2" in text(client.get("/phien-cho/"))


def test_the_booth_count_is_what_the_list_shows(client, login_as, event):
    vendors = [make_vendor(event.hub, business_name=name)
               for name in ("Mật ong U Minh", "Nón lá Tân Phước")]
    market.invite(event.created_by_id, event.id, [v.id for v in vendors])
    login_as(user=_db.session.get(User, event.created_by_id))
    page = text(client.get(f"/phien-cho/{event.id}"))
    assert "Gian hàng (2)" in page and "Mật ong U Minh" in page and "Nón lá Tân Phước" in page
    assert "Đã mời, chờ trả lời: 2" in page
    client.post("/tai-khoan/dang-xuat")
    page = text(client.get(f"/phien-cho/{event.id}"))  # the public sees accepted booths only
    assert "Gian hàng (0)" in page and "Mật ong U Minh" not in page


def test_an_event_over_several_days_shows_both_dates(client, db):
    from app.services.formatting import local_midnight_utc

    start = local_midnight_utc(date(2026, 12, 9)) + timedelta(hours=14)  # 14:00 in Vietnam
    event = market_event(ends_at=start + timedelta(days=1))
    event.starts_at = start
    _db.session.commit()
    page = text(client.get(f"/phien-cho/{event.id}"))
    assert "14:00 Thứ Tư, 9/12/2026 – 14:00 Thứ Năm, 10/12/2026" in page
    event.ends_at = start + timedelta(hours=3)
    _db.session.commit()
    assert "Thứ Tư, 9/12/2026, 14:00–17:00" in text(client.get(f"/phien-cho/{event.id}"))


# ---------------------------------------------------------------- the booth's poster

def test_the_poster_carries_the_real_vietqr_and_the_practice_url(client, login_as, booth):
    login_as(user=booth.vendor.user)
    for size in ("", "a5"):
        html = text(client.get(f"/phien-cho/gian-hang/{booth.id}/ap-phich?kho={size}"))
        assert f"poster-{size or 'a4'}" in html
        real_svg, practice_svg = re.findall(r"<svg.*?</svg>", html, re.DOTALL)
        real = vietqr.decode(scan(real_svg))
        assert (real.bin, real.account, real.amount, real.dynamic) == ("970436", "0123456789",
                                                                       None, False)
        assert scan(practice_svg) == f"http://localhost/phien-cho/gian-hang/{booth.id}/tra-diem"
        assert "₫" not in html.split("poster-code practice")[1].split("</section>")[0]
    client.post("/tai-khoan/dang-xuat")
    login_as("vendor")  # another vendor: no poster, no booth screen
    assert client.get(f"/phien-cho/gian-hang/{booth.id}/ap-phich").status_code == 404
    assert client.get(f"/phien-cho/gian-hang/{booth.id}").status_code == 404


# ---------------------------------------------------------------- paying from a phone

def test_a_participant_joins_then_pays_a_booth_by_its_practice_qr(client, booth):
    event = booth.event
    resp = client.get(f"/phien-cho/gian-hang/{booth.id}/tra-diem")  # scanned before joining
    assert resp.status_code == 303 and "/tham-gia" in resp.headers["Location"]
    join_page = text(client.get(resp.headers["Location"]))
    assert "100.000" in join_page and "không phải tiền" in join_page and "₫" not in join_page
    resp = client.post(resp.headers["Location"], data={
        "name": "Trần Thị Cúc", "phone": "0912 000 111", "first_qr": "yes", "consent": "y",
        "key": wallets.new_key()})
    assert resp.headers["Location"].endswith(f"/gian-hang/{booth.id}/tra-diem")
    products = {p.name: p for p in market.booth_products(booth)}
    pick = text(client.get(resp.headers["Location"]))
    assert "Nón lá" in pick and "60.000" in pick and "₫" not in pick
    resp, html, fields = confirm_page(client, booth, **{
        f"qty_{products['Nón lá'].id}": "1", f"qty_{products['Bánh tráng'].id}": "2"})
    assert "130.000" in html and "Xác nhận trả" in html
    assert fields["note"] == "2 × Bánh tráng, 1 × Nón lá"
    assert payments_count() == 0  # the confirmation page moves nothing
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/tra-diem", data=fields)
    assert resp.status_code == 422 and "còn 100.000 điểm, không đủ để trả 130.000 điểm" in text(
        resp)
    resp, html, fields = confirm_page(client, booth, **{f"qty_{products['Nón lá'].id}": "1"})
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/tra-diem", data=fields)
    assert resp.status_code == 303
    receipt = text(client.get(resp.headers["Location"]))
    assert "Đã trả" in receipt and "60.000 điểm" in receipt and "40.000 điểm" in receipt
    again = client.post(f"/phien-cho/gian-hang/{booth.id}/tra-diem", data=fields)  # double tap
    assert again.headers["Location"] == resp.headers["Location"] and payments_count() == 1
    wallet = _db.session.scalar(select(Wallet).where(Wallet.phone == "+84912000111"))
    assert (wallet.balance, wallet.first_qr) == (40_000, True)
    assert "40.000" in text(client.get(f"/phien-cho/{event.id}/vi"))
    assert wallets.check_ledger(event.id).ok


@pytest.mark.parametrize("amount, message", [
    ("0", "lớn hơn 0"), ("-5000", "lớn hơn 0"), ("abc", "chữ số"), ("", "chọn sản phẩm")])
def test_bad_amounts_are_refused_at_the_first_step(client, booth, amount, message):
    join_by_phone(client, booth.event)
    resp, html, _fields = confirm_page(client, booth, amount=amount)
    assert resp.status_code == 422 and message in html and "Xác nhận trả" not in html


def test_a_tampered_confirmation_moves_nothing(client, booth):
    join_by_phone(client, booth.event)
    _resp, _html, fields = confirm_page(client, booth, amount="1000")
    for amount in ("0", "-100", "1e9", ""):
        resp = client.post(f"/phien-cho/gian-hang/{booth.id}/tra-diem",
                           data=fields | {"amount": amount})
        assert resp.status_code == 422
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/tra-diem", data=fields | {"key": "x"})
    assert resp.status_code == 422 and "tải lại trang" in text(resp)
    assert payments_count() == 0


def test_a_closed_event_refuses_joining_and_paying(client, booth):
    event = booth.event
    join_by_phone(client, event)
    market.close_event(event.created_by_id, event.id)
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/tra-diem", data={
        "amount": "1000", "note": "", "key": wallets.new_key()})
    assert resp.status_code == 422 and "đã đóng" in text(resp) and payments_count() == 0
    fresh = client.application.test_client()
    assert "đã đóng" in text(fresh.get(f"/phien-cho/{event.id}/tham-gia"))


def test_a_wallet_of_one_event_cannot_pay_a_booth_of_another(client, booth):
    join_by_phone(client, booth.event)
    elsewhere = booth_of(market_event(hub=booth.event.hub))
    resp = client.get(f"/phien-cho/gian-hang/{elsewhere.id}/tra-diem")
    assert resp.status_code == 303 and f"/{elsewhere.event_id}/tham-gia" in resp.headers["Location"]
    assert payments_count() == 0


def test_the_pay_post_needs_a_csrf_token(csrf_app, booth):
    client = csrf_app.test_client()
    client.get(f"/phien-cho/{booth.event_id}/tham-gia")
    resp = client.post(f"/phien-cho/{booth.event_id}/tham-gia", data={
        "name": "A", "phone": "0912000222", "first_qr": "no", "consent": "y",
        "key": wallets.new_key()})
    assert resp.status_code == 400  # no token: nobody joined
    page = text(client.get(f"/phien-cho/{booth.event_id}/tham-gia"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(f"/phien-cho/{booth.event_id}/tham-gia", data={
        "csrf_token": token, "name": "A", "phone": "0912000222", "first_qr": "no",
        "consent": "y", "key": wallets.new_key()})
    resp, html, fields = confirm_page(client, booth, amount="5000")
    assert client.post(f"/phien-cho/gian-hang/{booth.id}/tra-diem",
                       data=fields).status_code == 400
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/tra-diem",
                       data=fields | {"csrf_token": token})
    assert resp.status_code == 303 and payments_count() == 1


# ---------------------------------------------------------------- the booth screen, live

def test_the_booth_screen_shows_a_payment_within_one_poll(client, login_as, booth):
    phone = client.application.test_client()  # the participant's; `client` is the vendor's
    login_as(user=booth.vendor.user)
    page = text(client.get(f"/phien-cho/gian-hang/{booth.id}"))
    assert 'hx-trigger="every 1s"' in page and "Chưa có ai trả điểm" in page
    live = re.search(r'hx-get="([^"]+)"', page.split('id="booth-live"')[1]).group(1)
    live = live.replace("&amp;", "&")
    assert client.get(live, headers=HTMX).status_code == 204  # nothing new: nothing to swap

    join_by_phone(phone, booth.event, name="Lê Hoàng Duy")
    pay_by_phone(phone, booth, 35_000)
    resp = client.get(live, headers=HTMX)
    fragment = text(resp)
    assert resp.status_code == 200 and "<html" not in fragment and "Vary" in resp.headers
    assert "Lê Hoàng Duy" in fragment and "+<span class=\"points\">35.000 điểm" in fragment
    assert 'data-new="1"' in fragment and "is-new" in fragment
    next_live = re.search(r'hx-get="([^"]+)"', fragment).group(1).replace("&amp;", "&")
    assert client.get(next_live, headers=HTMX).status_code == 204


def test_the_booth_refunds_a_payment_once(client, login_as, booth):
    participant = client.application.test_client()
    wallet = join_by_phone(participant, booth.event)
    pay_by_phone(participant, booth, 35_000)
    payment = _db.session.scalar(select(Transfer).where(Transfer.kind == "payment"))
    login_as(user=booth.vendor.user)
    assert client.post(f"/phien-cho/giao-dich/{payment.id}/hoan",
                       data=CONFIRMED).status_code == 303
    client.post(f"/phien-cho/giao-dich/{payment.id}/hoan", data=CONFIRMED)
    assert balance(wallet.id) == CREDIT and wallets.check_ledger(booth.event_id).ok
    assert "Gian hàng đã hoàn lại" in text(participant.get(f"/phien-cho/giao-dich/{payment.id}"))
    client.post("/tai-khoan/dang-xuat")
    login_as("vendor")
    assert client.post(f"/phien-cho/giao-dich/{payment.id}/hoan").status_code == 404
    assert client.get(f"/phien-cho/giao-dich/{payment.id}").status_code == 404  # not theirs


# ---------------------------------------------------------------- wallet cards at the desk

def test_the_desk_prints_a_card_that_a_booth_scans_and_the_participant_pays_with_a_pin(
        client, login_as, booth):
    event = booth.event
    login_as("volunteer", hub=event.hub)
    resp = client.post(f"/phien-cho/{event.id}/ban-ho-tro", data={
        "name": "Bà Tư", "phone": "", "first_qr": "yes", "pin": "2468", "consent": "y",
        "key": wallets.new_key()})
    assert resp.status_code == 303
    card_page = text(client.get(resp.headers["Location"]))
    url = scan(re.search(r"<svg.*?</svg>", card_page, re.DOTALL).group(0))
    assert url.startswith("http://localhost/phien-cho/the/")
    assert "100.000" in text(client.get(url))  # the card's own page: the balance
    client.post("/tai-khoan/dang-xuat")

    login_as(user=booth.vendor.user)
    form = text(client.get(f"/phien-cho/gian-hang/{booth.id}/the", query_string={"the": url}))
    assert "Bà Tư" in form and "100.000" in form
    key = re.search(r'id="key" name="key" type="hidden" value="([^"]+)"', form).group(1)
    data = {"card": url, "key": key, "amount": "25.000", "pin": "1111"}
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/the", data=data)
    assert resp.status_code == 422 and "còn 4 lần thử" in text(resp)
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/the", data=data | {"pin": "2468"})
    assert resp.status_code == 303 and payments_count() == 1
    client.post(f"/phien-cho/gian-hang/{booth.id}/the", data=data | {"pin": "2468"})  # again
    wallet = _db.session.scalar(select(Wallet).where(Wallet.name == "Bà Tư"))
    assert balance(wallet.id) == 75_000 and payments_count() == 1
    assert _db.session.get(Wallet, wallet.id).pin_attempts == 0


def test_a_forged_or_expired_card_is_refused_at_the_booth(client, login_as, booth, app):
    event = booth.event
    volunteer = factories.make_user(roles=("volunteer",), hub=event.hub)
    card = wallets.join(event.id, wallets.Participant("Ông Sáu", "", False, "1357"),
                        wallets.new_key(), volunteer.id)
    with app.test_request_context():
        token = wallets.card_token(card, event)
    login_as(user=booth.vendor.user)
    forged = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    for bad, message in ((forged, "không hợp lệ"), ("hello", "không hợp lệ")):
        resp = client.get(f"/phien-cho/gian-hang/{booth.id}/the", query_string={"the": bad})
        assert resp.status_code == 422 and message in text(resp) and "Ông Sáu" not in text(resp)
        resp = client.post(f"/phien-cho/gian-hang/{booth.id}/the", data={
            "card": bad, "key": wallets.new_key(), "amount": "1000", "pin": "1357"})
        assert resp.status_code == 422
    _db.session.execute(MarketEvent.__table__.update().values(
        ends_at=event.starts_at + timedelta(minutes=1)))
    _db.session.commit()
    with app.test_request_context():
        expired = wallets.card_token(_db.session.get(Wallet, card.id),
                                     _db.session.get(MarketEvent, event.id))
    resp = client.get(f"/phien-cho/gian-hang/{booth.id}/the", query_string={"the": expired})
    assert resp.status_code == 422 and "hết hạn" in text(resp)
    assert client.get(f"/phien-cho/the/{forged}").status_code == 404
    assert payments_count() == 0 and balance(card.id) == CREDIT


def test_five_wrong_pins_lock_the_card_until_the_desk_sets_a_new_one(client, login_as, booth,
                                                                    app):
    event = booth.event
    volunteer = factories.make_user(roles=("volunteer",), hub=event.hub)
    card = wallets.join(event.id, wallets.Participant("Cô Ba", "", True, "2580"),
                        wallets.new_key(), volunteer.id)
    with app.test_request_context():
        token = wallets.card_token(card, event)
    login_as(user=booth.vendor.user)
    for _ in range(5):
        resp = client.post(f"/phien-cho/gian-hang/{booth.id}/the", data={
            "card": token, "key": wallets.new_key(), "amount": "1000", "pin": "0000"})
    assert "bị khóa" in text(resp)
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/the", data={
        "card": token, "key": wallets.new_key(), "amount": "1000", "pin": "2580"})
    assert resp.status_code == 422 and "bị khóa" in text(resp) and payments_count() == 0
    client.post("/tai-khoan/dang-xuat")
    login_as(user=volunteer)
    assert "Đã khóa" in text(client.get(f"/phien-cho/{event.id}/ban-ho-tro"))
    resp = client.post(f"/phien-cho/vi/{card.id}/the-in", data={"pin": "9999"})
    assert resp.status_code == 303
    assert _db.session.get(Wallet, card.id).pin_attempts == 0


def test_the_desk_finds_a_phone_participant_and_is_closed_to_others(client, login_as, event):
    participant = client.application.test_client()
    join_by_phone(participant, event, name="Nguyễn Văn Bình", phone="0912 000 333")
    login_as("volunteer", hub=event.hub)
    page = text(client.get(f"/phien-cho/{event.id}/ban-ho-tro?tim=0912000333"))
    assert "Nguyễn Văn Bình" in page
    assert "Nguyễn Văn Bình" in text(client.get(f"/phien-cho/{event.id}/ban-ho-tro?tim=văn bình"))
    client.post("/tai-khoan/dang-xuat")
    login_as("volunteer", hub=factories.make_hub())  # another hub's volunteer
    assert client.get(f"/phien-cho/{event.id}/ban-ho-tro").status_code == 404


# ---------------------------------------------------------------- real sales by VietQR

def test_a_real_sale_shows_a_dynamic_vietqr_and_is_confirmed_by_hand(client, login_as, booth):
    login_as(user=booth.vendor.user)
    products = {p.name: p for p in market.booth_products(booth)}
    form = text(client.get(f"/phien-cho/gian-hang/{booth.id}/ban"))
    key = re.search(r'id="key" name="key" type="hidden" value="([^"]+)"', form).group(1)
    data = {f"qty_{products['Nón lá'].id}": "2", "key": key}
    resp = client.post(f"/phien-cho/gian-hang/{booth.id}/ban", data=data)
    assert resp.status_code == 303
    assert client.post(f"/phien-cho/gian-hang/{booth.id}/ban", data=data).headers["Location"] == \
        resp.headers["Location"]  # a double submit is one sale
    sale = _db.session.scalar(select(BoothSale))
    page = text(client.get(resp.headers["Location"]))
    qr = vietqr.decode(scan(re.search(r"<svg.*?</svg>", page, re.DOTALL).group(0)))
    assert (qr.amount, qr.purpose, qr.account) == (120_000, f"GH0D {sale.code}", "0123456789")
    assert sale.code.startswith("PC") and sale.lines == [
        {"name": "Nón lá", "price": 60_000, "quantity": 2}]
    assert client.get(resp.headers["Location"] + "?v=awaiting_payment",
                      headers=HTMX).status_code == 204
    client.post(f"/phien-cho/ban-hang/{sale.id}/da-nhan-tien")
    _db.session.rollback()
    assert (sale.status, sale.paid_via) == ("paid", "manual")
    assert "Đã nhận 120.000 ₫" in text(client.get(resp.headers["Location"]))
    figures = market.figures(booth.event)
    assert (figures.sales, figures.dong, figures.payments, figures.points) == (1, 120_000, 0, 0)
    client.post("/tai-khoan/dang-xuat")
    login_as("vendor")
    assert client.get(resp.headers["Location"]).status_code == 404


def test_the_bank_webhook_pays_a_booth_sale_like_an_order(client, booth, app):
    app.config["BANK_WEBHOOK_SECRET"] = "webhook-secret"
    try:
        sale = market.create_sale(booth.vendor.user_id, booth.id,
                                  market.Basket(35_000, "", []), wallets.new_key())

        def deliver(ref, amount, description):
            raw = json.dumps({"id": ref, "amount": amount, "description": description,
                              "account": "0123456789", "when": "2025-10-20T09:15:00"}).encode()
            sig = hmac.new(b"webhook-secret", raw, hashlib.sha256).hexdigest()
            return client.post("/webhooks/bank", data=raw, headers={
                "X-Signature": sig, "Content-Type": "application/json"}).get_json()

        assert deliver("FT1", 30_000, f"GH0D {sale.code}")["reason"] == "amount_mismatch"
        assert deliver("FT2", 35_000, f"MBVCB.123.gh0d {sale.code.lower()}.CT")["status"] == \
            "applied"
        assert deliver("FT3", 35_000, f"GH0D {sale.code}")["reason"] == "already_paid"
        _db.session.rollback()
        paid = _db.session.get(BoothSale, sale.id)
        assert (paid.status, paid.paid_via) == ("paid", "bank")
        assert payments.codes_in(f"GH0D {sale.code} DH12345X") == [sale.code, "DH12345X"]
        assert _db.session.scalar(select(Notification.link).where(
            Notification.user_id == booth.vendor.user_id,
            Notification.message.like("Đã nhận%"))) == market.booth_path(booth.id)
    finally:
        app.config["BANK_WEBHOOK_SECRET"] = ""


# ---------------------------------------------------------------- scoreboard and report

def test_the_scoreboard_and_report_count_practice_and_real_apart(client, login_as, booth):
    event = booth.event
    second = booth_of(event)
    phones = []
    for i, first in enumerate(("yes", "no", "yes")):
        phone = client.application.test_client()
        join_by_phone(phone, event, name=f"Người {i}", phone=f"0912 000 40{i}", first=first)
        phones.append(phone)
    pay_by_phone(phones[0], booth, 20_000)
    pay_by_phone(phones[0], second, 10_000)
    pay_by_phone(phones[1], second, 5_000)
    sale = market.create_sale(booth.vendor.user_id, booth.id, market.Basket(50_000, "", []),
                              None)
    payments.confirm_sale(booth.vendor.user_id, sale.id)

    board = text(client.get(f"/phien-cho/{event.id}/bang-diem"))
    assert 'hx-trigger="every 2s"' in board and "<svg" in board
    figures = market.figures(_db.session.get(MarketEvent, event.id))
    assert (figures.participants, figures.payers, figures.first_time_payers) == (3, 2, 1)
    assert (figures.payments, figures.points, figures.sales, figures.dong) == (3, 35_000, 1,
                                                                               50_000)
    assert [b.booth.id for b in figures.top()] == [second.id, booth.id]
    assert figures.first_time_share == 0.5

    assert client.get(f"/phien-cho/{event.id}/bao-cao").status_code == 302  # log in first
    login_as(user=_db.session.get(User, event.created_by_id))
    report = text(client.get(f"/phien-cho/{event.id}/bao-cao"))
    assert "50,0%" in report  # a Vietnamese decimal comma
    assert "Sổ điểm khớp" in report and "50.000 ₫" in report
    rows = list(csv.reader(io.StringIO(
        client.get(f"/phien-cho/{event.id}/bao-cao.csv").get_data(as_text=True).lstrip("\ufeff"))))
    summary = {r[0]: r[1] for r in rows if len(r) == 2}
    assert summary["Người tham gia"] == "3" and summary["Lần đầu thanh toán bằng QR"] == "1"
    assert summary["Doanh thu thật (đồng)"] == "50000"
    assert summary["Tổng điểm tập đã trả"] == "35000"
    per_booth = [r for r in rows if len(r) == 8][1:]
    assert [(r[0], r[2], r[3], r[6], r[7]) for r in per_booth] == [
        ("1", "1", "20000", "1", "50000"), ("2", "2", "15000", "0", "0")]


def test_the_report_is_for_the_hubs_organizers_only(client, login_as, event):
    login_as("organizer", hub=factories.make_hub())
    assert client.get(f"/phien-cho/{event.id}/bao-cao").status_code == 404
    assert client.get(f"/phien-cho/{event.id}/bao-cao.csv").status_code == 404
    assert client.post(f"/phien-cho/{event.id}/dong").status_code == 404


def test_the_demo_event_can_be_run(client, app, db):
    cli = app.test_cli_runner()
    assert cli.invoke(args=["seed-demo"]).exit_code == 0
    event = _db.session.scalar(select(MarketEvent))
    booth = _db.session.scalar(select(Booth))
    assert booth.status == "accepted" and booth.vendor.user.phone == "+84901000003"
    assert len(market.booth_products(booth)) == 4 and wallets.check_ledger(event.id).ok
    join_by_phone(client, event, phone="0912 999 888")
    assert pay_by_phone(client, booth, 15_000).status_code == 303
    assert wallets.check_ledger(event.id).ok
