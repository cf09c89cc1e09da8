"""Handing parcels over on delivery day: scan, confirm with the student's code, record a missed
delivery, set a route off, ready the pickups, and the post office (tracking number, delivered or
returned).

Every use-case takes the acting user's id and checks that they act for the hub (LookupError,
i.e. 404, otherwise), and raises HandoverError with a Vietnamese message for everything a volunteer
can get wrong at the door: a parcel of another hub, one already delivered, a wrong code.
"""
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote

from flask import current_app
from flask_babel import format_datetime, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..extensions import db
from ..models import ItemRequest, User
from ..models.base import utcnow
from ..models.delivery import DeliveryRun, OfflineAction, Route, RunStop
from . import requests
from .errors import ServiceError
from .requests import CODE_ALPHABET, STATUS_LABELS, acts_for_hub
from .text import clean_line

MAX_CODE_ATTEMPTS = 5  # wrong student codes before a parcel can no longer be confirmed
_SCANNED_URL = re.compile(r"[?&]ma=([^&#\s]+)")
_TRACKING = re.compile(r"[A-Z0-9]{6,40}")


class HandoverError(ServiceError):
    """Something the volunteer must hear; `field` names the form field it belongs to."""

    def __init__(self, message, field: str | None = "ma"):
        super().__init__(message, field)


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


def open_members(stop: RunStop) -> list[RunStop]:
    """The rows of a stop's parcel still to hand over (a request cancelled meanwhile is not)."""
    return [s for s in stop.group if s.outcome is None and s.request.is_open]


def _lock(request_ids) -> None:
    """Lock the requests' rows, in id order (two volunteers on one parcel wait for each other,
    never in a circle), then read everything again."""
    db.session.execute(select(ItemRequest.id).where(ItemRequest.id.in_(sorted(request_ids)))
                       .order_by(ItemRequest.id).with_for_update())
    db.session.expire_all()


def _parcel(hub_id: int, text: str, lock: bool = False) -> RunStop:
    """The stop a volunteer of the hub may hand over for this code, or HandoverError saying why
    not. A stop of several requests (one student, one address) answers to any of their codes
    with its lead row while any of them is still to hand over. With `lock` the requests' rows
    are locked first (two volunteers on one parcel)."""
    code = parse_code(text)
    if not code:
        raise HandoverError(_l("Mã bưu kiện gồm 6 chữ và số, ví dụ 0D-4K7P."))
    request_id = db.session.scalar(select(ItemRequest.id).where(ItemRequest.code == code))
    req = db.session.get(ItemRequest, request_id) if request_id else None
    if req is None:
        raise HandoverError(_l("Không tìm thấy bưu kiện mã %(code)s.", code=code))
    if req.hub_id != hub_id:
        raise HandoverError(_l("Bưu kiện %(code)s là của %(hub)s, không phải của điểm phát này: "
                               "đừng giao, hãy để riêng và báo cho Đoàn.",
                               code=code, hub=req.hub.name))
    stop = latest_stop(req.id)
    if lock:
        _lock({s.request_id for s in stop.group} if stop else {req.id})
        req, stop = db.session.get(ItemRequest, request_id), latest_stop(request_id)
    if stop is not None and stop.kind == "route" and len(stop.group) > 1 \
            and open_members(stop):
        return stop.group[0]
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


def _close(stop: RunStop, outcome: str, actor_id: int, note: str | None = None,
           at: datetime | None = None) -> None:
    stop.outcome, stop.outcome_by_id, stop.outcome_at, stop.outcome_note = \
        outcome, actor_id, at or utcnow(), note


def _student_code(text: str | None) -> str:
    code = re.sub(r"\s", "", text or "")
    if not re.fullmatch(r"\d{4}", code):
        raise HandoverError(_l("Mã xác nhận của bạn nhận gồm 4 chữ số."), "student_code")
    return code


