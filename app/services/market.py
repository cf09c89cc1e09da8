"""Phiên chợ 4.0: an organizer's cashless market event, its booths, real sales at a booth, the live
scoreboard and the report the union sends up.

An organizer of a hub creates an event and invites the hub's approved vendors; a vendor accepts
(or the organizer assigns the booth) and the booth gets the next number and a practice wallet that
receives payments (services.wallets). A booth can also take a real sale: a dynamic VietQR with the
amount and a sale code "PC4K7P9Q" that the vendor confirms or the bank webhook matches like an
order code (services.payments). Practice points and real đồng are counted apart, never added.
"""
import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..extensions import db
from ..models import (
    Booth,
    BoothSale,
    Hub,
    MarketEvent,
    Product,
    Transfer,
    User,
    Vendor,
    Wallet,
)
from ..models.base import utcnow
from . import vietqr, wallets
from .errors import ServiceError
from .formatting import VN_TZ, to_local
from .notifications import notify
from .orders import MAX_QUANTITY
from .requests import CODE_ALPHABET
from .text import clean_line

SALE_PREFIX = "PC"  # phiên chợ; order codes start with "DH"
MAX_CREDIT = 10_000_000  # điểm per participant
INDEX_PATH = "/phien-cho"  # the `market.index` route, for notifications
SALE_STATUS_LABELS = {
    "awaiting_payment": _l("Chờ chuyển khoản"),
    "paid": _l("Đã nhận tiền"),
    "cancelled": _l("Đã hủy"),
}
BOOTH_STATUS_LABELS = {
    "invited": _l("Đã mời, chờ trả lời"),
    "accepted": _l("Tham gia"),
    "declined": _l("Từ chối"),
}


class MarketError(ServiceError):
    """Something that cannot be done; `field` names the form field the message belongs to."""


def booth_path(booth_id: int) -> str:
    """The `market.booth` route (the booth screen), for notifications."""
    return f"/phien-cho/gian-hang/{booth_id}"


# ---------------------------------------------------------------- who may do what

def organizes(user: User | None, event: MarketEvent) -> bool:
    return user is not None and user.is_authenticated and user.has_role("organizer", event.hub_id)


def runs_booth(user: User | None, booth: Booth) -> bool:
    """The booth's own (approved) vendor, or an organizer of the event's hub."""
    if user is None or not user.is_authenticated:
        return False
    return (booth.vendor.user_id == user.id and booth.vendor.is_approved) \
        or organizes(user, booth.event)


def _actor(actor_id: int) -> User:
    user = db.session.get(User, actor_id)
    if user is None:
        raise LookupError(actor_id)
    return user


def organizer_hubs(user: User) -> list[Hub]:
    hub_ids = user.hub_ids_for("organizer")
    stmt = select(Hub).order_by(Hub.name)
    if hub_ids is not None:
        stmt = stmt.where(Hub.id.in_(hub_ids))
    return list(db.session.scalars(stmt)) if hub_ids is None or hub_ids else []


# ---------------------------------------------------------------- events

@dataclass(frozen=True)
class EventFields:
    hub_id: int | None
    name: str
    place: str
    day: date | None
    start: time | None
    end: time | None
    practice_credit: int | None


def _utc(day: date, at: time) -> datetime:
    return datetime.combine(day, at, VN_TZ).astimezone(UTC).replace(tzinfo=None)


def create_event(actor_id: int, f: EventFields) -> MarketEvent:
    """An organizer of the hub creates an event (Vietnamese local date and hours). Raises
    MarketError naming the field."""
    name, place = clean_line(f.name, 160), clean_line(f.place, 255)
    if not name:
        raise MarketError(_l("Vui lòng đặt tên phiên chợ."), "name")
    if not place:
        raise MarketError(_l("Vui lòng nhập địa điểm."), "place")
    if f.day is None:
        raise MarketError(_l("Vui lòng chọn ngày."), "day")
    if f.start is None or f.end is None or f.end <= f.start:
        raise MarketError(_l("Giờ kết thúc phải sau giờ bắt đầu."), "end")
    if type(f.practice_credit) is not int or not 0 < f.practice_credit <= MAX_CREDIT:
        raise MarketError(_l("Điểm tập cho mỗi người là số nguyên từ 1 đến 10.000.000."),
                          "practice_credit")
    starts_at, ends_at = _utc(f.day, f.start), _utc(f.day, f.end)
    if ends_at <= utcnow():
        raise MarketError(_l("Phiên chợ phải kết thúc sau thời điểm hiện tại."), "day")
    with write_transaction() as session:
        if f.hub_id is None or session.get(Hub, f.hub_id) is None or \
                not _actor(actor_id).has_role("organizer", f.hub_id):
            raise MarketError(_l("Vui lòng chọn điểm phát bạn tổ chức."), "hub_id")
        event = MarketEvent(hub_id=f.hub_id, name=name, place=place, starts_at=starts_at,
                            ends_at=ends_at, practice_credit=f.practice_credit,
                            created_by_id=actor_id)
        session.add(event)
    return event


