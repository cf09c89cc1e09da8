"""Orders of start-up products: a buyer (account or guest) orders from one vendor, picks the order
up at the hub/event or has it posted, and pays by VietQR (services.payments).

Stock rule, as for donated items: units are reserved by a conditional UPDATE (`stock >= n`) whose
row count is checked, in the same transaction that records the order, so nothing is oversold.
"""
import csv
import io
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..extensions import db
from ..models import Order, OrderLine, Product, Vendor
from ..models.base import utcnow
from . import stock
from .errors import ServiceError
from .formatting import local_midnight_utc, local_today, to_local
from .notifications import notify
from .phones import display_phone
from .requests import CODE_ALPHABET, Delivery, validate_delivery

CODE_PREFIX = "DH"  # đơn hàng; request codes look different ("0D-4K7P")
METHODS = ("pickup", "post")
MAX_QUANTITY = 99  # of one product in one order
STATUS_LABELS = {
    "awaiting_payment": _l("Chờ thanh toán"),
    "paid": _l("Đã thanh toán, đang chuẩn bị"),
    "delivered": _l("Đã giao"),
    "cancelled": _l("Đã hủy"),
}
METHOD_LABELS = {
    "pickup": _l("Nhận tại điểm phát hoặc phiên chợ"),
    "post": _l("Gửi qua bưu điện"),
}
SOLD_STATUSES = ("paid", "delivered")


class OrderError(ServiceError):
    """An order that cannot be made or changed; `field` names the form field of the message."""


class OutOfStock(OrderError):
    def __init__(self, product: Product):
        super().__init__(_l("Rất tiếc, “%(name)s” không còn đủ hàng.", name=product.name), "items")
        self.product_id = product.id


def new_code() -> str:
    """"DH4K7P9Q": letters and digits only, so it survives in any bank's transfer description."""
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def order_path(token: str) -> str:
    """The `shop.order` route (the buyer's page with the QR), for notifications."""
    return f"/don-hang/{token}"


def orders_path(vendor_id: int) -> str:
    """The `vendors.orders` route, for notifications."""
    return f"/gian-hang/{vendor_id}/don-hang"


# ---------------------------------------------------------------- the total before ordering

@dataclass(frozen=True)
class QuoteLine:
    product: Product
    quantity: int

    @property
    def subtotal(self) -> int:
        return self.product.price * self.quantity


@dataclass(frozen=True)
class Quote:
    """What the checkout's quantities cost, shown before "Đặt hàng" (the sum `_create` records)."""

    lines: list[QuoteLine]

    @property
    def total(self) -> int:
        return sum(line.subtotal for line in self.lines)


def quote(products: list[Product], quantities: dict[int, int | None]) -> Quote:
    """One line per product; a quantity that is not a whole number from 0 to MAX_QUANTITY counts
    as 0 (the form says what is wrong with it)."""
    def valid(q):
        return q if type(q) is int and 0 <= q <= MAX_QUANTITY else 0
    return Quote([QuoteLine(p, valid(quantities.get(p.id))) for p in products])


# ---------------------------------------------------------------- submitting

def _reserve(product_id: int, quantity: int) -> bool:
    return stock.take(Product.stock, product_id, quantity)


def _release(order: Order) -> None:
    for line in order.lines:
        stock.give_back(Product.stock, line.product_id, line.quantity)


def _by_key(idempotency_key: str, vendor_id: int, buyer_id: int | None) -> Order | None:
    """The order a form with this key already made; the key of someone else's order is no way in."""
    order = db.session.scalar(select(Order).where(Order.idempotency_key == idempotency_key))
    if order is not None and (order.vendor_id, order.buyer_id) != (vendor_id, buyer_id):
        raise OrderError(_l("Phiên đặt hàng đã hết hạn. Vui lòng tải lại trang và đặt lại."))
    return order