def _hand_over(stop: RunStop, actor_id: int, student_code: str, today: date | None,
               at: datetime | None = None) -> HandoverError | None:
    """The rules of a hand-over, inside the caller's transaction (the request rows locked): the
    right code (of any request of the stop: they are one student's) delivers the stop's parcel,
    every request in it (at `at`, default now); a wrong one is counted and its error returned,
    for the caller to raise once the count is committed."""
    if stop.code_attempts >= MAX_CODE_ATTEMPTS:
        raise HandoverError(_l("Đã nhập sai mã xác nhận %(n)s lần: không thể xác nhận bưu kiện "
                               "này nữa. Hãy ghi “giao chưa thành công” và báo cho Đoàn.",
                               n=MAX_CODE_ATTEMPTS), "student_code")
    members = open_members(stop)
    if any(hmac.compare_digest(student_code, m.request.handover_code) for m in members):
        for member in members:  # one parcel: each of its requests is delivered
            requests.advance(member.request, "delivered", actor_id, today=today, at=at)
            _close(member, "delivered", actor_id, at=at)
        return None
    stop.code_attempts += 1  # kept: the transaction commits
    left = MAX_CODE_ATTEMPTS - stop.code_attempts
    return HandoverError(lazy_ngettext(
        "Mã xác nhận không đúng (còn %(left)s lần thử). Hãy hỏi lại mã trên trang theo "
        "dõi yêu cầu của bạn nhận.",
        "Mã xác nhận không đúng (còn %(left)s lần thử). Hãy hỏi lại mã trên trang theo "
        "dõi yêu cầu của bạn nhận.", left, left=left), "student_code")


def confirm(actor_id: int, hub_id: int, code: str, student_code: str,
            today: date | None = None) -> RunStop:
    """The student told their 4-digit code: the parcel is delivered (time and volunteer recorded).

    A wrong code is counted (and the count kept); after MAX_CODE_ATTEMPTS the parcel can only be
    recorded as missed."""
    student_code = _student_code(student_code)
    with write_transaction():
        _actor(actor_id, hub_id)
        stop = _parcel(hub_id, code, lock=True)
        wrong = _hand_over(stop, actor_id, student_code, today)
    if wrong:
        raise wrong
    return stop


def _reason(text: str | None) -> str:
    reason = clean_line(text, 255)
    if not reason:
        raise HandoverError(_l("Vui lòng ghi lý do giao chưa thành công."), "reason")
    return reason


def _miss(stop: RunStop, actor_id: int, reason: str, to_stock: bool, today: date | None,
          at: datetime | None = None) -> None:
    for member in open_members(stop):  # one parcel: each of its requests, the same way
        requests.record_missed(member.request, reason, actor_id, to_stock, today, at)
        _close(member, "to_stock" if to_stock else "missed", actor_id, reason, at)


def missed(actor_id: int, hub_id: int, code: str, reason: str, to_stock: bool = False,
           today: date | None = None) -> RunStop:
    """Nobody to hand the parcel to: the reason is recorded and the request goes back to the next
    run, or (`to_stock`) is cancelled and its items go back to stock."""
    reason = _reason(reason)
    with write_transaction():
        _actor(actor_id, hub_id)
        stop = _parcel(hub_id, code, lock=True)
        _miss(stop, actor_id, reason, to_stock, today)
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


# ---------------------------------------------------------------- the route offline (issue #15)
#
# When a volunteer sets off, their phone keeps the route (its stops, the parcels' codes and, per
# stop, a salted hash of the student's code) so that the route sheet, the typed-code hand-over and
# "missed, with reason" work without signal; the actions queue on the phone, each with an
# idempotency key, and `sync` applies them here once each, in order, with the real rules.

OFFLINE_HOURS = 48  # the phone deletes its copy of a route this long after it set off
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run this much ahead of ours
MAX_SYNC_ACTIONS = 200
_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
SYNC_ACTIONS = ("handover", "missed")


def _route_for(actor_id: int, route_id: int) -> Route:
    """The route if the actor may deliver it: its volunteer, any volunteer of the hub while the
    route has none, the hub's organizers and admins; LookupError (404) otherwise."""
    route = db.session.get(Route, route_id)
    actor = db.session.get(User, actor_id)
    if route is None or actor is None or not acts_for_hub(actor, route.run.hub_id):
        raise LookupError(route_id)
    if route.volunteer_id not in (None, actor_id) \
            and not actor.has_role("organizer", route.run.hub_id):
        raise LookupError(route_id)
    return route