def close_event(actor_id: int, event_id: int) -> MarketEvent:
    """The organizer ends the event early: no more joining, paying or refunding."""
    with write_transaction() as session:
        event = session.get(MarketEvent, event_id)
        if event is None or not organizes(_actor(actor_id), event):
            raise LookupError(event_id)
        if event.status == "open":
            event.status, event.closed_at = "closed", utcnow()
    return event


def events_list(now: datetime | None = None) -> tuple[list[MarketEvent], list[MarketEvent]]:
    """(open or coming events, past ones), soonest first and latest first."""
    now = now or utcnow()
    events = list(db.session.scalars(select(MarketEvent).order_by(MarketEvent.starts_at)))
    current = [e for e in events if e.is_open(now)]
    return current, [e for e in reversed(events) if not e.is_open(now)]


# ---------------------------------------------------------------- booths and invitations

def booths_of(event_id: int) -> list[Booth]:
    return list(db.session.scalars(
        select(Booth).where(Booth.event_id == event_id)
        .order_by(Booth.number.is_(None), Booth.number, Booth.id)))


def accepted_booths(event_id: int) -> list[Booth]:
    return [b for b in booths_of(event_id) if b.status == "accepted"]


def invitable_vendors(event: MarketEvent) -> list[Vendor]:
    """Approved vendors of the event's hub without a booth (or an invitation) yet."""
    return list(db.session.scalars(
        select(Vendor).where(Vendor.hub_id == event.hub_id, Vendor.status == "approved",
                             Vendor.id.not_in(select(Booth.vendor_id)
                                              .where(Booth.event_id == event.id)))
        .order_by(Vendor.business_name)))


def invite(actor_id: int, event_id: int, vendor_ids: list[int]) -> list[Booth]:
    """The organizer invites approved vendors of the hub; each is told. Vendors already invited
    are skipped, vendors of other hubs refused."""
    with write_transaction() as session:
        event = session.get(MarketEvent, event_id)
        if event is None or not organizes(_actor(actor_id), event):
            raise LookupError(event_id)
        if not event.is_open(utcnow()):
            raise MarketError(_l("Phiên chợ đã đóng."))
        wanted = {v.id: v for v in invitable_vendors(event)}
        if not vendor_ids or any(vid not in wanted for vid in vendor_ids):
            raise MarketError(_l("Vui lòng chọn gian hàng đã được duyệt của điểm phát này."),
                              "vendor_ids")
        booths = [Booth(event_id=event.id, vendor_id=vid) for vid in dict.fromkeys(vendor_ids)]
        session.add_all(booths)
        for vid in dict.fromkeys(vendor_ids):
            notify(wanted[vid].user_id, "market_invited", INDEX_PATH,
                   name=wanted[vid].business_name, event=event.name)
    return booths


def accept_booth(actor_id: int, booth_id: int) -> Booth:
    """The vendor accepts the invitation, or the organizer assigns the booth: it gets the next free
    number and its practice wallet. Accepting again changes nothing."""
    with write_transaction() as session:
        booth = session.get(Booth, booth_id)
        if booth is None or not runs_booth(_actor(actor_id), booth):
            raise LookupError(booth_id)
        if booth.status == "accepted":
            return booth
        if not booth.event.is_open(utcnow()):
            raise MarketError(_l("Phiên chợ đã đóng."))
        # one number at a time per event (PostgreSQL locks the event row; SQLite's writer is alone)
        session.execute(select(MarketEvent.id).where(MarketEvent.id == booth.event_id)
                        .with_for_update())
        top = session.scalar(select(func.max(Booth.number)).where(
            Booth.event_id == booth.event_id)) or 0
        booth.status, booth.number, booth.answered_at = "accepted", top + 1, utcnow()
        session.add(Wallet(event_id=booth.event_id, booth=booth,
                           name=clean_line(booth.vendor.business_name, 120)))
    return booth


