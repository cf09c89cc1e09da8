"""Decree 13/2023: what the app holds about a person, for them to download, and deleting it.

`export` gathers every row linked to the user (the account, roles, signed-in devices, requests with
their lines and events, waitlist entries, notifications, donations, shop orders, practice wallets
joined with their phone, shop applications, delivery sign-ups); secrets (hashes, tokens, keys) are
left out. `requests_csv` is the requests as a spreadsheet.

`delete_account`: requests still cancellable are cancelled first through requests.cancel_request
(the stock comes back, the waitlist is served); then, in one unit of work, names, phones and
street addresses on the person's requests, waitlist entries, donations and closed orders are
erased; ward, province, statuses, lines and events stay, so the statistics by ward (services.stats)
count the delivered history as before, anonymously. The account keeps its row (the history points
at it) but loses its name, phone, password and roles; notifications and codes are deleted; every
session ends. Someone can register again with the same phone as a new account.

What is refused, with the reason shown on the confirm page (`blockers`): a staff role (hand the
unit over first: an organizer removes the role), a shop that is open or waiting for approval (ask
the union to close it: its orders and transfers are the vendor's records), a request already packed
or on its way (receive it, or ask the hub to cancel it). An order of a shop that is still open
(awaiting payment or paid) keeps the recipient's name and phone until the vendor closes it: the
vendor must be able to hand it over or pay the money back.
"""
import csv
import io
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, inspect, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import (
    Donation,
    ItemRequest,
    Notification,
    OneTimeCode,
    Order,
    User,
    UserRole,
    UserSession,
    Vendor,
    VolunteerSignup,
    WaitlistEntry,
    Wallet,
)
from ..models.base import utcnow
from . import geo, sessions
from . import requests as requests_svc
from .errors import ServiceError
from .formatting import to_local
from .phones import display_phone

SECRET_FIELDS = frozenset({"password_hash", "token_hash", "code_hash", "pin_hash", "token",
                           "idempotency_key", "join_key"})
STAFF_ROLES = ("volunteer", "organizer", "admin")
DELETED_NAME = "—"


class DeletionRefused(ServiceError):
    pass


# ---------------------------------------------------------------- the download

def _value(v):
    if isinstance(v, datetime):
        return v.isoformat() + ("Z" if v.tzinfo is None else "")
    if isinstance(v, date):
        return v.isoformat()
    return v


def _row(obj, **extra) -> dict:
    out = {attr.key: _value(getattr(obj, attr.key))
           for attr in inspect(obj).mapper.column_attrs if attr.key not in SECRET_FIELDS}
    out.update(extra)
    return out


def _all(stmt) -> list:
    return list(db.session.scalars(stmt))


def export(user_id: int) -> dict:
    """Everything linked to the user, as JSON-ready data."""
    user = db.session.get(User, user_id)
    requests = _all(select(ItemRequest).where(ItemRequest.user_id == user_id)
                    .order_by(ItemRequest.id))
    wallets = _all(select(Wallet).where(Wallet.phone == user.phone).order_by(Wallet.id)) \
        if user.phone else []
    orders = _all(select(Order).where(Order.buyer_id == user_id).order_by(Order.id))
    return {
        "account": _row(user),
        "roles": [_row(r, unit=r.hub.name if r.hub else None) for r in user.roles],
        "sessions": [_row(s) for s in _all(select(UserSession).where(
            UserSession.user_id == user_id).order_by(UserSession.id))],
        "requests": [_row(r, hub=r.hub.name, place=geo.place_label(r.ward_code, r.province_code),
                          lines=[_row(line, item=line.item.title) for line in r.lines],
                          events=[_row(e) for e in r.events]) for r in requests],
        "waitlist": [_row(w, item=w.item.title) for w in _all(
            select(WaitlistEntry).where(WaitlistEntry.user_id == user_id)
            .order_by(WaitlistEntry.id))],
        "notifications": [_row(n) for n in _all(select(Notification).where(
            Notification.user_id == user_id).order_by(Notification.id))],
        "donations": [_row(d, hub=d.hub.name, lines=[_row(line) for line in d.lines])
                      for d in _all(select(Donation).where(Donation.donor_id == user_id)
                                    .order_by(Donation.id))],
        "orders": [_row(o, shop=o.vendor.business_name, lines=[_row(line) for line in o.lines])
                   for o in orders],
        "market_wallets": [_row(w) for w in wallets],
        "shops": [_row(v) for v in _all(select(Vendor).where(Vendor.user_id == user_id)
                                        .order_by(Vendor.id))],
        "delivery_signups": [_row(s) for s in _all(select(VolunteerSignup).where(
            VolunteerSignup.user_id == user_id).order_by(VolunteerSignup.id))],
    }


CSV_HEADER = (_l("Mã yêu cầu"), _l("Ngày gửi"), _l("Điểm phát"), _l("Trạng thái"),
              _l("Cách nhận"), _l("Món đồ"), _l("Số lượng"), _l("Người nhận"),
              _l("Số điện thoại"), _l("Xã/phường"), _l("Địa chỉ"))


