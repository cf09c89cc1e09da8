"""Orders of start-up products: checkout (guest and account), the VietQR shown to the buyer,
stock without overselling, the vendor's order list, confirmation by hand, dashboard and CSV."""
import csv
import io
import re
from datetime import date, datetime

import pytest
import zxingcpp
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import Notification, Order, Product
from app.services import orders, payments, vietqr
from app.services.requests import Delivery, RequestError
from tests import factories
from tests.test_security_matrix import CONFIRMED
from tests.test_vendors import make_product, make_vendor, text
from tests.test_vietqr import rasterise, svg_matrix
from tests.threads import run_together

PICKUP = {"recipient_name": "Phạm Thị Mua", "phone": "0912 345 678", "method": "pickup",
          "consent": "y", "idempotency_key": ""}


@pytest.fixture
def shop(db):
    vendor = make_vendor()
    honey = make_product(vendor, "Mật ong rừng 500 ml", price=150_000, stock=5)
    wax = make_product(vendor, "Sáp ong", price=35_000, stock=2)
    return vendor, honey, wax


def stock(product_id) -> int:
    _db.session.rollback()
    return _db.session.get(Product, product_id).stock


def order_count() -> int:
    _db.session.rollback()
    return _db.session.scalar(select(func.count()).select_from(Order))


def scan(svg: str) -> str:
    """What a phone reads from the QR on the page: the SVG's modules drawn and decoded by ZXing."""
    result = zxingcpp.read_barcode(rasterise(svg_matrix(svg)))
    assert result is not None and result.format == zxingcpp.BarcodeFormat.QRCode
    return result.text


# ---------------------------------------------------------------- checkout and the QR

