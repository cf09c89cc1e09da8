"""Requests for donated items: submit, cancel, move along the timeline, the waitlist.

Stock rule: a unit is reserved by a conditional UPDATE (`available >= n`) whose row count is checked,
in the same transaction that records the request, so the last unit never goes to two students.
"""
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import Hub, Item, ItemRequest, RequestEvent, RequestLine, User, WaitlistEntry
from ..models.base import utcnow
from ..models.request import METHODS, RELEASED_STATUSES
from . import geo
from .formatting import local_midnight_utc, local_today, next_weekday
from .notifications import notify
from .phones import InvalidPhone, normalize_vn_mobile
from .text import clean_line

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U

STATUS_LABELS = {
    "submitted": _l("Đã gửi yêu cầu"),
    "approved": _l("Đã duyệt"),
    "packed": _l("Đã đóng gói"),
    "out_for_delivery": _l("Đang giao tận tay"),
    "at_post_office": _l("Đã gửi bưu điện"),
    "ready_for_pickup": _l("Sẵn sàng để nhận"),
    "delivered": _l("Đã nhận"),
    "cancelled": _l("Đã hủy"),
    "rejected": _l("Bị từ chối"),
}
METHOD_LABELS = {
    "pickup": _l("Nhận tại điểm phát"),
    "volunteer": _l("Tình nguyện viên giao tận tay"),
    "post": _l("Gửi qua bưu điện"),
}
# Who may move a request from one status to the next (the student may only cancel).
TRANSITIONS = {
    "submitted": {"approved", "rejected", "cancelled"},
    "approved": {"packed", "rejected", "cancelled"},
    "packed": {"out_for_delivery", "at_post_office", "ready_for_pickup", "rejected"},
    "out_for_delivery": {"delivered", "packed"},
    "at_post_office": {"delivered", "packed"},
    "ready_for_pickup": {"delivered", "packed"},
}


class RequestError(Exception):
    """A request that cannot be made; `field` names the form field the message belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class OutOfStock(RequestError):
    def __init__(self, item: Item):
        super().__init__(_l("Rất tiếc, “%(title)s” vừa hết. Bạn có thể đăng ký chờ.",
                            title=item.title), "items")
        self.item_id = item.id


class LimitReached(RequestError):
    def __init__(self, limit: int, again_on: date):
        super().__init__(_l(
            "Mỗi tuần mỗi bạn được nhận tối đa %(limit)s món ở điểm phát này, và bạn đã dùng hết "
            "lượt tuần này. Từ %(day)s bạn có thể yêu cầu tiếp.",
            limit=limit, day=again_on.strftime("%d/%m/%Y"),
        ), "items")
        self.again_on = again_on


@dataclass(frozen=True)
class Delivery:
    method: str
    recipient_name: str
    phone: str
    province_code: int | None = None
    ward_code: int | None = None
    street: str = ""
    consent: bool = False


# ---------------------------------------------------------------- pure rules

def week_window(today: date) -> tuple[date, date]:
    """Monday of this week and Monday of next week (Vietnam local dates)."""
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=7)


def allowed_methods(hub: Hub, ward_code: int | None) -> list[str]:
    """Pickup and post always; volunteer hand delivery only to the wards the hub serves."""
    methods = ["pickup", "post"]
    if ward_code and ward_code in hub.delivery_ward_codes:
        methods.insert(1, "volunteer")
    return methods


def next_pickup_day(hub: Hub, today: date | None = None) -> date:
    return next_weekday(today or local_today(), hub.delivery_weekday)


def validate_delivery(hub: Hub, d: Delivery) -> Delivery:
    """Check and normalise delivery details; raises RequestError naming the bad field."""
    if d.method not in METHODS:
        raise RequestError(_l("Vui lòng chọn cách nhận đồ."), "method")
    if not d.consent:
        raise RequestError(_l("Bạn cần đồng ý cho Đoàn dùng số điện thoại và địa chỉ để giao đồ."),
                           "consent")
    name = clean_line(d.recipient_name, 120)
    if not name:
        raise RequestError(_l("Vui lòng nhập tên người nhận."), "recipient_name")
    try:
        phone = normalize_vn_mobile(d.phone)
    except InvalidPhone as exc:
        raise RequestError(str(exc), "phone") from exc
    street = clean_line(d.street, 255)
    province, ward = d.province_code, d.ward_code
    if d.method == "pickup" and not ward:
        return Delivery("pickup", name, phone, None, None, "", True)
    if not province or not geo.province_name(province):
        raise RequestError(_l("Vui lòng chọn tỉnh/thành phố trong danh sách."), "province_code")
    if not ward or not geo.ward_in_province(ward, province):
        raise RequestError(_l("Phường/xã không thuộc tỉnh/thành phố đã chọn."), "ward_code")
    if d.method != "pickup" and len(street) < 3:
        raise RequestError(_l("Vui lòng nhập số nhà, đường hoặc thôn/ấp."), "street")
    if d.method == "volunteer" and ward not in hub.delivery_ward_codes:
        raise RequestError(_l("Tình nguyện viên của điểm phát này chưa giao tới %(ward)s. "
                              "Hãy chọn nhận tại điểm phát hoặc gửi bưu điện.",
                              ward=geo.ward_name(ward)), "method")
    return Delivery(d.method, name, phone, province, ward, street, True)


def tracking_path(request_id: int) -> str:
    """Where a student follows a request (the `requests.detail` route); used in notifications."""
    return f"/yeu-cau/{request_id}"


def new_code() -> str:
    """A short code easy to read over the phone, e.g. "0D-4K7P"."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
    return f"{chars[:2]}-{chars[2:]}"