def decline_booth(actor_id: int, booth_id: int) -> Booth:
    """The vendor says no to an invitation (before accepting it)."""
    with write_transaction() as session:
        booth = session.get(Booth, booth_id)
        if booth is None or booth.vendor.user_id != actor_id:
            raise LookupError(booth_id)
        if booth.status != "invited":
            raise MarketError(_l("Lời mời này đã được trả lời."))
        booth.status, booth.answered_at = "declined", utcnow()
    return booth


def booths_of_user(user_id: int) -> list[Booth]:
    """The booths and invitations of the user's vendors, latest event first."""
    return list(db.session.scalars(
        select(Booth).join(Vendor, Booth.vendor_id == Vendor.id)
        .join(MarketEvent, Booth.event_id == MarketEvent.id)
        .where(Vendor.user_id == user_id, Vendor.status == "approved")
        .order_by(MarketEvent.starts_at.desc(), Booth.id)))


def booth_products(booth: Booth) -> list[Product]:
    return list(db.session.scalars(
        select(Product).where(Product.vendor_id == booth.vendor_id, Product.is_listed.is_(True))
        .order_by(Product.name, Product.id)))


@dataclass(frozen=True)
class Basket:
    """What a buyer takes at a booth: a total and a note ("2 × Mật ong, 1 × Nón lá")."""

    total: int
    note: str
    lines: list[dict]


def basket(booth: Booth, quantities: dict[int, int], amount: int | None) -> Basket:
    """Products of the booth × quantities, or a typed amount when no product is chosen. Raises
    MarketError ("amount" field)."""
    if any(type(q) is not int or not 0 <= q <= MAX_QUANTITY for q in quantities.values()):
        raise MarketError(_l("Số lượng mỗi sản phẩm từ 0 đến %(n)s.", n=MAX_QUANTITY), "amount")
    wanted = {pid: q for pid, q in quantities.items() if q}
    if wanted:
        products = {p.id: p for p in booth_products(booth)}
        if any(pid not in products for pid in wanted):
            raise MarketError(_l("Sản phẩm không thuộc gian hàng này."), "amount")
        lines = [{"name": products[pid].name, "price": products[pid].price, "quantity": q}
                 for pid, q in wanted.items()]
        note = ", ".join(f"{ln['quantity']} × {ln['name']}" for ln in lines)
        return Basket(sum(ln["price"] * ln["quantity"] for ln in lines), note[:200], lines)
    if amount is None:
        raise MarketError(_l("Vui lòng chọn sản phẩm hoặc nhập số tiền."), "amount")
    if type(amount) is not int or amount <= 0:
        raise MarketError(_l("Số tiền phải là số nguyên lớn hơn 0."), "amount")
    return Basket(amount, "", [])


# ---------------------------------------------------------------- real sales at a booth

def new_sale_code() -> str:
    return SALE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def _sale_by_key(key: str, booth_id: int) -> BoothSale | None:
    sale = db.session.scalar(select(BoothSale).where(BoothSale.idempotency_key == key))
    if sale is not None and sale.booth_id != booth_id:
        raise MarketError(_l("Phiên bán hàng đã hết hạn. Vui lòng tải lại trang."))
    return sale


