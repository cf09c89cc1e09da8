"""Handing parcels over on delivery day: scan, confirm with the student's code, record a missed
delivery, set a route off, ready the pickups, and the post office (tracking number, delivered or
returned).

Every use-case takes the acting user's id and checks that they act for the hub (LookupError,
i.e. 404, otherwise), and raises HandoverError with a Vietnamese message for everything a volunteer
can get wrong at the door: a parcel of another hub, one already delivered, a wrong code.
"""
import hmac
import re
from datetime import date
from urllib.parse import unquote

from flask_babel import format_datetime, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..database import write_transaction
from ..extensions import db
from ..models import ItemRequest, User
from ..models.base import utcnow
from ..models.delivery import DeliveryRun, Route, RunStop
from . import requests
from .requests import CODE_ALPHABET, STATUS_LABELS, acts_for_hub
from .text import clean_line

MAX_CODE_ATTEMPTS = 5  # wrong student codes before a parcel can no longer be confirmed
_SCANNED_URL = re.compile(r"[?&]ma=([^&#\s]+)")
_TRACKING = re.compile(r"[A-Z0-9]{6,40}")


class HandoverError(Exception):
    """Something the volunteer must hear; `field` names the form field it belongs to."""

    def __init__(self, message, field: str | None = "ma"):
        super().__init__(str(message))
        self.message = message
        self.field = field


def parse_code(text: str | None) -> str:
    """A scanned or typed parcel code → "0D-4K7P", or "" when it is not one.

    Takes the `ma` of a scanned scan-page URL, or the text itself; case, spaces and the dash do
    not matter, and O/I/L typed for 0/1 are read as the digits (Crockford)."""
    text = (text or "").strip()
    if match := _SCANNED_URL.search(text):
        text = unquote(match.group(1))
    chars = re.sub(r"[\s-]", "", text).upper().translate(str.maketrans("OIL", "011"))
    if len(chars) != 6 or any(c not in CODE_ALPHABET for c in chars):
        return ""
    return f"{chars[:2]}-{chars[2:]}"


def _actor(actor_id: int, hub_id: int) -> None:
    actor = db.session.get(User, actor_id)
    if actor is None or not acts_for_hub(actor, hub_id):
        raise LookupError(hub_id)


def latest_stop(request_id: int) -> RunStop | None:
    """The request's stop in its latest run (a missed parcel is in the next run too)."""
    return db.session.scalar(
        select(RunStop).join(DeliveryRun, RunStop.run_id == DeliveryRun.id)
        .where(RunStop.request_id == request_id)
        .order_by(DeliveryRun.date.desc()).limit(1))


def _parcel(hub_id: int, text: str, lock: bool = False) -> RunStop:
    """The stop a volunteer of the hub may hand over for this code, or HandoverError saying why
    not. With `lock` the request row is locked first (two volunteers on one parcel)."""
    code = parse_code(text)
    if not code:
        raise HandoverError(_l("Mã bưu kiện gồm 6 chữ và số, ví dụ 0D-4K7P."))
    query = select(ItemRequest.id).where(ItemRequest.code == code)
    request_id = db.session.scalar(query.with_for_update() if lock else query)
    req = db.session.get(ItemRequest, request_id) if request_id else None
    if req is None:
        raise HandoverError(_l("Không tìm thấy bưu kiện mã %(code)s.", code=code))
    if req.hub_id != hub_id:
        raise HandoverError(_l("Bưu kiện %(code)s là của %(hub)s, không phải của điểm phát này: "
                               "đừng giao, hãy để riêng và báo cho Đoàn.",
                               code=code, hub=req.hub.name))
    stop = latest_stop(req.id)
    if req.status == "delivered":
        at = stop.outcome_at if stop and stop.outcome == "delivered" else req.events[-1].created_at
        raise HandoverError(_l("Bưu kiện %(code)s đã được giao lúc %(at)s: không giao lần nữa.",
                               code=code, at=format_datetime(at, "HH:mm d/M/yyyy")))
    if not req.is_open:
        raise HandoverError(_l("Yêu cầu %(code)s đã ở trạng thái “%(status)s”: đừng giao, hãy "
                               "mang món đồ về điểm phát.", code=code,
                               status=STATUS_LABELS[req.status]))
    if stop is None:
        raise HandoverError(_l("Bưu kiện %(code)s chưa được xếp vào chuyến giao nào.", code=code))
    if stop.kind == "post":
        raise HandoverError(_l("Bưu kiện %(code)s gửi qua bưu điện: hãy ghi mã bưu gửi ở phiếu "
                               "gửi bưu điện.", code=code))
    if stop.outcome is not None:
        raise HandoverError(_l("Bưu kiện %(code)s đã được ghi là giao chưa thành công; nó sẽ vào "
                               "chuyến sau.", code=code))
    return stop