# ---------------------------------------------------------------- queries

def items_this_week(user_id: int, hub_id: int, today: date) -> int:
    monday, _ = week_window(today)
    return db.session.scalar(
        select(func.coalesce(func.sum(RequestLine.quantity), 0))
        .join(ItemRequest, RequestLine.request_id == ItemRequest.id)
        .where(ItemRequest.user_id == user_id, ItemRequest.hub_id == hub_id,
               ItemRequest.status.not_in(RELEASED_STATUSES),
               ItemRequest.created_at >= local_midnight_utc(monday))
    ) or 0


def open_item_ids(user_id: int, item_ids) -> set[int]:
    """Of `item_ids`, those the user already holds in a request that was not cancelled/rejected."""
    return set(db.session.scalars(
        select(RequestLine.item_id).join(ItemRequest)
        .where(ItemRequest.user_id == user_id, RequestLine.item_id.in_(list(item_ids)),
               ItemRequest.status.not_in(RELEASED_STATUSES))
    ))


def get_for_user(request_id: int, user_id: int) -> ItemRequest | None:
    """A student's own request, or None (callers answer 404 either way)."""
    req = db.session.get(ItemRequest, request_id)
    return req if req and req.user_id == user_id else None


def list_for_user(user_id: int) -> list[ItemRequest]:
    return list(db.session.scalars(
        select(ItemRequest).where(ItemRequest.user_id == user_id).order_by(ItemRequest.id.desc())
    ))


def can_see_personal_data(viewer: User, req: ItemRequest) -> bool:
    """Phone and address: the student themself, and the volunteers/admins of the request's hub."""
    return viewer.id == req.user_id or viewer.has_role("volunteer", req.hub_id) \
        or viewer.has_role("organizer", req.hub_id)


# ---------------------------------------------------------------- use-cases