def requests_csv(user_id: int) -> str:
    """One row per requested item."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow([str(h) for h in CSV_HEADER])
    for r in requests_svc.list_for_user(user_id):
        for line in r.lines:
            out.writerow([
                r.code, to_local(r.created_at).strftime("%Y-%m-%d %H:%M"), r.hub.name,
                str(requests_svc.STATUS_LABELS.get(r.status, r.status)),
                str(requests_svc.METHOD_LABELS.get(r.method, r.method)), line.item.title,
                line.quantity, r.recipient_name, display_phone(r.phone),
                geo.place_label(r.ward_code, r.province_code), r.street or ""])
    return "\ufeff" + buf.getvalue()  # the BOM: spreadsheet programs then read UTF-8


# ---------------------------------------------------------------- deleting the account

OPEN_ORDER_STATUSES = ("awaiting_payment", "paid")


def blockers(user: User) -> list[str]:
    """Why the account cannot be deleted yet, in words (empty: it can)."""
    out = []
    if any(r.role in STAFF_ROLES for r in user.roles):
        out.append(str(_l("Bạn đang giữ vai trò của Đoàn (tình nguyện viên, cán bộ hoặc quản trị). "
                          "Hãy bàn giao công việc và nhờ cán bộ Đoàn gỡ vai trò trước.")))
    if db.session.scalar(select(Vendor.id).where(
            Vendor.user_id == user.id, Vendor.status.in_(("approved", "pending"))).limit(1)):
        out.append(str(_l("Bạn có gian hàng đang mở hoặc đang chờ duyệt. Hãy nhờ Đoàn đóng gian "
                          "hàng trước: đơn hàng và chuyển khoản của gian hàng cần được giữ lại.")))
    for r in requests_svc.list_for_user(user.id):
        if r.is_open and not r.can_cancel:
            out.append(str(_l("Yêu cầu %(code)s đã được đóng gói hoặc đang trên đường giao. Hãy "
                              "nhận đồ hoặc nhờ điểm phát hủy yêu cầu trước.", code=r.code)))
    return out


def open_orders(user_id: int) -> list[Order]:
    return _all(select(Order).where(Order.buyer_id == user_id,
                                    Order.status.in_(OPEN_ORDER_STATUSES)))


def delete_account(user_id: int, password: str) -> None:
    """Delete the account of `user_id` (see the module's docstring). Raises DeletionRefused."""
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise LookupError(user_id)
    if not user.check_password(password):
        raise DeletionRefused(_l("Mật khẩu không đúng."), "password")
    reasons = blockers(user)
    if reasons:
        raise DeletionRefused(reasons[0])
    for r in requests_svc.list_for_user(user_id):
        if r.can_cancel:
            requests_svc.cancel_request(user_id, r.id)
    with write_transaction() as session:
        user = session.get(User, user_id)
        if blockers(user):  # something moved meanwhile (a request was packed)
            raise DeletionRefused(blockers(user)[0])
        erased = {"recipient_name": DELETED_NAME, "phone": None, "street": None}
        session.execute(update(ItemRequest).where(ItemRequest.user_id == user_id)
                        .values(**erased).execution_options(synchronize_session=False))
        session.execute(update(WaitlistEntry).where(WaitlistEntry.user_id == user_id,
                                                    WaitlistEntry.status == "waiting")
                        .values(status="left").execution_options(synchronize_session=False))
        session.execute(update(WaitlistEntry).where(WaitlistEntry.user_id == user_id)
                        .values(**erased).execution_options(synchronize_session=False))
        session.execute(update(Donation).where(Donation.donor_id == user_id)
                        .values(donor_name=DELETED_NAME, phone=None, street=None)
                        .execution_options(synchronize_session=False))
        session.execute(update(Order).where(Order.buyer_id == user_id,
                                            Order.status.not_in(OPEN_ORDER_STATUSES))
                        .values(**erased).execution_options(synchronize_session=False))
        session.execute(update(Vendor).where(Vendor.user_id == user_id)
                        .values(account_holder=DELETED_NAME, story="", photo_stem=None)
                        .execution_options(synchronize_session=False))
        if user.phone:
            session.execute(update(Wallet).where(Wallet.phone == user.phone)
                            .values(name=DELETED_NAME, phone=None)
                            .execution_options(synchronize_session=False))
        session.execute(delete(Notification).where(Notification.user_id == user_id))
        session.execute(delete(OneTimeCode).where(OneTimeCode.user_id == user_id))
        session.execute(delete(VolunteerSignup).where(VolunteerSignup.user_id == user_id))
        session.execute(delete(UserRole).where(UserRole.user_id == user_id))
        sessions.end_all(session, user_id)
        user.name = DELETED_NAME
        user.phone = f"deleted-{user_id}"[:16]  # unique, not a phone: nobody signs in with it
        user.password_hash = "!"  # matches no password
        user.locale = None
        user.deleted_at = utcnow()
    db.session.expire_all()