def _create(vendor_id: int, quantities: dict[int, int], delivery: Delivery,
            buyer_id: int | None, idempotency_key: str | None) -> Order:
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None or not vendor.is_approved:
        raise OrderError(_l("Gian hàng không tồn tại hoặc đang tạm ngừng bán."), "items")
    if any(type(q) is not int or not 0 <= q <= MAX_QUANTITY for q in quantities.values()):
        raise OrderError(_l("Số lượng mỗi sản phẩm từ 1 đến %(n)s.", n=MAX_QUANTITY), "items")
    wanted = {pid: q for pid, q in quantities.items() if q}
    if not wanted:
        raise OrderError(_l("Vui lòng chọn ít nhất một sản phẩm."), "items")
    products = list(db.session.scalars(
        select(Product).where(Product.id.in_(wanted)).order_by(Product.id)))
    if len(products) != len(wanted) or any(p.vendor_id != vendor_id or not p.is_listed
                                           for p in products):
        raise OrderError(_l("Sản phẩm không tồn tại hoặc không thuộc gian hàng này."), "items")
    if delivery.method not in METHODS:
        raise OrderError(_l("Vui lòng chọn cách nhận hàng."), "method")
    d = validate_delivery(vendor.hub, delivery)  # RequestError / InvalidDelivery naming the fields
    for product in products:  # in id order: two orders lock rows in the same order
        if not _reserve(product.id, wanted[product.id]):
            raise OutOfStock(product)
    code = new_code()
    while db.session.scalar(select(Order.id).where(Order.code == code)):
        code = new_code()
    order = Order(
        code=code, token=secrets.token_urlsafe(32), vendor_id=vendor_id, buyer_id=buyer_id,
        total=sum(p.price * wanted[p.id] for p in products), method=d.method,
        recipient_name=d.recipient_name, phone=d.phone, province_code=d.province_code,
        ward_code=d.ward_code, street=d.street or None, consent_at=utcnow(),
        idempotency_key=idempotency_key,
        lines=[OrderLine(product_id=p.id, product_name=p.name, unit_price=p.price,
                         quantity=wanted[p.id]) for p in products],
    )
    db.session.add(order)
    db.session.flush()
    count = sum(wanted.values())
    notify(vendor.user_id, "order_new", orders_path(vendor_id), code=code, n=count)
    if buyer_id:
        notify(buyer_id, "order_placed", order_path(order.token), code=code)
    return order


def submit_order(vendor_id: int, quantities: dict[int, int], delivery: Delivery,
                 buyer_id: int | None = None, idempotency_key: str | None = None) -> Order:
    """Record an order of {product_id: quantity} from one vendor and reserve its stock. Raises
    OrderError or requests.RequestError (bad delivery details); nothing is saved then.

    The same idempotency key again (a double submit, even at the same instant) returns the first
    order: the UNIQUE key makes the later of two racing inserts fail, and it answers with the
    order that won.
    """
    try:
        with write_transaction():
            if idempotency_key and (done := _by_key(idempotency_key, vendor_id, buyer_id)):
                return done
            return _create(vendor_id, quantities, delivery, buyer_id, idempotency_key)
    except IntegrityError:
        done = _by_key(idempotency_key, vendor_id, buyer_id) if idempotency_key else None
        if done is None:
            raise
        return done


# ---------------------------------------------------------------- seeing orders

TOKEN = re.compile(r"[0-9A-Za-z_-]{20,64}")  # secrets.token_urlsafe(32): 43 characters


def by_token(token: str) -> Order | None:
    if not TOKEN.fullmatch(token or ""):  # also keeps a NUL (refused by PostgreSQL) out
        return None
    return db.session.scalar(select(Order).where(Order.token == token))


def owned_order(user_id: int, order_id: int) -> Order | None:
    """An order of one of the user's own approved vendors, else None (callers answer 404)."""
    order = db.session.get(Order, order_id)
    if order is None or order.vendor.user_id != user_id or not order.vendor.is_approved:
        return None
    return order


def orders_of(vendor_id: int, statuses: tuple[str, ...] | None = None) -> list[Order]:
    stmt = select(Order).where(Order.vendor_id == vendor_id)
    if statuses:
        stmt = stmt.where(Order.status.in_(statuses))
    return list(db.session.scalars(stmt.order_by(Order.id.desc())))


def orders_of_buyer(user_id: int) -> list[Order]:
    return list(db.session.scalars(select(Order).where(Order.buyer_id == user_id)
                                   .order_by(Order.id.desc())))


# ---------------------------------------------------------------- the vendor moves an order