def _reserve(item_id: int, quantity: int = 1) -> bool:
    result = db.session.execute(
        update(Item)
        .where(Item.id == item_id, Item.available >= quantity, Item.is_listed.is_(True))
        .values(available=Item.available - quantity)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _release(req: ItemRequest) -> None:
    for line in req.lines:
        db.session.execute(
            update(Item).where(Item.id == line.item_id)
            .values(available=Item.available + line.quantity)
            .execution_options(synchronize_session=False)
        )


def _log(req: ItemRequest, status: str, note: str = "", actor_id: int | None = None) -> None:
    req.status = status
    req.events.append(RequestEvent(status=status, note=note, actor_id=actor_id))


def _create(user_id: int, hub: Hub, items: list[Item], d: Delivery, today: date,
            idempotency_key: str | None = None) -> ItemRequest:
    """Checks fairness, reserves stock and records the request; flushes only."""
    # Serialise one student's submissions (PostgreSQL row lock; SQLite already holds the write lock).
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    if open_item_ids(user_id, [i.id for i in items]):
        raise RequestError(_l("Bạn đã yêu cầu món này rồi: mỗi bạn chỉ nhận 1 món cùng loại."),
                           "items")
    used = items_this_week(user_id, hub.id, today)
    if used + len(items) > hub.weekly_limit:
        raise LimitReached(hub.weekly_limit, week_window(today)[1])
    for item in items:
        if not _reserve(item.id):
            raise OutOfStock(item)
    code = new_code()
    while db.session.scalar(select(ItemRequest.id).where(ItemRequest.code == code)):
        code = new_code()
    req = ItemRequest(
        code=code, user_id=user_id, hub_id=hub.id, method=d.method,
        recipient_name=d.recipient_name, phone=d.phone, province_code=d.province_code,
        ward_code=d.ward_code, street=d.street or None, consent_at=utcnow(),
        idempotency_key=idempotency_key,
        lines=[RequestLine(item_id=i.id, quantity=1) for i in items],
    )
    _log(req, "submitted")
    db.session.add(req)
    db.session.flush()
    notify(user_id, _l("Đã nhận yêu cầu %(code)s. Đoàn sẽ duyệt sớm.", code=req.code),
           tracking_path(req.id))
    return req


def submit_request(user_id: int, hub_id: int, item_ids: list[int], delivery: Delivery,
                   idempotency_key: str | None = None, today: date | None = None) -> ItemRequest:
    """Record a student's request for items of one hub. Raises RequestError (nothing saved)."""
    item_ids = list(dict.fromkeys(item_ids))
    if not item_ids:
        raise RequestError(_l("Giỏ của bạn đang trống."), "items")
    today = today or local_today()
    with write_transaction():
        if idempotency_key:
            done = db.session.scalar(select(ItemRequest).where(
                ItemRequest.user_id == user_id, ItemRequest.idempotency_key == idempotency_key))
            if done:
                return done
        hub = db.session.get(Hub, hub_id)
        items = list(db.session.scalars(select(Item).where(Item.id.in_(item_ids))))
        if hub is None or len(items) != len(item_ids) or any(i.hub_id != hub_id for i in items):
            raise RequestError(_l("Món đồ không tồn tại hoặc không thuộc điểm phát này."), "items")
        d = validate_delivery(hub, delivery)
        req = _create(user_id, hub, items, d, today, idempotency_key)
    return req


def join_waitlist(user_id: int, item_id: int, delivery: Delivery) -> WaitlistEntry:
    with write_transaction():
        item = db.session.get(Item, item_id)
        if item is None or not item.is_listed:
            raise RequestError(_l("Món đồ không tồn tại."), "items")
        if item.available > 0:
            raise RequestError(_l("Món này vẫn còn, bạn có thể yêu cầu ngay."), "items")
        if open_item_ids(user_id, [item_id]):
            raise RequestError(_l("Bạn đã yêu cầu món này rồi."), "items")
        waiting = db.session.scalar(select(WaitlistEntry).where(
            WaitlistEntry.item_id == item_id, WaitlistEntry.user_id == user_id,
            WaitlistEntry.status == "waiting"))
        if waiting:
            return waiting
        d = validate_delivery(item.hub, delivery)
        entry = WaitlistEntry(
            item_id=item_id, user_id=user_id, method=d.method, recipient_name=d.recipient_name,
            phone=d.phone, province_code=d.province_code, ward_code=d.ward_code,
            street=d.street or None, consent_at=utcnow(),
        )
        db.session.add(entry)
    return entry


def waitlist_position(user_id: int, item_id: int) -> int | None:
    entries = list(db.session.scalars(
        select(WaitlistEntry.user_id).where(WaitlistEntry.item_id == item_id,
                                            WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.id)))
    return entries.index(user_id) + 1 if user_id in entries else None


def leave_waitlist(user_id: int, item_id: int) -> None:
    with write_transaction():
        db.session.execute(update(WaitlistEntry).where(
            WaitlistEntry.item_id == item_id, WaitlistEntry.user_id == user_id,
            WaitlistEntry.status == "waiting").values(status="left"))


def _offer_to_waitlist(item_id: int, today: date) -> None:
    """Give freed units of an item to the students waiting for it, first come first served."""
    item = db.session.get(Item, item_id)
    db.session.refresh(item)
    entries = db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.item_id == item_id,
                                    WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.id))
    for entry in entries:
        if item.available <= 0:
            return
        d = Delivery(entry.method, entry.recipient_name, entry.phone or "", entry.province_code,
                     entry.ward_code, entry.street or "", True)
        try:
            with db.session.begin_nested():
                req = _create(entry.user_id, item.hub, [item], validate_delivery(item.hub, d), today)
        except RequestError:
            continue  # not eligible now (limit reached, ward no longer served): stays in line
        entry.status, entry.request_id = "fulfilled", req.id
        notify(entry.user_id, _l("Tin vui: “%(title)s” đã có lại và được dành cho bạn "
                                 "(yêu cầu %(code)s).", title=item.title, code=req.code),
               tracking_path(req.id))
        db.session.refresh(item)


