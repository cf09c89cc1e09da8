"""Requests for donated items: submit, cancel, move along the timeline, the waitlist.

Stock rule: a unit is reserved by a conditional UPDATE (`available >= n`) whose row count is
checked, in the same transaction that records the request, so the last unit never goes to two
students.
"""
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import format_date, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import lazyload

from ..database import write_transaction
from ..extensions import db
from ..models import (
    DeliveryRun,
    Hub,
    Item,
    ItemRequest,
    RequestEvent,
    RequestLine,
    RunStop,
    User,
    WaitlistEntry,
)
from ..models.base import utcnow
from ..models.request import METHODS, RELEASED_STATUSES
from . import geo, messages, stock
from .errors import ServiceError
from .formatting import local_midnight_utc, local_today, next_weekday
from .notifications import notify
from .phones import InvalidPhone, normalize_vn_mobile
from .text import clean_line, fold

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
    # Only ever an event: a missed delivery puts the request back to "approved" for the next run.
    "missed": _l("Giao chưa thành công"),
}
METHOD_LABELS = {
    "pickup": _l("Nhận tại điểm phát"),
    "volunteer": _l("Tình nguyện viên giao tận tay"),
    "post": _l("Gửi qua bưu điện"),
}
# The step before "delivered" depends on how the thing travels.
DISPATCH_STATUS = {"pickup": "ready_for_pickup", "volunteer": "out_for_delivery",
                   "post": "at_post_office"}
# Who may move a request from one status to the next (the student may only cancel).
TRANSITIONS = {
    "submitted": {"approved", "rejected", "cancelled"},
    "approved": {"packed", "rejected", "cancelled", "missed"},
    "packed": {"out_for_delivery", "at_post_office", "ready_for_pickup", "rejected", "missed"},
    "out_for_delivery": {"delivered", "packed", "missed"},
    "at_post_office": {"delivered", "packed", "cancelled"},  # cancelled: returned by the post
    "ready_for_pickup": {"delivered", "packed", "missed"},
}
# Where a "missed" event leaves the request: back in line for the next weekly run.
AFTER_MISSED = "approved"


class RequestError(ServiceError):
    """A request that cannot be made; `field` names the form field the message belongs to."""


class OutOfStock(RequestError):
    """None of the items asked for has a unit left (or is still listed): nothing is recorded."""

    def __init__(self, items: list[Item]):
        super().__init__(_l("Rất tiếc, “%(title)s” vừa hết. Bạn có thể đăng ký chờ.",
                            title=items[0].title) if len(items) == 1 else
                         _l("Rất tiếc, các món bạn chọn vừa hết. Bạn có thể đăng ký chờ."),
                         "items")
        self.item_ids = [i.id for i in items]
        self.item_id = self.item_ids[0]


class LimitReached(RequestError):
    def __init__(self, limit: int, used: int, again_on: date):
        left, day = max(limit - used, 0), format_date(again_on, "EEEE, d/M/yyyy")
        if left:
            message = lazy_ngettext(
                "Mỗi tuần mỗi bạn được nhận tối đa %(limit)s món ở điểm phát này; tuần này bạn "
                "chỉ còn được yêu cầu %(left)s món. Hãy bỏ bớt món trong giỏ, hoặc từ %(day)s "
                "yêu cầu tiếp.",
                "Mỗi tuần mỗi bạn được nhận tối đa %(limit)s món ở điểm phát này; tuần này bạn "
                "chỉ còn được yêu cầu %(left)s món. Hãy bỏ bớt món trong giỏ, hoặc từ %(day)s "
                "yêu cầu tiếp.", limit, limit=limit, left=left, day=day)
        else:
            message = lazy_ngettext(
                "Mỗi tuần mỗi bạn được nhận tối đa %(limit)s món ở điểm phát này, và bạn đã dùng "
                "hết lượt tuần này. Từ %(day)s bạn có thể yêu cầu tiếp.",
                "Mỗi tuần mỗi bạn được nhận tối đa %(limit)s món ở điểm phát này, và bạn đã dùng "
                "hết lượt tuần này. Từ %(day)s bạn có thể yêu cầu tiếp.", limit, limit=limit,
                day=day)
        super().__init__(message, "items")
        self.again_on = again_on