def _salt(stop: RunStop, started_at: datetime) -> str:
    """A salt per stop and per setting-off, derived from the app's secret (nothing to store)."""
    message = f"offline-handover:{stop.id}:{started_at.isoformat()}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message,
                    hashlib.sha256).hexdigest()[:32]


def code_hash(salt: str, student_code: str) -> str:
    """What the phone compares a typed code with: sha256(salt + the code, digits only)."""
    return hashlib.sha256((salt + re.sub(r"\D", "", student_code)).encode()).hexdigest()


def _stop_state(stop: RunStop) -> str:
    if stop.outcome:
        return stop.outcome
    return "open" if stop.request.is_open else stop.request.status


def route_finished(route: Route) -> bool:
    return all(_stop_state(stop) != "open" for stop in route.stops)


def offline_bundle(actor_id: int, route_id: int, now: datetime | None = None) -> dict | None:
    """What the volunteer's phone keeps of a route that has set off: None when there is nothing
    to keep (not set off, finished, or set off more than OFFLINE_HOURS ago: the phone deletes its
    copy). LookupError for someone who may not deliver the route.

    The student's 4-digit code is never sent, only sha256(salt + code) with a salt per stop. Ten
    thousand codes are quickly tried against a hash, so the hash hides the codes from a glance,
    not from a determined attacker; the exposure is bounded instead: the bundle goes only to the
    volunteer of this route (who hears these codes at the doors anyway), only while the route is
    under way and for at most 48 hours (the phone then deletes it), it holds only this route's
    stops, and the server checks the real code again at sync, counting wrong ones as at the door.
    """
    now = now or utcnow()
    route = _route_for(actor_id, route_id)
    started = route.started_at
    if started is None or now - started > timedelta(hours=OFFLINE_HOURS) \
            or route_finished(route):
        return None
    stops = []
    for stop in route.doors:  # one per parcel; any code of its requests hands it over
        salt, members = _salt(stop, started), open_members(stop)
        hashes = [code_hash(salt, m.request.handover_code) for m in members or [stop]]
        stops.append({"id": stop.id, "position": stop.position, "code": stop.request.code,
                      "state": "open" if members else _stop_state(stop), "salt": salt,
                      "codes": [m.request.code for m in stop.group],
                      "hash": hashes[0], "hashes": hashes})
    return {"route": route.id, "number": route.number,
            "started_at": started.isoformat() + "Z",
            "expires_at": (started + timedelta(hours=OFFLINE_HOURS)).isoformat() + "Z",
            "stops": stops}


@dataclass(frozen=True)
class SyncResult:
    """The answer to one synced action; `applied` False: refused, `message` says why."""
    key: str
    stop_id: int | None
    applied: bool
    message: str
    at: datetime | None = None

    def as_json(self) -> dict:
        return {"key": self.key, "stop": self.stop_id, "applied": self.applied,
                "message": self.message, "at": self.at.isoformat() + "Z" if self.at else None}


def _result(row: OfflineAction) -> SyncResult:
    return SyncResult(row.key, row.stop_id, row.applied, row.message, row.at)


def _done(key: str) -> OfflineAction | None:
    return db.session.scalar(select(OfflineAction).where(OfflineAction.key == key))


def _when(text, started_at: datetime, now: datetime) -> datetime:
    """The phone's time of an action (ISO 8601), as naive UTC, kept within sane bounds: not
    before the route set off, not after now (a clock up to CLOCK_SKEW ahead is ours; further
    ahead, or no readable time: now)."""
    try:
        at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return now
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    if at > now + CLOCK_SKEW or at > now:
        return now
    return max(at, started_at)