def test_guest_orders_and_the_page_shows_a_scannable_vietqr(client, shop):
    vendor, honey, wax = shop
    page = client.get(f"/dat-hang/{vendor.id}?sp={honey.id}")
    assert page.status_code == 200
    key = re.search(r'name="idempotency_key" type="hidden" value="(\w+)"', text(page)).group(1)
    resp = client.post(f"/dat-hang/{vendor.id}", data={
        **PICKUP, f"qty_{honey.id}": "2", f"qty_{wax.id}": "1", "idempotency_key": key})
    assert resp.status_code == 303, text(resp)[:3000]
    order = _db.session.scalar(select(Order))
    assert resp.headers["Location"].endswith(f"/don-hang/{order.token}")
    assert order.total == 2 * 150_000 + 35_000 and order.status == "awaiting_payment"
    assert (order.buyer_id, order.recipient_name, order.phone) == (
        None, "Phạm Thị Mua", "+84912345678")
    assert re.fullmatch(r"DH[0-9A-HJKMNP-TV-Z]{6}", order.code) and len(order.token) >= 40
    assert [(ln.product_name, ln.unit_price, ln.quantity) for ln in order.lines] == [
        ("Mật ong rừng 500 ml", 150_000, 2), ("Sáp ong", 35_000, 1)]
    assert (stock(honey.id), stock(wax.id)) == (3, 1)

    page = client.get(f"/don-hang/{order.token}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = text(page)
    svg = re.search(r'<svg[^>]*class="vietqr".*?</svg>', html, re.DOTALL).group(0)
    qr = vietqr.decode(scan(svg))  # a real QR decoder, then the strict VietQR parser
    assert (qr.bin, qr.account, qr.service) == ("970436", "0123456789", "account")
    assert qr.amount == 335_000 and qr.dynamic is True
    assert qr.purpose == f"GH0D {order.code}"
    assert payments.codes_in(qr.purpose) == [order.code]  # findable in the transfer later
    for shown in ("Vietcombank", "0123456789", "NGUYEN VAN AN", "335.000 ₫", f"GH0D {order.code}",
                  "Quét mã", "Chuyển khoản nhanh"):
        assert shown in html, shown
    assert "<script>" not in html and "style=" not in html


def order_total(html: str) -> tuple[list[tuple[str, str, str]], str]:
    """The checkout's summary before "Đặt hàng": its shown rows (name, qty, subtotal), total."""
    box = re.search(r'<section class="order-total".*?</section>', html, re.DOTALL).group(0)
    rows = re.findall(r'<tr data-line="\d+">.*?<td>([^<]+)<br>.*?<td data-qty>(\d+)</td>'
                      r'<td data-subtotal>([^<]+)</td>', box, re.DOTALL)
    return rows, re.search(r"<strong data-total[^>]*>([^<]+)</strong>", box).group(1)


def test_the_checkout_shows_the_lines_and_total_before_ordering(client, shop):
    vendor, honey, wax = shop
    html = text(client.get(f"/dat-hang/{vendor.id}?sp={honey.id}"))
    assert f"<h1>Đặt hàng từ {vendor.business_name}</h1>" in html
    assert order_total(html) == ([("Mật ong rừng 500 ml", "1", "150.000 ₫")], "150.000 ₫")
    assert html.index('class="order-total"') < html.index(">Đặt hàng</button>")
    assert 'data-price="150000"' in html and "js/checkout.js" in html
    key = re.search(r'name="idempotency_key" type="hidden" value="(\w+)"', html).group(1)
    # Without JS, "Cập nhật tổng tiền" recounts the typed quantities and orders nothing.
    resp = client.post(f"/dat-hang/{vendor.id}", data={
        f"qty_{honey.id}": "2", f"qty_{wax.id}": "1", "preview": "1", "idempotency_key": key})
    assert resp.status_code == 200 and order_count() == 0
    html = text(resp)
    assert order_total(html) == ([("Mật ong rừng 500 ml", "2", "300.000 ₫"),
                                  ("Sáp ong", "1", "35.000 ₫")], "335.000 ₫")
    assert 'class="error"' not in html  # the unfinished buyer fields are not scolded yet
    assert 'value="2"' in html  # what was typed stays
    resp = client.post(f"/dat-hang/{vendor.id}", data={
        **PICKUP, f"qty_{honey.id}": "2", f"qty_{wax.id}": "1", "idempotency_key": key})
    assert resp.status_code == 303
    assert _db.session.scalar(select(Order)).total == 335_000  # the total that was shown


def test_the_quote_ignores_what_is_not_a_quantity(db, shop):
    vendor, honey, wax = shop
    quote = orders.quote([honey, wax], {honey.id: 3, wax.id: None})
    assert [ln.quantity for ln in quote.lines] == [3, 0] and quote.total == 450_000
    assert orders.quote([honey, wax], {honey.id: -1, wax.id: 500}).total == 0


def test_the_buyer_can_save_the_qr_as_a_png_and_copy_each_value(client, shop):
    """Paying from the phone that shows the QR: a PNG to save (it scans to the same payload as the
    SVG on screen), and each value to type by hand with a copy button beside it."""
    from PIL import Image

    vendor, honey, _wax = shop
    order = place(vendor, honey, 2)
    html = text(client.get(f"/don-hang/{order.token}"))
    payload = payments.payment_for(order).payload
    link = re.search(r'<a class="btn" href="([^"]+)" download>Lưu mã QR</a>', html).group(1)
    assert link == f"/don-hang/{order.token}/vietqr.png"
    resp = client.get(link)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="vietqr-{order.code}.png"'
    assert resp.headers["Cache-Control"] == "no-store"
    image = Image.open(io.BytesIO(resp.data))
    assert image.format == "PNG" and image.width >= 300
    result = zxingcpp.read_barcode(image)  # a real decoder, as a bank app's "scan from image"
    assert result is not None and result.text == payload
    svg = re.search(r'<svg[^>]*class="vietqr".*?</svg>', html, re.DOTALL).group(0)
    assert scan(svg) == payload  # the SVG stays on screen, the same code
    copies = dict(re.findall(r'data-copy="([^"]+)"[^>]*aria-label="([^"]+)"', html))
    assert copies == {"0123456789": "Sao chép số tài khoản", "300000": "Sao chép số tiền",
                      f"GH0D {order.code}": "Sao chép nội dung chuyển khoản"}
    assert html.count(">Sao chép</button>") == 3 and "js/copy.js" in html
    assert "Vietcombank — Ngân hàng TMCP Ngoại thương Việt Nam" in html  # the bank, as text


def test_the_png_is_only_for_the_order_that_waits_for_its_money(client, shop, login_as):
    vendor, honey, _wax = shop
    order = place(vendor, honey)
    other = order.token[:-1] + ("x" if order.token[-1] != "x" else "y")
    assert client.get(f"/don-hang/{other}/vietqr.png").status_code == 404
    assert client.get("/don-hang/short/vietqr.png").status_code == 404
    payments.confirm_payment(vendor.user_id, order.id)
    assert client.get(f"/don-hang/{order.token}/vietqr.png").status_code == 404
    assert "Lưu mã QR" not in text(client.get(f"/don-hang/{order.token}"))


def test_the_buyer_sees_the_sellers_phone_and_zalo_once_the_order_is_placed(client, shop):
    from app.services.phones import display_phone, national_digits

    vendor, honey, _wax = shop
    phone = vendor.user.phone
    before = [client.get(url) for url in (
        f"/gian-hang/{vendor.id}", f"/san-pham/{honey.id}", f"/dat-hang/{vendor.id}",
        "/san-pham")]
    for page in before:
        assert page.status_code == 200
        assert display_phone(phone) not in text(page) and national_digits(phone) not in text(page)
    html = text(client.get(f"/don-hang/{place(vendor, honey).token}"))
    assert f'href="tel:{phone}"' in html and f"Gọi {display_phone(phone)}" in html
    assert f'href="https://zalo.me/{national_digits(phone)}"' in html


FREE = "Mọi món đồ đều miễn phí"


def test_the_footer_says_free_only_where_things_are_free(client, shop):
    vendor, honey, _wax = shop
    for url in ("/do-tang", "/tang-do"):
        assert FREE in text(client.get(url)), url
    order = place(vendor, honey)
    for url in ("/san-pham", f"/san-pham/{honey.id}", f"/gian-hang/{vendor.id}",
                f"/dat-hang/{vendor.id}", f"/don-hang/{order.token}", "/phien-cho/"):
        page = text(client.get(url))
        assert FREE not in page and "Sản phẩm khởi nghiệp có giá bán" in page, url


def test_the_qr_payload_cannot_be_tampered_with(db, shop):
    vendor, honey, _wax = shop
    order = orders.submit_order(vendor.id, {honey.id: 1}, Delivery(**{
        "method": "pickup", "recipient_name": "A", "phone": "0912345678", "consent": True}))
    payload = payments.payment_for(order).payload
    assert vietqr.decode(payload).amount == 150_000
    for bad in (payload.replace("5406150000", "5406950000"),  # a bigger amount
                payload.replace("0123456789", "0123456788"),  # another account
                payload.replace(order.code, "DH000000")):  # another order's code
        with pytest.raises(vietqr.VietQRError) as info:
            vietqr.decode(bad)
        assert info.value.field == "63" and "CRC" in str(info.value)
    with pytest.raises(vietqr.VietQRError):
        vietqr.decode(payload[:-6])  # cut short


def test_transfer_purpose_is_short_ascii_and_bad_purposes_are_refused(db, shop):
    vendor, honey, _wax = shop
    order = orders.submit_order(vendor.id, {honey.id: 1}, Delivery(
        "pickup", "A", "0912345678", consent=True))
    purpose = payments.payment_for(order).purpose
    assert purpose.isascii() and len(purpose) <= vietqr.MAX_PURPOSE
    for bad in ("Đơn hàng 🎉", "x" * 200):
        with pytest.raises(vietqr.VietQRError) as info:
            vietqr.VietQR(bin="970436", account="0123456789", amount=1000, purpose=bad)
        assert info.value.field == "62/08"


def test_logged_in_buyer_orders_by_post_and_both_sides_are_told(client, shop, login_as):
    vendor, honey, _wax = shop
    buyer = login_as("student")
    page = text(client.get(f"/dat-hang/{vendor.id}"))
    assert 'value="Nguyễn Văn An"' in page  # prefilled from the account
    assert 'value="volunteer"' not in page  # pickup or post only
    resp = client.post(f"/dat-hang/{vendor.id}", data={
        **PICKUP, "method": "post", f"qty_{honey.id}": "1", "province_code": factories.HA_NOI,
        "ward_code": factories.HOAN_KIEM, "street": "12 Hàng Bạc"})
    assert resp.status_code == 303, text(resp)[:3000]
    order = _db.session.scalar(select(Order))
    assert (order.buyer_id, order.method, order.ward_code, order.street) == (
        buyer.id, "post", factories.HOAN_KIEM, "12 Hàng Bạc")
    told = {n.user_id: n.message for n in _db.session.scalars(select(Notification))}
    assert order.code in told[buyer.id] and order.code in told[vendor.user_id]
    assert order.code in text(client.get("/don-hang"))


@pytest.mark.parametrize("change, message", [
    ({}, "ít nhất một sản phẩm"),
    ({"QTY": "abc"}, "số nguyên"),
    ({"QTY": "-1"}, "từ 1 đến 99"),
    ({"QTY": "100"}, "từ 1 đến 99"),
    ({"QTY": "6"}, "không còn đủ hàng"),
    ({"QTY": "1", "method": "volunteer"}, "cách nhận hàng"),
    ({"QTY": "1", "consent": ""}, "đồng ý"),
    ({"QTY": "1", "phone": "12345"}, "không hợp lệ"),
    ({"QTY": "1", "recipient_name": " "}, "tên người nhận"),
    ({"QTY": "1", "method": "post"}, "tỉnh/thành phố"),
])
def test_bad_orders_are_refused_and_nothing_changes(client, shop, change, message):
    vendor, honey, _wax = shop
    data = {**PICKUP, **change}
    if "QTY" in data:
        data[f"qty_{honey.id}"] = data.pop("QTY")
    resp = client.post(f"/dat-hang/{vendor.id}", data=data)
    assert resp.status_code == 422
    assert message in text(resp).lower(), text(resp)[:3000]
    assert order_count() == 0 and stock(honey.id) == 5


def test_products_of_another_vendor_or_hidden_cannot_be_ordered(db, shop):
    vendor, honey, _wax = shop
    foreign = make_product(make_vendor(business_name="Khác"), "Nón lá")
    hidden = make_product(vendor, "Ẩn", listed=False)
    pickup = Delivery("pickup", "A", "0912345678", consent=True)
    for quantities in ({foreign.id: 1}, {hidden.id: 1}, {honey.id: 1, 999: 1}):
        with pytest.raises(orders.OrderError) as info:
            orders.submit_order(vendor.id, quantities, pickup)
        assert "không thuộc gian hàng" in str(info.value)
    with pytest.raises(RequestError):
        orders.submit_order(vendor.id, {honey.id: 1}, Delivery("pickup", "A", "0912345678"))
    pending = make_vendor(status="pending", business_name="Chưa duyệt")
    with pytest.raises(orders.OrderError):
        orders.submit_order(pending.id, {make_product(pending).id: 1}, pickup)
    assert order_count() == 0 and stock(honey.id) == 5


def test_unknown_vendor_or_token_is_404(client, shop):
    assert client.get("/dat-hang/999").status_code == 404
    assert client.get("/don-hang/khong-co-ma-nay").status_code == 404
    assert client.get("/don-hang/%00" + "a" * 42).status_code == 404  # not a database error
    pending = make_vendor(status="pending")
    assert client.get(f"/dat-hang/{pending.id}").status_code == 404


# ---------------------------------------------------------------- stock under a race

def test_the_last_units_are_never_oversold(app, shop):
    vendor_id, wax_id = shop[0].id, shop[2].id  # 2 units of wax
    pickup = Delivery("pickup", "Lê Văn Cường", "0987654321", consent=True)
    results, errors = run_together(
        app, lambda i: orders.submit_order(vendor_id, {wax_id: 1}, pickup).id, 20)
    assert len(results) == 2, errors
    assert len(errors) == 18 and all(isinstance(e, orders.OutOfStock) for e in errors), errors
    assert stock(wax_id) == 0 and order_count() == 2


def test_a_double_submit_is_one_order(app, shop):
    vendor_id, honey_id = shop[0].id, shop[1].id
    pickup = Delivery("pickup", "Lê Văn Cường", "0987654321", consent=True)
    results, errors = run_together(app, lambda i: orders.submit_order(
        vendor_id, {honey_id: 2}, pickup, idempotency_key="form-abc").id, 8)
    assert not errors and len(results) == 8 and len(set(results)) == 1, errors
    assert order_count() == 1 and stock(honey_id) == 3


def test_the_key_of_someone_elses_order_leads_nowhere(db, shop):
    vendor, honey, _wax = shop
    pickup = Delivery("pickup", "A", "0912345678", consent=True)
    buyer = factories.make_user()
    mine = orders.submit_order(vendor.id, {honey.id: 1}, pickup, buyer.id, idempotency_key="k1")
    assert orders.submit_order(vendor.id, {honey.id: 1}, pickup, buyer.id, "k1").id == mine.id
    for other_buyer in (None, factories.make_user().id):
        with pytest.raises(orders.OrderError):
            orders.submit_order(vendor.id, {honey.id: 1}, pickup, other_buyer, "k1")
    assert order_count() == 1 and stock(honey.id) == 4


# ---------------------------------------------------------------- the vendor's side

def place(vendor, product, qty=1, **kw) -> Order:
    return orders.submit_order(vendor.id, {product.id: qty}, Delivery(
        "pickup", kw.get("name", "Phạm Thị Mua"), "0912345678", consent=True),
        buyer_id=kw.get("buyer_id"))


def test_vendor_confirms_a_payment_by_hand_then_hands_over(client, shop, login_as):
    vendor, honey, _wax = shop
    buyer = factories.make_user(name="Người mua")
    order = place(vendor, honey, buyer_id=buyer.id)
    login_as(user=vendor.user)
    listing = text(client.get(f"/gian-hang/{vendor.id}/don-hang"))
    assert order.code in listing and "Phạm Thị Mua" in listing and "0912 345 678" in listing
    resp = client.post(f"/gian-hang/don-hang/{order.id}/da-nhan-tien")
    assert resp.status_code == 303
    _db.session.expire_all()
    order = _db.session.get(Order, order.id)
    assert (order.status, order.paid_via, order.confirmed_by_id) == (
        "paid", "manual", vendor.user_id)
    paid_at = order.paid_at
    assert paid_at is not None
    assert "đã nhận được tiền" in _db.session.scalar(
        select(Notification.message).where(Notification.user_id == buyer.id)
        .order_by(Notification.id.desc()))
    # Confirming again changes nothing and says why.
    resp = client.post(f"/gian-hang/don-hang/{order.id}/da-nhan-tien", follow_redirects=True)
    assert "không còn chờ thanh toán" in text(resp)
    _db.session.expire_all()
    assert _db.session.get(Order, order.id).paid_at == paid_at
    assert "Đã thanh toán" in text(client.get(f"/don-hang/{order.token}"))
    assert 'class="vietqr"' not in text(client.get(f"/don-hang/{order.token}"))

    assert client.post(f"/gian-hang/don-hang/{order.id}/da-giao").status_code == 303
    _db.session.expire_all()
    assert _db.session.get(Order, order.id).status == "delivered"


def test_cancelling_an_unpaid_order_gives_the_stock_back(client, shop, login_as):
    vendor, honey, _wax = shop
    order = place(vendor, honey, qty=3)
    assert stock(honey.id) == 2
    login_as(user=vendor.user)
    assert client.post(f"/gian-hang/don-hang/{order.id}/da-giao").status_code == 303  # not paid
    _db.session.expire_all()
    assert _db.session.get(Order, order.id).status == "awaiting_payment"
    client.post(f"/gian-hang/don-hang/{order.id}/huy", data=CONFIRMED)
    _db.session.expire_all()
    assert _db.session.get(Order, order.id).status == "cancelled" and stock(honey.id) == 5
    resp = client.post(f"/gian-hang/don-hang/{order.id}/huy", data=CONFIRMED,
                       follow_redirects=True)
    assert "không thể đổi" in text(resp) and stock(honey.id) == 5  # not twice


def test_other_people_get_404_on_my_orders(client, shop, login_as):
    vendor, honey, _wax = shop
    order = place(vendor, honey)
    login_as(user=make_vendor(business_name="Khác").user)
    for action in ("da-nhan-tien", "da-giao", "huy"):
        assert client.post(f"/gian-hang/don-hang/{order.id}/{action}").status_code == 404
    assert client.post("/gian-hang/don-hang/999/huy").status_code == 404
    assert client.get(f"/gian-hang/{vendor.id}/don-hang").status_code == 404
    _db.session.expire_all()
    assert _db.session.get(Order, order.id).status == "awaiting_payment"


def test_dashboard_lists_work_and_draws_the_sales_chart(client, shop, login_as):
    vendor, honey, wax = shop
    paid = place(vendor, honey, qty=2)
    waiting = place(vendor, wax)
    payments.confirm_payment(vendor.user_id, paid.id)
    login_as(user=vendor.user)
    html = text(client.get(f"/gian-hang/{vendor.id}/quan-ly"))
    prepare, awaiting = html.split("Cần chuẩn bị")[1].split("Chờ xác nhận thanh toán")
    assert paid.code in prepare and waiting.code not in prepare
    assert waiting.code in awaiting.split("Doanh thu theo ngày")[0]
    chart = re.search(r'<figure class="sales-chart">.*?</figure>', html, re.DOTALL).group(0)
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', chart)]
    assert len(heights) == 14 and heights[-1] == orders.CHART_HEIGHT and sum(heights[:-1]) == 0
    assert '<text class="max" x="0" y="-4">300.000 ₫</text>' in chart
    assert "style=" not in html and "<script>" not in html


def test_the_hint_names_the_button_as_it_reads(client, shop, login_as):
    vendor, _honey, wax = shop
    place(vendor, wax)
    login_as(user=vendor.user)
    html = text(client.get(f"/gian-hang/{vendor.id}/quan-ly"))
    awaiting = html.split("Chờ xác nhận thanh toán")[1].split("Doanh thu theo ngày")[0]
    named = re.findall(r"bấm (?:nút )?“([^”]+)”", awaiting)
    buttons = [b.strip() for b in re.findall(r"<button[^>]*>([^<]+)</button>", awaiting)]
    assert named and "Đã nhận 35.000 ₫" in buttons
    for label in named:
        assert any(b.startswith(label) for b in buttons), (label, buttons)


def test_sales_are_counted_on_the_vietnamese_day(db, shop):
    vendor, honey, _wax = shop
    late = place(vendor, honey)
    payments.confirm_payment(vendor.user_id, late.id)
    _db.session.execute(Order.__table__.update().where(Order.id == late.id)
                        .values(paid_at=datetime(2025, 7, 1, 17, 30)))  # 00:30 on 2 July in VN
    _db.session.commit()
    sales = dict(orders.sales_by_day(vendor.id, days=3, today=date(2025, 7, 2)))
    assert sales == {date(2025, 6, 30): 0, date(2025, 7, 1): 0, date(2025, 7, 2): 150_000}


def test_chart_bars_scale_to_the_best_day():
    bars = orders.chart_bars([(date(2025, 7, 1), 0), (date(2025, 7, 2), 50),
                              (date(2025, 7, 3), 100)])
    assert [b.height for b in bars] == [0, orders.CHART_HEIGHT / 2, orders.CHART_HEIGHT]
    assert all(b.y + b.height == orders.CHART_HEIGHT for b in bars)
    assert bars[0].x < bars[1].x < bars[2].x < orders.CHART_WIDTH
    assert [b.height for b in orders.chart_bars([(date(2025, 7, 1), 0)])] == [0]


def test_csv_export(client, shop, login_as):
    vendor, honey, _wax = shop
    place(vendor, honey, qty=2, name="=HYPERLINK(\"http://evil\")")
    login_as(user=vendor.user)
    resp = client.get(f"/gian-hang/{vendor.id}/don-hang.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    body = resp.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Mã đơn", "Đặt lúc", "Người mua"]
    assert rows[1][2].startswith("'=") and rows[1][3] == "0912 345 678"
    assert rows[1][5] == "Mật ong rừng 500 ml x 2" and rows[1][6] == "300000"


# ---------------------------------------------------------------- a real phone browser

def test_guest_buys_in_a_phone_browser_and_the_screen_qr_scans(database_url, shop, tmp_path):
    """Search without diacritics, order as a guest, then read the QR off the rendered page the way
    a banking app's camera would (a screenshot decoded by ZXing)."""
    from PIL import Image

    from tests.browser import live_server, phone_browser, require_chromium
    require_chromium()
    vendor, honey, _wax = shop
    console_errors = []
    with live_server(database_url, str(tmp_path)) as (base, _), phone_browser() as page:
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.goto(f"{base}/san-pham")
        page.fill('input[name="q"]', "mat ong 500")
        page.wait_for_function("() => !document.body.innerText.includes('Sáp ong')")
        page.click("text=Mật ong rừng 500 ml")
        page.click("text=Đặt mua")
        page.wait_for_url(f"**/dat-hang/{vendor.id}?sp={honey.id}")
        assert page.inner_text("[data-total]") == "150.000 ₫"
        page.fill(f"#qty_{honey.id}", "2")
        assert page.inner_text("[data-total]") == "300.000 ₫"  # follows the typing
        assert page.locator("[data-recount]").is_hidden()  # the no-JS button is not needed
        page.fill("#recipient_name", "Võ Thị Mua")
        page.fill("#phone", "0938 123 456")
        page.check('input[name="method"][value="pickup"]')
        page.check("#consent")
        page.click("form button.primary >> text=Đặt hàng")
        page.wait_for_selector("svg.vietqr")
        page.screenshot(path=str(tmp_path / "order.png"), full_page=True)
        shot = page.locator("svg.vietqr").screenshot()
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page.click('button[aria-label="Sao chép số tiền"]')
        assert page.evaluate("navigator.clipboard.readText()") == "300000"
        page.wait_for_selector('button[aria-label="Sao chép số tiền"] >> text=Đã sao chép')
        with page.expect_download() as download:
            page.click("text=Lưu mã QR")
        assert re.fullmatch(r"vietqr-DH\w{6}\.png", download.value.suggested_filename)
        saved = Image.open(download.value.path())
    _db.session.rollback()
    order = _db.session.scalar(select(Order))
    result = zxingcpp.read_barcode(Image.open(io.BytesIO(shot)))
    assert result is not None, "the QR on the screen did not scan"
    qr = vietqr.decode(result.text)
    assert (qr.bin, qr.account, qr.amount, qr.purpose) == (
        "970436", "0123456789", 300_000, f"GH0D {order.code}")
    assert zxingcpp.read_barcode(saved).text == result.text  # the saved picture is the same code
    assert order.recipient_name == "Võ Thị Mua" and stock(honey.id) == 3
    assert console_errors == []  # no CSP violations or script errors on the way