def lookup(actor_id: int, hub_id: int, text: str) -> RunStop:
    """What the scan page shows for a scanned or typed code (read only)."""
    _actor(actor_id, hub_id)
    return _parcel(hub_id, text)


def _close(stop: RunStop, outcome: str, actor_id: int, note: str | None = None) -> None:
    stop.outcome, stop.outcome_by_id, stop.outcome_at, stop.outcome_note = \
        outcome, actor_id, utcnow(), note


def confirm(actor_id: int, hub_id: int, code: str, student_code: str,
            today: date | None = None) -> RunStop:
    """The student told their 4-digit code: the parcel is delivered (time and volunteer recorded).

    A wrong code is counted (and the count kept); after MAX_CODE_ATTEMPTS the parcel can only be
    recorded as missed."""
    student_code = re.sub(r"\s", "", student_code or "")
    if not re.fullmatch(r"\d{4}", student_code):
        raise HandoverError(_l("Mã xác nhận của bạn nhận gồm 4 chữ số."), "student_code")
    wrong = None
    with write_transaction():
        _actor(actor_id, hub_id)
        stop = _parcel(hub_id, code, lock=True)
        if stop.code_attempts >= MAX_CODE_ATTEMPTS:
            raise HandoverError(_l("Đã nhập sai mã xác nhận %(n)s lần: không thể xác nhận bưu kiện "
                                   "này nữa. Hãy ghi “giao chưa thành công” và báo cho Đoàn.",
                                   n=MAX_CODE_ATTEMPTS), "student_code")
        if hmac.compare_digest(student_code, stop.request.handover_code):
            requests.advance(stop.request, "delivered", actor_id, today=today)
            _close(stop, "delivered", actor_id)
        else:
            stop.code_attempts += 1  # kept: the transaction commits
            left = MAX_CODE_ATTEMPTS - stop.code_attempts
            wrong = HandoverError(lazy_ngettext(
                "Mã xác nhận không đúng (còn %(left)s lần thử). Hãy hỏi lại mã trên trang theo "
                "dõi yêu cầu của bạn nhận.",
                "Mã xác nhận không đúng (còn %(left)s lần thử). Hãy hỏi lại mã trên trang theo "
                "dõi yêu cầu của bạn nhận.", left, left=left), "student_code")
    if wrong:
        raise wrong
    return stop


def missed(actor_id: int, hub_id: int, code: str, reason: str, to_stock: bool = False,
           today: date | None = None) -> RunStop:
    """Nobody to hand the parcel to: the reason is recorded and the request goes back to the next
    run, or (`to_stock`) is cancelled and its items go back to stock."""
    reason = clean_line(reason, 255)
    if not reason:
        raise HandoverError(_l("Vui lòng ghi lý do giao chưa thành công."), "reason")
    with write_transaction():
        _actor(actor_id, hub_id)
        stop = _parcel(hub_id, code, lock=True)
        requests.record_missed(stop.request, reason, actor_id, to_stock, today)
        _close(stop, "to_stock" if to_stock else "missed", actor_id, reason)
    return stop