def _move(actor_id: int, order_id: int, from_status: str, to_status: str) -> Order:
    """Conditional status change (the row count tells whether someone else moved it first)."""
    order = owned_order(actor_id, order_id)
    if order is None:
        raise LookupError(order_id)
    moved = db.session.execute(
        update(Order).where(Order.id == order_id, Order.status == from_status)
        .values(status=to_status, closed_at=utcnow()).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.refresh(order)
        raise OrderError(_l("Đơn %(code)s đang ở trạng thái “%(status)s”, không thể đổi.",
                            code=order.code, status=STATUS_LABELS[order.status]))
    db.session.refresh(order)
    return order


def mark_delivered(actor_id: int, order_id: int) -> Order:
    """The vendor handed a paid order over (at the hub/event, or to the post office)."""
    with write_transaction():
        order = _move(actor_id, order_id, "paid", "delivered")
        if order.buyer_id:
            notify(order.buyer_id, "order_delivered", order_path(order.token), code=order.code)
    return order


def cancel_order(actor_id: int, order_id: int) -> Order:
    """The vendor cancels an order that was not paid; its units go back to the stock. A transfer
    that arrives afterwards goes to the review list instead of paying it."""
    with write_transaction():
        order = _move(actor_id, order_id, "awaiting_payment", "cancelled")
        _release(order)
        if order.buyer_id:
            notify(order.buyer_id, "order_cancelled", order_path(order.token), code=order.code)
    return order


# ---------------------------------------------------------------- the dashboard's numbers

def sales_by_day(vendor_id: int, days: int = 14,
                 today: date | None = None) -> list[tuple[date, int]]:
    """Đồng received per Vietnamese calendar day (by payment time), the last `days` days."""
    today = today or local_today()
    first = today - timedelta(days=days - 1)
    totals = {first + timedelta(days=i): 0 for i in range(days)}
    rows = db.session.execute(select(Order.paid_at, Order.total).where(
        Order.vendor_id == vendor_id, Order.status.in_(SOLD_STATUSES),
        Order.paid_at >= local_midnight_utc(first)))
    for paid_at, total in rows:
        day = to_local(paid_at).date()
        if day in totals:
            totals[day] += total
    return list(totals.items())


@dataclass(frozen=True)
class Bar:
    day: date
    amount: int
    x: float
    y: float
    width: float
    height: float


CHART_WIDTH, CHART_HEIGHT = 320, 120


def chart_bars(points: list[tuple[date, int]]) -> list[Bar]:
    """Geometry of a bar chart in a CHART_WIDTH × CHART_HEIGHT box, the tallest bar full height."""
    top = max((amount for _, amount in points), default=0) or 1
    slot = CHART_WIDTH / max(len(points), 1)
    bars = []
    for i, (day, amount) in enumerate(points):
        height = round(CHART_HEIGHT * amount / top, 1)
        bars.append(Bar(day, amount, round(i * slot + slot * 0.15, 1), CHART_HEIGHT - height,
                        round(slot * 0.7, 1), height))
    return bars


CSV_HEADER = (_l("Mã đơn"), _l("Đặt lúc"), _l("Người mua"), _l("Điện thoại"), _l("Cách nhận"),
              _l("Sản phẩm"), _l("Tổng tiền (đồng)"), _l("Trạng thái"), _l("Thanh toán lúc"),
              _l("Xác nhận bởi"))


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = str(value if value is not None else "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def orders_csv(vendor_id: int) -> str:
    """Every order of the vendor as CSV (UTF-8 with BOM so spreadsheet programs show Vietnamese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([str(h) for h in CSV_HEADER])
    fmt = "%Y-%m-%d %H:%M"
    for o in reversed(orders_of(vendor_id)):
        products = "; ".join(f"{ln.product_name} x {ln.quantity}" for ln in o.lines)
        confirmed = o.confirmed_by.name if o.confirmed_by else \
            str(_l("Ngân hàng báo tự động")) if o.paid_via == "bank" else ""
        writer.writerow([_cell(v) for v in (
            o.code, to_local(o.created_at).strftime(fmt), o.recipient_name, display_phone(o.phone),
            str(METHOD_LABELS[o.method]), products, o.total, str(STATUS_LABELS[o.status]),
            to_local(o.paid_at).strftime(fmt) if o.paid_at else "", confirmed)])
    return out.getvalue()