class InvalidDelivery(RequestError):
    """Bad delivery details: `errors` maps every bad form field to its message."""

    def __init__(self, errors: dict[str, str]):
        field, message = next(iter(errors.items()))
        super().__init__(message, field)
        self.errors = errors


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


def pickup_day_of(req: ItemRequest, today: date | None = None) -> date:
    """The day `req` is handed out: its run's day once it is in one (approved after a cutoff it
    goes to a later run than the hub's next day), else the hub's next pickup day."""
    run_day = db.session.scalar(
        select(DeliveryRun.date).join(RunStop, RunStop.run_id == DeliveryRun.id)
        .where(RunStop.request_id == req.id).order_by(DeliveryRun.date.desc()).limit(1))
    return run_day or next_pickup_day(req.hub, today)


def validate_delivery(hub: Hub, d: Delivery) -> Delivery:
    """Check and normalise delivery details; raises InvalidDelivery naming every bad field."""
    errors = {}
    if d.method not in METHODS:
        errors["method"] = _l("Vui lòng chọn cách nhận đồ.")
    name = clean_line(d.recipient_name, 120)
    if not name:
        errors["recipient_name"] = _l("Vui lòng nhập tên người nhận.")
    try:
        phone = normalize_vn_mobile(d.phone)
    except InvalidPhone as exc:
        errors["phone"], phone = str(exc), ""
    street = clean_line(d.street, 255)
    province, ward = d.province_code, d.ward_code
    if d.method not in ("volunteer", "post"):  # a pickup (or no choice yet) asks no address
        province, ward, street = None, None, ""
    elif problem := geo.address_problem(province, ward):
        errors.update([problem])
    elif d.method == "volunteer" and ward not in hub.delivery_ward_codes:
        errors["method"] = _l("Tình nguyện viên của điểm phát này chưa giao tới %(ward)s. "
                              "Hãy chọn nhận tại điểm phát hoặc gửi bưu điện.",
                              ward=geo.ward_name(ward))
    if d.method in ("volunteer", "post") and len(street) < 3:
        errors["street"] = _l("Vui lòng nhập số nhà, đường hoặc thôn/ấp.")
    if not d.consent:
        errors["consent"] = _l("Bạn cần đồng ý cho Đoàn dùng số điện thoại và địa chỉ để giao đồ.")
    if errors:
        raise InvalidDelivery(errors)
    return Delivery(d.method, name, phone, province, ward, street, True)


def served_wards(hub: Hub) -> list[str]:
    """Names of the wards the hub's volunteers deliver to by hand."""
    return sorted((geo.ward_name(code) for code in hub.delivery_ward_codes), key=fold)


@dataclass(frozen=True)
class Step:
    """One line of a tracking timeline; `at` is None for a step still to come."""
    status: str
    at: datetime | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.status])


def timeline(req: ItemRequest) -> list[Step]:
    """What happened (from the events), then, while the request is open, the steps to come."""
    steps = [Step(e.status, e.created_at, e.note) for e in req.events]
    if req.is_open:
        path = ["submitted", "approved", "packed", DISPATCH_STATUS[req.method], "delivered"]
        reached = path.index(req.status) if req.status in path else 0
        steps += [Step(s) for s in path[reached + 1:]]
    return steps


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


def acts_for_hub(user: User, hub_id: int) -> bool:
    """A volunteer or organizer of the hub, or an admin."""
    return user.has_role("volunteer", hub_id) or user.has_role("organizer", hub_id)


def get_visible(request_id: int, viewer: User) -> ItemRequest | None:
    """The request if `viewer` is its student or acts for its hub, else None (callers answer
    404)."""
    req = db.session.get(ItemRequest, request_id)
    return req if req and (req.user_id == viewer.id or acts_for_hub(viewer, req.hub_id)) else None


def list_for_user(user_id: int) -> list[ItemRequest]:
    return list(db.session.scalars(
        select(ItemRequest).where(ItemRequest.user_id == user_id).order_by(ItemRequest.id.desc())
    ))


def can_see_personal_data(viewer: User, req: ItemRequest) -> bool:
    """Phone and address: the student themself, and the volunteers/admins of the request's hub."""
    return viewer.id == req.user_id or acts_for_hub(viewer, req.hub_id)


# ---------------------------------------------------------------- use-cases