def create_sale(actor_id: int, booth_id: int, bought: Basket, key: str | None) -> BoothSale:
    """The booth starts a real sale: the buyer scans a dynamic VietQR of the total with the sale
    code. A double submit (same key) answers with the first sale; a malformed key is ignored."""
    key = key if key and wallets.KEY_PATTERN.fullmatch(key) else None
    if bought.total > vietqr.MAX_AMOUNT:
        raise MarketError(_l("Số tiền quá lớn."), "amount")
    try:
        with write_transaction() as session:
            booth = session.get(Booth, booth_id)
            if booth is None or not runs_booth(_actor(actor_id), booth):
                raise LookupError(booth_id)
            if key and (done := _sale_by_key(key, booth_id)):
                return done
            if booth.status != "accepted" or not booth.event.is_open(utcnow()):
                raise MarketError(_l("Phiên chợ đã đóng: gian hàng không bán được nữa."))
            code = new_sale_code()
            while session.scalar(select(BoothSale.id).where(BoothSale.code == code)):
                code = new_sale_code()
            sale = BoothSale(code=code, booth_id=booth.id, vendor_id=booth.vendor_id,
                             total=bought.total, lines=bought.lines, idempotency_key=key,
                             created_by_id=actor_id)
            session.add(sale)
    except IntegrityError:
        done = _sale_by_key(key, booth_id) if key else None
        if done is None:
            raise
        return done
    return sale


def sale_for(user: User, sale_id: int) -> BoothSale | None:
    """A sale of a booth the user runs, else None (callers answer 404)."""
    sale = db.session.get(BoothSale, sale_id)
    return sale if sale and runs_booth(user, sale.booth) else None


def cancel_sale(actor_id: int, sale_id: int) -> BoothSale:
    """The buyer changed their mind before paying; a transfer arriving later goes to review."""
    with write_transaction() as session:
        sale = sale_for(_actor(actor_id), sale_id)
        if sale is None:
            raise LookupError(sale_id)
        moved = session.execute(update(BoothSale).where(
            BoothSale.id == sale_id, BoothSale.status == "awaiting_payment")
            .values(status="cancelled").execution_options(synchronize_session=False))
        session.refresh(sale)
        if moved.rowcount != 1:
            raise MarketError(_l("Giao dịch %(code)s đang ở trạng thái “%(status)s”, không thể "
                                 "hủy.", code=sale.code, status=SALE_STATUS_LABELS[sale.status]))
    return sale


# ---------------------------------------------------------------- the scoreboard

@dataclass
class BoothFigures:
    booth: Booth
    payments: int = 0  # practice, not refunded
    points: int = 0
    card_payments: int = 0
    refunds: int = 0
    sales: int = 0  # real, paid
    dong: int = 0


@dataclass
class Figures:
    """An event's numbers. Practice (points) and real (đồng) are kept apart everywhere."""

    event: MarketEvent
    participants: int = 0
    card_holders: int = 0
    first_qr_answers: int = 0  # participants who said it is their first QR payment
    payers: int = 0  # participants with at least one payment
    first_time_payers: int = 0  # ... of whom said it was their first
    credit_issued: int = 0
    booths: list[BoothFigures] = field(default_factory=list)

    @property
    def payments(self) -> int:
        return sum(b.payments for b in self.booths)

    @property
    def points(self) -> int:
        return sum(b.points for b in self.booths)

    @property
    def card_payments(self) -> int:
        return sum(b.card_payments for b in self.booths)

    @property
    def refunds(self) -> int:
        return sum(b.refunds for b in self.booths)

    @property
    def sales(self) -> int:
        return sum(b.sales for b in self.booths)

    @property
    def dong(self) -> int:
        return sum(b.dong for b in self.booths)

    @property
    def first_time_share(self) -> float:
        """First-time QR payers among those who paid (0–1)."""
        return self.first_time_payers / self.payers if self.payers else 0.0

    def top(self, n: int = 5) -> list[BoothFigures]:
        return sorted((b for b in self.booths if b.payments or b.sales),
                      key=lambda b: (-b.payments, -b.points, -b.sales, b.booth.number))[:n]


def _kept_payments(event_id: int):
    """The event's practice payments that were not refunded."""
    refunded = select(Transfer.refund_of_id).where(Transfer.event_id == event_id,
                                                   Transfer.kind == "refund")
    return select(Transfer).where(Transfer.event_id == event_id, Transfer.kind == "payment",
                                  Transfer.id.not_in(refunded))


