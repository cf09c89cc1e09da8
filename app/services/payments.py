"""Getting paid by VietQR: the order's QR, the vendor's confirmation by hand, and the bank webhook.

There is no bank API to ask whether a transfer arrived. Either the vendor confirms by hand, or a
bank-transaction webhook service posts each transfer to POST /webhooks/bank. A transfer pays an
order when its description carries the order's code, its amount is the order's total and it went
to the vendor's account; anything else waits in the vendor's review list, never applied on its own.
A real sale at a market booth ("PC4K7P9Q", services.market) is paid the same way as an order.
Each bank transaction is recorded once (UNIQUE bank_ref) and an order is paid once (a conditional
UPDATE ... WHERE status = 'awaiting_payment').
"""
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..extensions import db
from ..models import BankTransaction, BoothSale, Order, User, Vendor
from ..models.base import utcnow
from . import jsonbody, messages, vietqr
from .errors import ServiceError
from .formatting import VN_TZ, format_vnd
from .market import SALE_PREFIX, booth_path, sale_for
from .notifications import notify
from .orders import CODE_PREFIX, OrderError, order_path, orders_path, owned_order
from .requests import CODE_ALPHABET
from .text import clean_text, fold, has_hidden

PURPOSE_PREFIX = "GH0D"  # Gian hàng 0 đồng
# An order or booth sale code anywhere in a description squeezed to capitals and digits (banks drop
# or change spaces and punctuation); a lookahead, so overlapping candidates are all found.
_CODE_IN_TEXT = re.compile(f"(?=((?:{CODE_PREFIX}|{SALE_PREFIX})[{CODE_ALPHABET}]{{6}}))")
REVIEW_REASONS = {
    "no_code": _l("Không thấy mã đơn trong nội dung chuyển khoản"),
    "several_codes": _l("Nội dung chuyển khoản có nhiều mã đơn"),
    "amount_mismatch": _l("Số tiền khác tổng tiền của đơn"),
    "account_mismatch": _l("Chuyển vào tài khoản khác tài khoản của gian hàng"),
    "already_paid": _l("Đơn đã được thanh toán trước đó (có thể chuyển hai lần)"),
    "order_cancelled": _l("Đơn đã bị hủy"),
}


# ---------------------------------------------------------------- the QR of an order

def transfer_purpose(code: str) -> str:
    """The transfer message, ASCII and at most 25 characters: "GH0D DH4K7P9Q"."""
    return f"{PURPOSE_PREFIX} {code}"


@dataclass(frozen=True)
class PaymentInfo:
    """What the buyer needs to pay an order: the QR payload, and the same for manual entry."""

    bank: vietqr.Bank
    account: str
    holder: str
    amount: int
    purpose: str
    payload: str

    @property
    def svg(self) -> Markup:
        return vietqr.qr_svg(self.payload)


def payment_for(order: Order | BoothSale) -> PaymentInfo:
    """A dynamic VietQR for the order's (or booth sale's) total into the vendor's account, its code
    as the message."""
    vendor = order.vendor
    qr = vietqr.build(vendor.bank_bin, vendor.account_number, amount=order.total,
                      purpose=transfer_purpose(order.code))
    return PaymentInfo(vietqr.bank_by_bin(vendor.bank_bin), vendor.account_number,
                       vendor.account_holder, order.total, qr.purpose, vietqr.encode(qr))


def codes_in(description: str) -> list[str]:
    """Order and booth sale codes found in a bank transfer description, in order of appearance."""
    squeezed = re.sub(r"[^0-9A-Z]", "", fold(description).upper())
    return list(dict.fromkeys(_CODE_IN_TEXT.findall(squeezed)))


# ---------------------------------------------------------------- paying an order