def _reserve(item_id: int, quantity: int = 1) -> bool:
    return stock.take(Item.available, item_id, quantity)


def _release(req: ItemRequest) -> None:
    for line in req.lines:
        stock.give_back(Item.available, line.item_id, line.quantity)


def _log(req: ItemRequest, status: str, note: str = "", actor_id: int | None = None,
         at: datetime | None = None) -> None:
    """A step of the timeline; `at` (UTC) when it happened earlier than now (an offline sync)."""
    req.status = status
    req.events.append(RequestEvent(status=status, note=note, actor_id=actor_id,
                                   created_at=at or utcnow()))


def _lock_user(user_id: int) -> None:
    """Serialise one student's submissions (PostgreSQL row lock; SQLite holds the write lock)."""
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())


def _create(user_id: int, hub: Hub, items: list[Item], d: Delivery, today: date,
            idempotency_key: str | None = None) -> ItemRequest:
    """Checks fairness, reserves stock and records the request; the caller holds _lock_user.

    An item with no unit left, or unlisted, is left out (the request's lines are those taken);
    OutOfStock when that leaves nothing. The weekly limit counts the items taken."""
    if open_item_ids(user_id, [i.id for i in items]):
        raise RequestError(_l("Bạn đã yêu cầu món này rồi: mỗi bạn chỉ nhận 1 món cùng loại."),
                           "items")
    ids = [i.id for i in items if _reserve(i.id)]  # rolled back with the rest on an error
    if not ids:
        raise OutOfStock(items)
    used = items_this_week(user_id, hub.id, today)
    if used + len(ids) > hub.weekly_limit:
        raise LimitReached(hub.weekly_limit, used, week_window(today)[1])
    code = new_code()
    while db.session.scalar(select(ItemRequest.id).where(ItemRequest.code == code)):
        code = new_code()
    req = ItemRequest(
        code=code, user_id=user_id, hub_id=hub.id, method=d.method,
        recipient_name=d.recipient_name, phone=d.phone, province_code=d.province_code,
        ward_code=d.ward_code, street=d.street or None, consent_at=utcnow(),
        idempotency_key=idempotency_key,
        lines=[RequestLine(item_id=i, quantity=1) for i in ids],
    )
    _log(req, "submitted")
    db.session.add(req)
    db.session.flush()
    # Whoever waited for these items and now has them leaves the waitlist.
    db.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.user_id == user_id, WaitlistEntry.item_id.in_(ids),
               WaitlistEntry.status == "waiting")
        .values(status="fulfilled", request_id=req.id)
    )
    return req


def submit_request(user_id: int, hub_id: int, item_ids: list[int], delivery: Delivery,
                   idempotency_key: str | None = None, today: date | None = None) -> ItemRequest:
    """Record a student's request for items of one hub. Raises RequestError (nothing saved).

    Items sold out or unlisted since the student chose them are left out: the request holds the
    others (its lines), OutOfStock when none is left. A second call with the same idempotency key
    returns the first request (double submit).
    """
    item_ids = list(dict.fromkeys(item_ids))
    today = today or local_today()
    with write_transaction(keep_loaded=True):  # the new request stays loaded for the redirect
        _lock_user(user_id)
        if idempotency_key:
            done = db.session.scalar(select(ItemRequest).where(
                ItemRequest.user_id == user_id, ItemRequest.idempotency_key == idempotency_key))
            if done:
                return done
        if not item_ids:
            raise RequestError(_l("Giỏ của bạn đang trống."), "items")
        hub = db.session.get(Hub, hub_id)
        items = list(db.session.scalars(  # ids, hub and title are all the checks read
            select(Item).where(Item.id.in_(item_ids)).options(lazyload("*"))))
        if hub is None or not hub.holds_stock or len(items) != len(item_ids) \
                or any(i.hub_id != hub_id for i in items):
            raise RequestError(_l("Món đồ không tồn tại hoặc không thuộc điểm phát này."), "items")
        req = _create(user_id, hub, items, validate_delivery(hub, delivery), today,
                      idempotency_key)
        notify(user_id, "request_received", tracking_path(req.id), code=req.code)
    for item in items:  # their stock moved by UPDATE statements: read it afresh when next used
        db.session.expire(item)
    return req