def figures(event: MarketEvent) -> Figures:
    kept = _kept_payments(event.id).subquery()
    out = Figures(event)
    participant = (Wallet.event_id == event.id) & Wallet.booth_id.is_(None)
    out.participants, out.card_holders, out.first_qr_answers = db.session.execute(
        select(func.count(Wallet.id), func.count(Wallet.pin_hash),
               func.count(Wallet.id).filter(Wallet.first_qr.is_(True))).where(participant)).one()
    out.payers, out.first_time_payers = db.session.execute(
        select(func.count(func.distinct(Wallet.id)),
               func.count(func.distinct(Wallet.id)).filter(Wallet.first_qr.is_(True)))
        .select_from(Wallet).join(kept, kept.c.from_wallet_id == Wallet.id)).one()
    out.credit_issued = db.session.scalar(select(func.coalesce(func.sum(Transfer.amount), 0))
                                          .where(Transfer.event_id == event.id,
                                                 Transfer.kind == "credit"))
    rows = {b.id: BoothFigures(b) for b in accepted_booths(event.id)}
    for booth_id, n, total, cards in db.session.execute(
            select(Wallet.booth_id, func.count(kept.c.id), func.sum(kept.c.amount),
                   func.count(kept.c.id).filter(kept.c.via == "card"))
            .join(kept, kept.c.to_wallet_id == Wallet.id).group_by(Wallet.booth_id)):
        if booth_id in rows:
            rows[booth_id].payments, rows[booth_id].points = n, total
            rows[booth_id].card_payments = cards
    for booth_id, n in db.session.execute(
            select(Wallet.booth_id, func.count(Transfer.id))
            .join(Transfer, Transfer.from_wallet_id == Wallet.id)
            .where(Transfer.kind == "refund", Wallet.event_id == event.id)
            .group_by(Wallet.booth_id)):
        if booth_id in rows:
            rows[booth_id].refunds = n
    for booth_id, n, total in db.session.execute(
            select(BoothSale.booth_id, func.count(BoothSale.id), func.sum(BoothSale.total))
            .join(Booth, BoothSale.booth_id == Booth.id)
            .where(Booth.event_id == event.id, BoothSale.status == "paid")
            .group_by(BoothSale.booth_id)):
        if booth_id in rows:
            rows[booth_id].sales, rows[booth_id].dong = n, total
    out.booths = list(rows.values())
    return out


def booth_figures(booth: Booth) -> BoothFigures:
    """The booth's own totals (one row of `figures`, without the event-wide counts)."""
    kept = _kept_payments(booth.event_id).where(
        Transfer.to_wallet_id == select(Wallet.id).where(Wallet.booth_id == booth.id)
        .scalar_subquery()).subquery()
    out = BoothFigures(booth)
    out.payments, out.points, out.card_payments = db.session.execute(
        select(func.count(kept.c.id), func.coalesce(func.sum(kept.c.amount), 0),
               func.count(kept.c.id).filter(kept.c.via == "card"))).one()
    out.sales, out.dong = db.session.execute(
        select(func.count(BoothSale.id), func.coalesce(func.sum(BoothSale.total), 0))
        .where(BoothSale.booth_id == booth.id, BoothSale.status == "paid")).one()
    return out


def booth_feed(booth: Booth, limit: int = 8) -> list[Transfer]:
    """The booth's latest payments and refunds, newest first."""
    if booth.wallet is None:
        return []
    wid = booth.wallet.id
    return list(db.session.scalars(
        select(Transfer).where((Transfer.to_wallet_id == wid) | (Transfer.from_wallet_id == wid))
        .order_by(Transfer.id.desc()).limit(limit)))


def booth_sales(booth_id: int, limit: int = 8) -> list[BoothSale]:
    return list(db.session.scalars(select(BoothSale).where(BoothSale.booth_id == booth_id)
                                   .order_by(BoothSale.id.desc()).limit(limit)))


def version(event_id: int) -> str:
    """Changes with every payment, refund, new sale or paid/cancelled sale of the event: the live
    fragments answer 204 (nothing to swap) while it stays the same."""
    transfers = db.session.scalar(select(func.coalesce(func.max(Transfer.id), 0))
                                  .where(Transfer.event_id == event_id))
    last, paid, cancelled = db.session.execute(
        select(func.coalesce(func.max(BoothSale.id), 0), func.count(BoothSale.paid_at),
               func.count(BoothSale.id).filter(BoothSale.status == "cancelled"))
        .join(Booth, BoothSale.booth_id == Booth.id).where(Booth.event_id == event_id)).one()
    return f"{transfers}.{last}.{paid}.{cancelled}"