def _advance_all(stops, status: str, actor_id: int, today: date | None) -> int:
    moved = 0
    for stop in stops:
        if stop.outcome is None and stop.request.status in ("approved", "packed"):
            requests.advance(stop.request, status, actor_id, today=today)
            moved += 1
    return moved


def start_route(actor_id: int, route_id: int, today: date | None = None) -> int:
    """The volunteer sets off: the route's parcels are out for delivery (their students are
    told) and the route takes no more stops. Returns how many parcels moved."""
    with write_transaction():
        route = db.session.get(Route, route_id)
        if route is None:
            raise LookupError(route_id)
        _actor(actor_id, route.run.hub_id)
        route.started_at = route.started_at or utcnow()
        return _advance_all(route.stops, "out_for_delivery", actor_id, today)


def ready_pickups(actor_id: int, run_id: int, today: date | None = None) -> int:
    """The pickup parcels are packed and waiting at the hub; their students are told."""
    with write_transaction():
        run = db.session.get(DeliveryRun, run_id)
        if run is None:
            raise LookupError(run_id)
        _actor(actor_id, run.hub_id)
        stops = db.session.scalars(select(RunStop).where(RunStop.run_id == run.id,
                                                         RunStop.kind == "pickup"))
        return _advance_all(stops, "ready_for_pickup", actor_id, today)


def _post_stop(actor_id: int, stop_id: int) -> RunStop:
    stop = db.session.get(RunStop, stop_id)
    if stop is None or stop.kind != "post":
        raise LookupError(stop_id)
    _actor(actor_id, stop.run.hub_id)
    db.session.execute(select(ItemRequest.id).where(ItemRequest.id == stop.request_id)
                       .with_for_update())
    db.session.refresh(stop.request)
    return stop


def post_sent(actor_id: int, stop_id: int, tracking_number: str,
              today: date | None = None) -> RunStop:
    """The parcel was handed to the post office under this tracking number (a second entry while
    it is at the post office corrects the number)."""
    tracking = re.sub(r"[\s-]", "", tracking_number or "").upper()
    if not _TRACKING.fullmatch(tracking):
        raise HandoverError(_l("Mã bưu gửi gồm 6–40 chữ và số, ví dụ EB123456789VN."),
                            "tracking_number")
    with write_transaction():
        stop = _post_stop(actor_id, stop_id)
        if stop.request.status != "at_post_office":
            if stop.outcome is not None or stop.request.status not in ("approved", "packed"):
                raise HandoverError(_l("Bưu kiện %(code)s đang ở trạng thái “%(status)s”: không "
                                       "gửi bưu điện được.", code=stop.request.code,
                                       status=STATUS_LABELS[stop.request.status]),
                                    "tracking_number")
            requests.advance(stop.request, "at_post_office", actor_id, tracking, today)
        stop.tracking_number = tracking
    return stop


def post_result(actor_id: int, stop_id: int, delivered: bool, reason: str = "",
                today: date | None = None) -> RunStop:
    """The post office delivered the parcel, or returned it (the items go back to stock)."""
    reason = clean_line(reason, 255)
    if not delivered and not reason:
        raise HandoverError(_l("Vui lòng ghi lý do bưu điện trả lại."), "reason")
    with write_transaction():
        stop = _post_stop(actor_id, stop_id)
        if stop.request.status != "at_post_office":
            raise HandoverError(_l("Bưu kiện %(code)s chưa được gửi bưu điện (hoặc đã có kết quả)."
                                   , code=stop.request.code), "reason")
        if delivered:
            requests.advance(stop.request, "delivered", actor_id, today=today)
            _close(stop, "delivered", actor_id)
        else:
            requests.advance(stop.request, "cancelled", actor_id, reason, today)
            _close(stop, "returned", actor_id, reason)
    return stop