def join_waitlist(user_id: int, item_id: int, delivery: Delivery) -> WaitlistEntry:
    """Wait for a unit of an item that has none left; joining twice keeps the first place."""
    with write_transaction():
        # Shared lock (PostgreSQL): an unlisting closes the waitlist under an exclusive one, so an
        # entry is never added for an item that was just unlisted (services/inventory).
        item = db.session.get(Item, item_id, with_for_update={"read": True, "of": Item},
                              populate_existing=True)
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
    """1 for the first in line; None when the student is not waiting for the item."""
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
    """Give freed units of an item to the students waiting for it, first come first served.

    A student over this week's limit keeps their place for a later unit; one who cannot be served
    at all (e.g. their ward is no longer delivered to, their phone was erased) is skipped and told.
    """
    item = db.session.get(Item, item_id)
    entries = list(db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.item_id == item_id,
                                    WaitlistEntry.status == "waiting")
        .order_by(WaitlistEntry.id)))
    for entry in entries:
        db.session.refresh(item)
        if item.available <= 0:
            return
        d = Delivery(entry.method, entry.recipient_name, entry.phone or "", entry.province_code,
                     entry.ward_code, entry.street or "", True)
        try:
            with db.session.begin_nested():
                _lock_user(entry.user_id)
                req = _create(entry.user_id, item.hub, [item], validate_delivery(item.hub, d),
                              today)
        except LimitReached:
            continue
        except OutOfStock:
            return
        except RequestError as exc:
            entry.status = "skipped"
            notify(entry.user_id, "waitlist_skipped", title=item.title, reason=exc.message)
            continue
        notify(entry.user_id, "waitlist_offered", tracking_path(req.id), title=item.title,
               code=req.code)
        phone = req.phone or req.user.phone
        if phone:
            messages.enqueue(db.session, phone, "waitlist_offer",
                             {"hub": item.hub.name, "title": item.title, "code": req.code},
                             req.user.locale, f"waitlist:{entry.id}:request:{req.id}",
                             request_id=req.id, hub_id=req.hub_id)


def offer_freed_units(item_id: int, today: date | None = None) -> None:
    """Units of the item just freed (more stock counted, the item listed again) go to the students
    waiting for it. For services that hold their own transaction."""
    _offer_to_waitlist(item_id, today or local_today())


def _close_and_release(req: ItemRequest, status: str, note: str, actor_id: int | None,
                       today: date, at: datetime | None = None) -> None:
    _log(req, status, note, actor_id, at)
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
        notify(user_id, "request_cancelled", tracking_path(req.id), code=req.code)
    return req


def _step(req: ItemRequest, status: str, note: str, actor_id: int, today: date,
          at: datetime | None = None) -> None:
    """One move along TRANSITIONS; the caller holds the transaction and has checked the actor."""
    allowed = TRANSITIONS.get(req.status, set())
    if status not in allowed or status in DISPATCH_STATUS.values() \
            and status != DISPATCH_STATUS[req.method]:
        raise RequestError(_l("Không thể chuyển từ “%(a)s” sang “%(b)s”.",
                              a=STATUS_LABELS[req.status], b=STATUS_LABELS.get(status, status)))
    note = clean_line(note, 255)
    if status == "rejected" and not note:
        raise RequestError(_l("Vui lòng ghi lý do từ chối."), "note")
    if status == "missed" and not note:
        raise RequestError(_l("Vui lòng ghi lý do giao chưa thành công."), "note")
    if status in RELEASED_STATUSES:
        _close_and_release(req, status, note, actor_id, today, at)
    elif status == "missed":
        _log(req, status, note, actor_id, at)
        req.status = AFTER_MISSED
    else:
        _log(req, status, note, actor_id, at)


def advance(req: ItemRequest, status: str, actor_id: int, note: str = "",
            today: date | None = None, at: datetime | None = None) -> None:
    """Move an approved request on to `status`, logging the steps of its path it skipped (a parcel
    handed over was packed and sent out), and tell the student once. Raises RequestError.

    For services that hold their own transaction and have checked that the actor acts for the hub.
    `at` (UTC): when it happened, if earlier than now (a hand-over synced from an offline phone).
    """
    path = ["approved", "packed", DISPATCH_STATUS[req.method], "delivered"]
    if req.status in path and status in path:
        for skipped in path[path.index(req.status) + 1:path.index(status)]:
            _step(req, skipped, "", actor_id, today or local_today(), at)
    _step(req, status, note, actor_id, today or local_today(), at)
    _tell(req, status, note)