# ---------------------------------------------------------------- the timeline chart

CHART_WIDTH, CHART_HEIGHT, CHART_BUCKETS = 480, 140, 24


@dataclass(frozen=True)
class TimeBar:
    start: datetime  # local
    practice: int  # payments in the slot
    real: int  # paid sales in the slot
    x: float
    width: float
    practice_y: float
    practice_h: float
    real_y: float
    real_h: float


def timeline(event: MarketEvent, now: datetime | None = None) -> list[TimeBar]:
    """Payments per time slot from the start to now (or the end), practice and real side by side,
    the tallest bar full height: geometry for a server-rendered SVG."""
    end = min(now or utcnow(), event.ends_at)
    span = max((end - event.starts_at).total_seconds(), 60.0)
    slot = span / CHART_BUCKETS

    def counts(times) -> list[int]:
        out = [0] * CHART_BUCKETS
        for at in times:
            i = int((at - event.starts_at).total_seconds() // slot)
            if 0 <= i < CHART_BUCKETS:
                out[i] += 1
        return out

    practice = counts(db.session.scalars(select(Transfer.created_at).where(
        Transfer.id.in_(_kept_payments(event.id).with_only_columns(Transfer.id)))))
    real = counts(db.session.scalars(
        select(BoothSale.paid_at).join(Booth, BoothSale.booth_id == Booth.id)
        .where(Booth.event_id == event.id, BoothSale.status == "paid")))
    top = max(practice + real) or 1
    width = CHART_WIDTH / CHART_BUCKETS
    bars = []
    for i in range(CHART_BUCKETS):
        ph = round(CHART_HEIGHT * practice[i] / top, 1)
        rh = round(CHART_HEIGHT * real[i] / top, 1)
        bars.append(TimeBar(to_local(event.starts_at + timedelta(seconds=slot * i)),
                            practice[i], real[i], round(i * width + width * 0.1, 1),
                            round(width * 0.4, 1), CHART_HEIGHT - ph, ph, CHART_HEIGHT - rh, rh))
    return bars


# ---------------------------------------------------------------- the report

def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = str(value if value is not None else "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(fig: Figures) -> str:
    """The report as CSV (UTF-8 with BOM): the summary, then one row per booth."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    e = fig.event
    w.writerow([str(_l("Phiên chợ")), _cell(e.name)])
    w.writerow([str(_l("Thời gian")),
                f"{to_local(e.starts_at):%Y-%m-%d %H:%M} – {to_local(e.ends_at):%Y-%m-%d %H:%M}"])
    w.writerow([str(_l("Địa điểm")), _cell(e.place)])
    for label, value in (
            (_l("Người tham gia"), fig.participants),
            (_l("Trong đó dùng thẻ ví"), fig.card_holders),
            (_l("Người đã thanh toán"), fig.payers),
            (_l("Lần đầu thanh toán bằng QR"), fig.first_time_payers),
            (_l("Tỉ lệ lần đầu trong số người đã thanh toán (%)"),
             f"{fig.first_time_share * 100:.1f}"),
            (_l("Lượt thanh toán tập (điểm)"), fig.payments),
            (_l("Tổng điểm tập đã trả"), fig.points),
            (_l("Lượt hoàn điểm"), fig.refunds),
            (_l("Lượt bán thật (VietQR)"), fig.sales),
            (_l("Doanh thu thật (đồng)"), fig.dong)):
        w.writerow([str(label), value])
    w.writerow([])
    w.writerow([str(h) for h in (_l("Gian số"), _l("Gian hàng"), _l("Lượt trả điểm tập"),
                                 _l("Điểm tập"), _l("Trong đó bằng thẻ"), _l("Lượt hoàn điểm"),
                                 _l("Lượt bán thật"), _l("Doanh thu thật (đồng)"))])
    for b in sorted(fig.booths, key=lambda b: b.booth.number):
        w.writerow([b.booth.number, _cell(b.booth.vendor.business_name), b.payments, b.points,
                    b.card_payments, b.refunds, b.sales, b.dong])
    return out.getvalue()