def _close_and_release(req: ItemRequest, status: str, note: str, actor_id: int | None,
                       today: date) -> None:
    _log(req, status, note, actor_id)
    if status == "rejected":
        req.reject_reason = note
    _release(req)
    db.session.flush()
    for line in req.lines:
        _offer_to_waitlist(line.item_id, today)


def cancel_request(user_id: int, request_id: int, today: date | None = None) -> ItemRequest:
    """The student cancels their own request until it is packed; the stock comes back."""
    with write_transaction():
        req = db.session.get(ItemRequest, request_id)
        if req is None or req.user_id != user_id:
            raise LookupError(request_id)
        if not req.can_cancel:
            raise RequestError(_l("Yêu cầu đã được đóng gói nên không thể hủy nữa."))
        _close_and_release(req, "cancelled", "", user_id, today or local_today())
        notify(user_id, _l("Bạn đã hủy yêu cầu %(code)s.", code=req.code), tracking_path(req.id))
    return req


def change_status(actor_id: int, request_id: int, status: str, note: str = "",
                  today: date | None = None) -> ItemRequest:
    """A volunteer/admin of the request's hub moves it along its timeline."""
    with write_transaction():
        req = db.session.get(ItemRequest, request_id)
        actor = db.session.get(User, actor_id)
        if req is None or actor is None or not actor.has_role("volunteer", req.hub_id):
            raise LookupError(request_id)
        if status not in TRANSITIONS.get(req.status, set()):
            raise RequestError(_l("Không thể chuyển từ “%(a)s” sang “%(b)s”.",
                                  a=STATUS_LABELS[req.status], b=STATUS_LABELS.get(status, status)))
        note = clean_line(note, 255)
        if status == "rejected" and not note:
            raise RequestError(_l("Vui lòng ghi lý do từ chối."), "note")
        if status in RELEASED_STATUSES:
            _close_and_release(req, status, note, actor_id, today or local_today())
        else:
            _log(req, status, note, actor_id)
        notify(req.user_id, _l("Yêu cầu %(code)s: %(status)s.", code=req.code,
                               status=STATUS_LABELS[status]), tracking_path(req.id))
    return req


def refused_until(user_id: int, hub: Hub, today: date | None = None) -> date | None:
    """When the student has used the week's quota at this hub: the date they may ask again."""
    today = today or local_today()
    if items_this_week(user_id, hub.id, today) >= hub.weekly_limit:
        return week_window(today)[1]
    return None