def record_missed(req: ItemRequest, reason: str, actor_id: int, to_stock: bool = False,
                  today: date | None = None, at: datetime | None = None) -> None:
    """A delivery that did not happen: a "missed" event with the reason, and the request goes back
    in line for the next run — or, `to_stock`, is cancelled and its items go back to stock.
    Same contract as `advance`."""
    today = today or local_today()
    _step(req, "missed", reason, actor_id, today, at)
    if to_stock:
        _step(req, "cancelled", reason, actor_id, today, at)
    notify(req.user_id, "request_missed_to_stock" if to_stock else "request_missed",
           tracking_path(req.id), code=req.code, reason=clean_line(reason, 255))


# The message (services.messages.templates) a step sends to the student's phone.
MESSAGE_FOR = {"approved": "request_approved", "rejected": "request_rejected",
               "ready_for_pickup": "request_ready", "out_for_delivery": "request_out_for_delivery",
               "at_post_office": "request_posted", "delivered": "request_delivered"}


def _tell(req: ItemRequest, status: str, note: str = "") -> None:
    """In the app, and — for the steps of MESSAGE_FOR — on the phone, in the same transaction."""
    notify(req.user_id, "request_status", tracking_path(req.id), code=req.code,
           status=STATUS_LABELS[status])
    phone = req.phone or (req.user.phone if req.user else None)
    if status in MESSAGE_FOR and phone:
        params = {"hub": req.hub.name, "code": req.code, "reason": note, "tracking": note,
                  "place": req.hub.pickup_place}
        messages.enqueue(db.session, phone, MESSAGE_FOR[status], params,
                         req.user.locale if req.user else None,
                         f"request:{req.id}:{status}:{len(req.events)}", request_id=req.id,
                         hub_id=req.hub_id)


def change_status(actor_id: int, request_id: int, status: str, note: str = "",
                  today: date | None = None) -> ItemRequest:
    """A volunteer/organizer of the request's hub (or an admin) moves it one step along its
    timeline."""
    with write_transaction():
        req = db.session.get(ItemRequest, request_id)
        actor = db.session.get(User, actor_id)
        if req is None or actor is None or not acts_for_hub(actor, req.hub_id):
            raise LookupError(request_id)
        _step(req, status, note, actor_id, today or local_today())
        _tell(req, status, note)
    return req


@dataclass(frozen=True)
class Allowance:
    """What a student may still ask of a hub this week (the rule _create enforces with
    LimitReached): `left` items, and `again_on` the Monday the count starts again."""
    limit: int
    left: int
    again_on: date

    @property
    def reached(self) -> bool:
        return self.left <= 0

    @property
    def near(self) -> bool:
        """Worth saying: the student has asked for some of the week's items already."""
        return self.left < self.limit


def weekly_allowance(user_id: int, hub: Hub, today: date | None = None) -> Allowance:
    """The student's allowance at the hub this week; the one place that counts it for pages."""
    today = today or local_today()
    used = items_this_week(user_id, hub.id, today)
    return Allowance(hub.weekly_limit, max(hub.weekly_limit - used, 0), week_window(today)[1])


def allowance_of(user: User, hub: Hub) -> Allowance | None:
    """The allowance a page shows: None for a visitor who has not signed in."""
    return weekly_allowance(user.id, hub) if user.is_authenticated else None


def refused_until(user_id: int, hub: Hub, today: date | None = None) -> date | None:
    """When the student has used the week's quota at this hub: the date they may ask again."""
    allowance = weekly_allowance(user_id, hub, today)
    return allowance.again_on if allowance.reached else None


def last_address(user_id: int) -> Delivery | None:
    """The recipient and address of the student's latest request that still holds one (the
    privacy purge erases them): the checkout offers them again, to change or keep."""
    req = db.session.scalars(
        select(ItemRequest).where(ItemRequest.user_id == user_id,
                                  ItemRequest.ward_code.is_not(None),
                                  ItemRequest.street.is_not(None))
        .order_by(ItemRequest.id.desc()).limit(1)).first()
    if req is None:
        return None
    return Delivery(req.method, req.recipient_name, req.phone or "", req.province_code,
                    req.ward_code, req.street or "")