def _mark_paid(payable: Order | BoothSale, via: str, actor_id: int | None = None) -> bool:
    """Paid exactly once: only the first of any number of racing confirmations changes the row."""
    model = type(payable)
    result = db.session.execute(
        update(model).where(model.id == payable.id, model.status == "awaiting_payment")
        .values(status="paid", paid_at=utcnow(), paid_via=via, confirmed_by_id=actor_id)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _tell_buyer_paid(order: Order) -> None:
    """In the app (a buyer with an account) and by phone (any buyer who left one, guests too)."""
    buyer = db.session.get(User, order.buyer_id) if order.buyer_id else None
    if buyer:
        notify(buyer.id, "order_paid_buyer", order_path(order.token), code=order.code)
    phone = order.phone or (buyer.phone if buyer else None)
    if phone:
        messages.enqueue(db.session, phone, "order_paid",
                         {"hub": order.vendor.business_name, "code": order.code,
                          "amount": format_vnd(order.total).removesuffix(" ₫")},
                         buyer.locale if buyer else None, f"order:{order.id}:paid",
                         hub_id=order.vendor.hub_id)


def confirm_payment(actor_id: int, order_id: int) -> Order:
    """The vendor saw the money in their account and confirms by hand (who and when recorded)."""
    with write_transaction() as session:
        order = owned_order(actor_id, order_id)
        if order is None:
            raise LookupError(order_id)
        if not _mark_paid(order, "manual", actor_id):
            raise OrderError(_l("Đơn %(code)s không còn chờ thanh toán.", code=order.code))
        session.refresh(order)
        _tell_buyer_paid(order)
    return order


def confirm_sale(actor_id: int, sale_id: int) -> BoothSale:
    """The booth saw the money of a real sale in the vendor's account and confirms by hand."""
    with write_transaction() as session:
        sale = sale_for(session.get(User, actor_id), sale_id)
        if sale is None:
            raise LookupError(sale_id)
        if not _mark_paid(sale, "manual", actor_id):
            raise OrderError(_l("Giao dịch %(code)s không còn chờ thanh toán.", code=sale.code))
        session.refresh(sale)
    return sale


# ---------------------------------------------------------------- the bank webhook

EARLIEST_YEAR, LATEST_YEAR = 2000, 2100  # a bank transfer's time, however its sender writes it


class PayloadError(ServiceError):
    """A webhook body we cannot use; the message is returned to the sender."""


@dataclass(frozen=True)
class BankPayload:
    bank_ref: str
    amount: int
    description: str
    account: str
    occurred_at: datetime  # naive UTC


def verify_signature(raw: bytes, signature: str | None, secret: str) -> bool:
    """X-Signature must be the hex HMAC-SHA256 of the raw body under the shared secret."""
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def _text(data: dict, key: str, max_len: int, required: bool = True) -> str:
    value = data.get(key)
    if type(value) is int and key == "id":  # transaction ids may come as numbers
        value = str(value)
    if isinstance(value, str) and len(value) > max_len:
        raise PayloadError(_l("Trường “%(key)s” dài quá %(n)s ký tự.", key=key, n=max_len))
    if key == "id" and isinstance(value, str) and has_hidden(value):  # refused, not changed
        raise PayloadError(_l("Trường “%(key)s” chứa ký tự không hợp lệ.", key=key))
    value = clean_text(value)  # the same cleaning as every form's text (NUL, bidi, NFC, ...)
    if not isinstance(value, str) or (required and not value):
        raise PayloadError(_l("Trường “%(key)s” phải là chuỗi ký tự không rỗng.", key=key))
    return value


def json_object(raw: bytes) -> dict:
    """A webhook body as a JSON object (bounded by jsonbody); raises PayloadError."""
    try:
        data = jsonbody.loads(raw)
    except jsonbody.JSONBodyError as exc:
        raise PayloadError(_l("Nội dung không phải JSON hợp lệ (quá lớn, lồng quá sâu hoặc sai "
                              "cú pháp).")) from exc
    if not isinstance(data, dict):
        raise PayloadError(_l("Nội dung phải là một đối tượng JSON."))
    return data


def amount_of(data: dict, key: str) -> int:
    amount = data.get(key)
    if type(amount) is not int or not 0 < amount <= vietqr.MAX_AMOUNT:
        raise PayloadError(_l("Trường “%(key)s” phải là số nguyên đồng lớn hơn 0.", key=key))
    return amount


def occurred_at(data: dict, key: str) -> datetime:
    """An ISO 8601 time (a space between date and time is fine) as naive UTC; a time without a
    UTC offset is Vietnamese local time."""
    try:
        when = datetime.fromisoformat(_text(data, key, 40))
        if when.tzinfo is None:
            when = when.replace(tzinfo=VN_TZ)
        when = when.astimezone(UTC)  # overflows for the first and last days of the calendar
    except (ValueError, OverflowError) as exc:
        raise PayloadError(_l("Trường “%(key)s” phải là thời điểm ISO 8601.", key=key)) from exc
    if not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
        raise PayloadError(_l("Trường “%(key)s” phải là thời điểm ISO 8601 từ năm %(a)s đến "
                              "%(b)s.", key=key, a=EARLIEST_YEAR, b=LATEST_YEAR))
    return when.replace(tzinfo=None)


def bank_payload(data: dict, *, ref: str, amount: str, description: str, account: str,
                 when: str, ref_prefix: str = "") -> BankPayload:
    """The one mapping of a transfer, whichever service reported it, onto BankPayload: the names
    of that service's fields, and a prefix that keeps its transaction ids apart from others'."""
    return BankPayload(
        bank_ref=ref_prefix + _text(data, ref, 64 - len(ref_prefix)),
        amount=amount_of(data, amount),
        description=_text(data, description, 1000, required=False)[:500],
        account="".join(_text(data, account, 40, required=False).split()),
        occurred_at=occurred_at(data, when),
    )


def parse_bank_payload(raw: bytes) -> BankPayload:
    """{"id", "amount", "description", "account", "when"} → BankPayload; raises PayloadError."""
    return bank_payload(json_object(raw), ref="id", amount="amount", description="description",
                        account="account", when="when")


def by_ref(bank_ref: str) -> BankTransaction | None:
    return db.session.scalar(select(BankTransaction).where(BankTransaction.bank_ref == bank_ref))


def _vendor_by_account(account: str) -> int | None:
    ids = list(db.session.scalars(select(Vendor.id).where(Vendor.account_number == account,
                                                          Vendor.status == "approved")))
    return ids[0] if len(ids) == 1 else None


def _payables(codes: list[str]) -> list[Order | BoothSale]:
    """The orders and booth sales with these codes (the prefixes keep the two apart)."""
    return [*db.session.scalars(select(Order).where(Order.code.in_(codes))),
            *db.session.scalars(select(BoothSale).where(BoothSale.code.in_(codes)))]


def _apply(tx: BankTransaction) -> None:
    """Pay the order (or booth sale) the transfer names, or keep it for the vendor's review with
    the reason."""
    payables = _payables(codes_in(tx.description))
    if len(payables) != 1:
        tx.status, tx.reason = "review", "several_codes" if payables else "no_code"
        tx.vendor_id = _vendor_by_account(tx.account) if tx.account else None
    else:
        order = payables[0]
        is_order = isinstance(order, Order)
        tx.order_id, tx.vendor_id = order.id if is_order else None, order.vendor_id
        if tx.account and tx.account != order.vendor.account_number:
            tx.status, tx.reason = "review", "account_mismatch"
        elif tx.amount != order.total:
            tx.status, tx.reason = "review", "amount_mismatch"
        elif _mark_paid(order, "bank"):
            tx.status = "applied"
            db.session.refresh(order)
            notify(order.vendor.user_id, "order_paid_vendor",
                   orders_path(order.vendor_id) if is_order else booth_path(order.booth_id),
                   amount=format_vnd(tx.amount), code=order.code)
            if is_order:
                _tell_buyer_paid(order)
            return
        else:
            db.session.refresh(order)
            tx.status = "review"
            tx.reason = "order_cancelled" if order.status == "cancelled" else "already_paid"
    if tx.vendor_id:
        vendor = db.session.get(Vendor, tx.vendor_id)
        notify(vendor.user_id, "transfer_review", orders_path(vendor.id),
               amount=format_vnd(tx.amount), reason=REVIEW_REASONS[tx.reason])


def record_bank_transaction(p: BankPayload) -> tuple[BankTransaction, bool]:
    """Record a transfer the bank reported and apply it; (transaction, False) when that bank id
    was already recorded, which then changes nothing — also when two deliveries race: the later
    insert fails on the UNIQUE bank_ref and answers with the first one's result."""
    try:
        with write_transaction() as session:
            if done := by_ref(p.bank_ref):
                return done, False
            tx = BankTransaction(bank_ref=p.bank_ref, amount=p.amount, description=p.description,
                                 account=p.account, occurred_at=p.occurred_at, status="review")
            session.add(tx)
            session.flush()  # claims the bank id first: a concurrent twin waits here, then fails
            _apply(tx)
    except IntegrityError:
        done = by_ref(p.bank_ref)
        if done is None:
            raise
        return done, False
    return tx, True


# ---------------------------------------------------------------- the vendor's review list

def review_list(vendor_id: int) -> list[BankTransaction]:
    return list(db.session.scalars(
        select(BankTransaction).where(BankTransaction.vendor_id == vendor_id,
                                      BankTransaction.status == "review",
                                      BankTransaction.reviewed_at.is_(None))
        .order_by(BankTransaction.id)))


def mark_reviewed(actor_id: int, transaction_id: int) -> BankTransaction:
    """The vendor has dealt with a transfer in the review list (refunded it, confirmed the order by
    hand, ...); it leaves the list with who and when recorded."""
    with write_transaction() as session:
        tx = session.get(BankTransaction, transaction_id)
        vendor = session.get(Vendor, tx.vendor_id) if tx and tx.vendor_id else None
        if vendor is None or vendor.user_id != actor_id or tx.status != "review":
            raise LookupError(transaction_id)
        if tx.reviewed_at is None:
            tx.reviewed_by_id, tx.reviewed_at = actor_id, utcnow()
    return tx