def sync(actor_id: int, route_id: int, actions, now: datetime | None = None,
         today: date | None = None) -> list[SyncResult]:
    """Apply the actions a phone queued on a route, in order, each once: [{"key": idempotency
    key, "stop": stop id, "action": "handover" with "code" (as typed) | "missed" with "reason"
    (and "to_stock"), "at": the phone's time}]. Each action is its own unit of work; a key seen
    before answers its first result and changes nothing. Refused (with the reason, kept under its
    key): a stop delivered meanwhile by someone else, a cancelled request, a wrong code (counted
    as at the door), a stop not on this route. LookupError for someone who may not deliver the
    route; HandoverError for a body that is not a list of actions."""
    _route_for(actor_id, route_id)
    if not isinstance(actions, list) or len(actions) > MAX_SYNC_ACTIONS:
        raise HandoverError(_l("Dữ liệu đồng bộ không hợp lệ."), None)
    return [_sync_one(actor_id, route_id, action, now, today) for action in actions]


def _sync_one(actor_id: int, route_id: int, raw, now: datetime | None,
              today: date | None) -> SyncResult:
    raw = raw if isinstance(raw, dict) else {}
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        return SyncResult(str(key or "")[:64], None, False,
                          str(_l("Thao tác không có mã đồng bộ hợp lệ: bỏ qua.")))
    done = _done(key)
    if done is not None:
        return _same_key(done, actor_id, route_id)
    route = db.session.get(Route, route_id)
    stop_id = raw.get("stop")
    if isinstance(stop_id, bool) or not isinstance(stop_id, int) or not 0 < stop_id < 2**31:
        stop_id = None  # beyond 32 bits: an unknown id, not a database error
    stop = db.session.get(RunStop, stop_id) if stop_id is not None else None
    action = raw.get("action") if raw.get("action") in SYNC_ACTIONS else None
    at = _when(raw.get("at"), route.started_at or utcnow(), now or utcnow())
    try:
        if stop is None or stop.route_id != route_id or action is None:
            raise HandoverError(_l("Thao tác này không thuộc tuyến: không áp dụng."), None)
        code = stop.request.code
        student_code = _student_code(raw.get("code")) if action == "handover" else ""
        reason = _reason(raw.get("reason")) if action == "missed" else ""
        with write_transaction():
            hub_id = route.run.hub_id
            _actor(actor_id, hub_id)
            if (done := _done(key)) is not None:  # a twin sync got here first (SQLite)
                return _same_key(done, actor_id, route_id)
            locked = _parcel(hub_id, code, lock=True)
            if locked.id != (stop.lead_id or stop_id):
                raise HandoverError(_l("Bưu kiện %(code)s đã chuyển sang chuyến khác.",
                                       code=code), None)
            wrong = None
            if action == "handover":
                wrong = _hand_over(locked, actor_id, student_code, today, at)
            else:
                _miss(locked, actor_id, reason, raw.get("to_stock") is True, today, at)
            db.session.add(OfflineAction(
                key=key, route_id=route_id, stop_id=stop_id, actor_id=actor_id, action=action,
                applied=wrong is None, message=str(wrong.message) if wrong else "",
                at=None if wrong else at))
        return _result(_done(key))
    except (HandoverError, requests.RequestError) as exc:
        on_route = stop_id if stop is not None and stop.route_id == route_id else None
        return _refuse(key, route_id, on_route, actor_id, action or "", str(exc.message))


def _same_key(done: OfflineAction, actor_id: int, route_id: int) -> SyncResult:
    if done.actor_id != actor_id or done.route_id != route_id:  # not this phone's action
        return SyncResult(done.key, None, False,
                          str(_l("Mã đồng bộ này đã được dùng cho thao tác khác.")))
    return _result(done)


def _refuse(key: str, route_id: int, stop_id: int | None, actor_id: int, action: str,
            message: str) -> SyncResult:
    """Keep a refusal under its key (a replay answers the same), unless the key's first result
    was stored meanwhile (PostgreSQL: a twin sync waited on the row lock, then found the parcel
    delivered by itself): then that first result."""
    try:
        with write_transaction():
            if _done(key) is None:
                db.session.add(OfflineAction(key=key, route_id=route_id, stop_id=stop_id,
                                             actor_id=actor_id, action=action[:10],
                                             applied=False, message=message[:500]))
    except IntegrityError:  # the key's first result was stored meanwhile
        pass
    done = _done(key)
    return _same_key(done, actor_id, route_id) if done else \
        SyncResult(key, stop_id, False, message)
