"""The weekly delivery run of a hub: build it, and the data behind its printables.

A run is built for one delivery date from the requests approved before that date's cut-off:
- volunteer deliveries become routes: one ward each, neighbours together (sorted by street or
  hamlet, then house number), at most `hub.stops_per_route` stops, split evenly, given round-robin
  to the volunteers who signed up for the date (none signed up: the route is unassigned);
- post parcels go into the post-office dispatch, pickups into the pickup list;
- a volunteer delivery to a ward the hub no longer serves, or whose address was erased, stays in
  the run as "flagged" with the reason: never silently dropped.

Building again adds what was approved since and duplicates nothing: one run per hub and date and
one row per request in a run (both UNIQUE). A student's requests to one address are one stop of a
route, one parcel (models.delivery: the first request's row leads, the others follow it).
Two builds at once queue on SQLite's write lock (the write transaction begins IMMEDIATE) and on
PostgreSQL on the run row (FOR UPDATE); a run inserted by the other build a moment earlier
surfaces as an IntegrityError and is then used as is.
"""
import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import groupby

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..extensions import db
from ..models import (
    Hub,
    Item,
    ItemRequest,
    RequestEvent,
    RequestLine,
    User,
    VolunteerSignup,
)
from ..models.base import utcnow
from ..models.delivery import DeliveryRun, Route, RunStop
from ..models.user import HUB_ROLES
from . import geo
from .errors import ServiceError
from .formatting import VN_TZ, local_today, next_weekday
from .phones import display_phone
from .requests import METHOD_LABELS, STATUS_LABELS, acts_for_hub
from .text import fold

FLAG_REASONS = {
    "ward": _l("%(ward)s không còn trong vùng giao tận tay của điểm phát: hãy gọi cho bạn nhận "
               "để đổi sang nhận tại điểm phát hoặc gửi bưu điện."),
    "address": _l("Số điện thoại hoặc địa chỉ đã bị xóa theo hạn lưu dữ liệu: không giao được."),
}
# A stop still to be packed: what the pick list counts.
TO_PACK = ("approved", "packed")


class RunError(ServiceError):
    """A run that cannot be built (bad date); `field` names the form field."""

    def __init__(self, message, field: str | None = "date"):
        super().__init__(message, field)


@dataclass(frozen=True)
class BuildResult:
    run_id: int
    date: date
    created: bool  # False: the run existed, this build added to it
    added: int  # stops added by this build
    late: int  # approved after the cut-off: they wait for the next run


# ---------------------------------------------------------------- pure rules

def next_delivery_date(hub: Hub, today: date) -> date:
    """The hub's next delivery day, today included."""
    return next_weekday(today, hub.delivery_weekday)


def cutoff_at(hub: Hub, day: date) -> datetime:
    """The cut-off (naive UTC) of the run on `day`: the hub's cut-off weekday on or before it."""
    cut_day = day - timedelta(days=(day.weekday() - hub.cutoff_weekday) % 7)
    local = datetime(cut_day.year, cut_day.month, cut_day.day, tzinfo=VN_TZ) \
        + timedelta(minutes=hub.cutoff_minutes)
    return local.astimezone(UTC).replace(tzinfo=None)


def check_date(hub: Hub, day: date, today: date) -> None:
    """A run is built for one of the hub's delivery days, today or later; else RunError."""
    if day < today:
        raise RunError(_l("Ngày giao %(day)s đã qua (hạn chốt của chuyến đó cũng đã qua): không "
                          "thể lập chuyến cho ngày đã qua. Hãy chọn ngày giao tới, %(next)s.",
                          day=format_date(day, "EEEE, d/M/yyyy"),
                          next=format_date(next_delivery_date(hub, today), "EEEE, d/M/yyyy")))
    if day.weekday() != hub.delivery_weekday:
        raise RunError(_l("%(day)s không phải ngày giao của điểm phát (điểm phát giao vào "
                          "%(weekday)s). Hãy chọn %(next)s.",
                          day=format_date(day, "EEEE, d/M/yyyy"),
                          weekday=format_date(next_delivery_date(hub, day), "EEEE"),
                          next=format_date(next_delivery_date(hub, day), "EEEE, d/M/yyyy")))


_HOUSE_NUMBER = re.compile(r"^(?:so nha|so|sn)?\s*(\d+)[a-z]?(?:/\d+[a-z]?)*\s*[,.\-]?\s*")
_STREET_WORD = re.compile(r"^(?:duong|pho)\s+")


def street_key(street: str | None) -> tuple[str, int]:
    """Sort key that puts neighbours together: the street or hamlet, then the house number.

    "12 Nguyễn Huệ", "số 40 đường Nguyễn Huệ" → ("nguyen hue", 12), ("nguyen hue", 40);
    "Ấp 3, xã ..." → ("ap 3, xa ...", 0): a hamlet without a number sorts by its name.
    """
    text = fold(street or "")
    match = _HOUSE_NUMBER.match(text)
    number = int(match.group(1)) if match else 0
    rest = text[match.end():] if match else text
    return _STREET_WORD.sub("", rest), number


def split_evenly(rows: list, cap: int) -> list[list]:
    """Rows cut into the fewest chunks of at most `cap`, as even as possible (13/12 → 7 + 6)."""
    if not rows:
        return []
    count = -(-len(rows) // cap)
    size, extra = divmod(len(rows), count)
    chunks, start = [], 0
    for i in range(count):
        end = start + size + (i < extra)
        chunks.append(rows[start:end])
        start = end
    return chunks


@cache
def place_key(ward_code: int | None, province_code: int | None = None) -> tuple[str, str]:
    """Sort key of a place: province, then ward, by folded name (a few hundred distinct)."""
    return fold(geo.province_name(province_code)), fold(geo.ward_name(ward_code))


def flag_label(stop: RunStop) -> str:
    reason = FLAG_REASONS.get(stop.flag_reason or "")
    return str(reason % {"ward": geo.ward_name(stop.request.ward_code)}) if reason else ""


# ---------------------------------------------------------------- building

def _approved_at():
    """The time of the request's last "approved" event (what the cut-off is compared with)."""
    return (select(func.max(RequestEvent.created_at))
            .where(RequestEvent.request_id == ItemRequest.id, RequestEvent.status == "approved")
            .correlate(ItemRequest).scalar_subquery())


def _waiting(hub_id: int, day: date, today: date):
    """Approved requests of the hub for the run of `day`, with what the build needs.

    Left out: those already in that run or a later one, and those still to do in a run between
    today and `day`. A request back in line after a missed delivery, or left without an outcome
    in a run now past, comes back: nothing is lost."""
    in_run = (select(RunStop.id).join(DeliveryRun, RunStop.run_id == DeliveryRun.id)
              .where(RunStop.request_id == ItemRequest.id, DeliveryRun.hub_id == hub_id,
                     or_(DeliveryRun.date >= day,
                         and_(DeliveryRun.date >= today, RunStop.outcome.is_(None))))
              .exists())
    return db.session.execute(
        select(ItemRequest.id, ItemRequest.method, ItemRequest.ward_code, ItemRequest.province_code,
               ItemRequest.street, ItemRequest.phone, ItemRequest.recipient_name,
               ItemRequest.user_id,
               _approved_at().label("approved_at"))
        .where(ItemRequest.hub_id == hub_id, ItemRequest.status == "approved", ~in_run)
        .order_by(ItemRequest.id)
    ).all()


def _split_on_time(rows, cutoff: datetime) -> tuple[list, int]:
    on_time = [r for r in rows if r.approved_at is None or r.approved_at <= cutoff]
    return on_time, len(rows) - len(on_time)


def waiting_counts(hub: Hub, day: date, today: date) -> tuple[dict[str, int], int]:
    """How many approved requests a build of the run of `day` would add, by method, and how many
    were approved after its cut-off."""
    on_time, late = _split_on_time(_waiting(hub.id, day, today), cutoff_at(hub, day))
    counts = dict.fromkeys(METHOD_LABELS, 0)
    for row in on_time:
        counts[row.method] += 1
    return counts, late


def _lock_run(hub: Hub, day: date) -> tuple[DeliveryRun, bool]:
    """The run of the hub on `day`, locked for this build; created when missing."""
    query = select(DeliveryRun).where(DeliveryRun.hub_id == hub.id, DeliveryRun.date == day) \
        .with_for_update(of=DeliveryRun)
    run = db.session.scalar(query)
    if run is not None:
        return run, False
    try:
        with db.session.begin_nested():
            run = DeliveryRun(hub_id=hub.id, date=day, cutoff_at=cutoff_at(hub, day))
            db.session.add(run)
    except IntegrityError:  # PostgreSQL: another build inserted it a moment ago; use theirs
        return db.session.scalar(query), False
    return run, True


def _stop(run: DeliveryRun, row, kind: str, position: int, route_id: int | None = None,
          flag: str | None = None) -> dict:
    return {"run_id": run.id, "request_id": row.id, "kind": kind, "route_id": route_id,
            "position": position, "flag_reason": flag, "code_attempts": 0}


def door(req) -> tuple:
    """What makes requests one stop: the same student at the same address (issue #14)."""
    return req.user_id, req.ward_code, " ".join(fold(req.street or "").split())


def _place_on_routes(run: DeliveryRun, cap: int, rows: list
                     ) -> tuple[list[dict], list[tuple[int, int]], list[int]]:
    """Stops for volunteer deliveries: a student's requests to one address are one stop (the
    first leads, the others follow it; a new one joins its student's stop on a route that has
    not set off); stops go into routes of their ward that have not set off and have room, the
    rest into new routes; then each touched route is put back in street order.
    Returns the stops to insert, the (lead request id, follower request id) links and the
    touched routes."""
    counts = route_sizes(run)
    open_routes, waiting_doors = defaultdict(list), {}
    for route in run.routes:
        if route.started_at is None:
            open_routes[route.ward_code].append(route)
            waiting_doors.update({door(stop.request): stop for stop in route.doors})
    number = max((r.number for r in run.routes), default=0)
    rows = sorted(rows, key=lambda r: (place_key(r.ward_code), r.ward_code,
                                       street_key(r.street), fold(r.recipient_name), r.id))
    doors, index, links, stops, touched = [], {}, [], [], []
    for row in rows:
        key = door(row)
        if key in waiting_doors:  # their stop is on a route not set off yet: packed with it
            lead = waiting_doors[key]
            stops.append(_stop(run, row, "route", lead.position, lead.route_id))
            links.append((lead.request_id, row.id))
            touched.append(lead.route_id)
        elif key in index:
            doors[index[key]].append(row)
        else:
            index[key] = len(doors)
            doors.append([row])
    placed = []
    for ward, group in groupby(doors, key=lambda d: d[0].ward_code):
        group = list(group)
        for route in open_routes[ward]:
            room = cap - counts.get(route.id, 0)
            if room > 0 and group:
                placed += [(route, counts.get(route.id, 0) + k, rows)
                           for k, rows in enumerate(group[:room], 1)]
                group = group[room:]
                touched.append(route.id)
        for chunk in split_evenly(group, cap):
            number += 1
            route = Route(run=run, number=number, ward_code=ward)
            db.session.add(route)
            placed += [(route, k, rows) for k, rows in enumerate(chunk, 1)]
    db.session.flush()  # new routes get their ids
    for route, pos, rows in placed:
        stops += [_stop(run, row, "route", pos, route.id) for row in rows]
        links += [(rows[0].id, row.id) for row in rows[1:]]
    return stops, links, touched


def _link(run: DeliveryRun, links: list[tuple[int, int]]) -> None:
    """Point the followers' rows to their stop's lead row."""
    if not links:
        return
    ids = dict(db.session.execute(select(RunStop.request_id, RunStop.id)
                                  .where(RunStop.run_id == run.id)).all())
    db.session.execute(update(RunStop), [{"id": ids[follower], "lead_id": ids[lead]}
                                         for lead, follower in links])


def _renumber(route_ids: list[int]) -> None:
    """Street order again in routes that received new stops (a follower at its lead's place)."""
    rows = db.session.execute(
        select(RunStop.id, RunStop.route_id, RunStop.lead_id, ItemRequest.street,
               ItemRequest.recipient_name)
        .join(ItemRequest, RunStop.request_id == ItemRequest.id)
        .where(RunStop.route_id.in_(set(route_ids)))).all()
    leads = sorted((r for r in rows if r.lead_id is None),
                   key=lambda r: (r.route_id, street_key(r.street), fold(r.recipient_name), r.id))
    changes = [{"id": r.id, "position": k}
               for _, group in groupby(leads, key=lambda r: r.route_id)
               for k, r in enumerate(group, 1)]
    place = {c["id"]: c["position"] for c in changes}
    changes += [{"id": r.id, "position": place[r.lead_id]} for r in rows
                if r.lead_id is not None and r.lead_id in place]
    if changes:
        db.session.execute(update(RunStop), changes)


def _assign_volunteers(run: DeliveryRun) -> None:
    """Routes not yet set off go round-robin to the volunteers signed up for the day (in the
    order they signed up); a route keeps a volunteer who is still signed up."""
    volunteers = list(db.session.scalars(
        select(VolunteerSignup.user_id)
        .where(VolunteerSignup.hub_id == run.hub_id, VolunteerSignup.date == run.date)
        .order_by(VolunteerSignup.id)))
    for route in sorted(run.routes, key=lambda r: r.number):
        if route.started_at is None and route.volunteer_id not in volunteers:
            route.volunteer_id = volunteers[(route.number - 1) % len(volunteers)] \
                if volunteers else None


def _next_positions(run: DeliveryRun) -> dict[str, int]:
    return dict(db.session.execute(
        select(RunStop.kind, func.max(RunStop.position)).where(RunStop.run_id == run.id,
                                                               RunStop.route_id.is_(None))
        .group_by(RunStop.kind)).all())


def _place(run: DeliveryRun, hub: Hub, rows: list) -> int:
    served = hub.delivery_ward_codes
    hand, others = [], []
    for row in rows:
        if row.method != "pickup" and not (row.street and row.phone):
            others.append(("flagged", row, "address"))
        elif row.method == "volunteer" and row.ward_code not in served:
            others.append(("flagged", row, "ward"))
        elif row.method == "volunteer":
            hand.append(row)
        else:
            others.append((row.method, row, None))
    stops, links, touched = _place_on_routes(run, max(hub.stops_per_route, 1), hand)
    last = _next_positions(run)
    others.sort(key=lambda o: (o[0], place_key(o[1].ward_code, o[1].province_code),
                               street_key(o[1].street), fold(o[1].recipient_name), o[1].id))
    for kind, group in groupby(others, key=lambda o: o[0]):
        stops += [_stop(run, row, kind, last.get(kind, 0) + k, flag=flag)
                  for k, (_, row, flag) in enumerate(group, 1)]
    if stops:
        db.session.execute(insert(RunStop), stops)
    _link(run, links)
    _renumber(touched)
    return len(stops)


def _unflag(run: DeliveryRun, hub: Hub) -> None:
    """Flagged stops that could now go on a route (the ward is served again) leave the flagged
    list: the build places them like any other waiting request."""
    placeable = select(ItemRequest.id).where(
        ItemRequest.method == "volunteer", ItemRequest.ward_code.in_(hub.delivery_ward_codes),
        ItemRequest.street.is_not(None), ItemRequest.phone.is_not(None))
    db.session.execute(delete(RunStop).where(
        RunStop.run_id == run.id, RunStop.kind == "flagged", RunStop.outcome.is_(None),
        RunStop.request_id.in_(placeable)).execution_options(synchronize_session=False))


def build_run(hub_id: int, actor_id: int | None = None, day: date | None = None,
              today: date | None = None) -> BuildResult:
    """Build (or top up) the hub's run for `day` (default: the next delivery day).

    `actor_id` must act for the hub (LookupError otherwise); None is the command line.
    Raises RunError for a day in the past or not a delivery day.
    """
    today = today or local_today()
    with write_transaction():
        hub = db.session.get(Hub, hub_id)
        actor = db.session.get(User, actor_id) if actor_id is not None else None
        if hub is None or actor_id is not None and (actor is None or
                                                    not acts_for_hub(actor, hub_id)):
            raise LookupError(hub_id)
        day = day or next_delivery_date(hub, today)
        check_date(hub, day, today)
        run, created = _lock_run(hub, day)
        run.cutoff_at, run.built_at, run.built_by_id = cutoff_at(hub, day), utcnow(), actor_id
        _unflag(run, hub)
        rows, late = _split_on_time(_waiting(hub.id, day, today), run.cutoff_at)
        added = _place(run, hub, rows)
        _assign_volunteers(run)
        result = BuildResult(run.id, day, created, added, late)
    return result


# ---------------------------------------------------------------- reading a run

def get_run(run_id: int, viewer: User) -> DeliveryRun | None:
    """The run if `viewer` acts for its hub, else None (callers answer 404)."""
    run = db.session.get(DeliveryRun, run_id)
    return run if run and acts_for_hub(viewer, run.hub_id) else None


def find_run(hub_id: int, day: date) -> DeliveryRun | None:
    return db.session.scalar(select(DeliveryRun).where(DeliveryRun.hub_id == hub_id,
                                                       DeliveryRun.date == day))


def stops_of(run: DeliveryRun, kind: str) -> list[RunStop]:
    """Post, pickup or flagged stops of a run, in order, with their requests."""
    return list(db.session.scalars(
        select(RunStop).where(RunStop.run_id == run.id, RunStop.kind == kind)
        .order_by(RunStop.position, RunStop.id)))


def route_sizes(run: DeliveryRun) -> dict[int, int]:
    """Stops (doors) per route."""
    return dict(db.session.execute(
        select(RunStop.route_id, func.count()).where(RunStop.run_id == run.id,
                                                     RunStop.route_id.is_not(None),
                                                     RunStop.lead_id.is_(None))
        .group_by(RunStop.route_id)).all())


def signed_up(hub_id: int, day: date) -> list[User]:
    return list(db.session.scalars(
        select(User).join(VolunteerSignup, VolunteerSignup.user_id == User.id)
        .where(VolunteerSignup.hub_id == hub_id, VolunteerSignup.date == day)
        .order_by(VolunteerSignup.id)))


@dataclass(frozen=True)
class PickLine:
    title: str
    size: str
    quantity: int


@dataclass(frozen=True)
class PickSection:
    label: str
    parcels: int
    lines: list[PickLine]


def pick_list(run: DeliveryRun) -> tuple[list[PickLine], list[PickSection]]:
    """What to take from stock for the parcels still to pack: totals per item, then per route,
    for the post office and for the pickup desk (flagged and handled stops left out)."""
    rows = db.session.execute(
        select(RunStop.kind, Route.number, Route.ward_code,
               func.coalesce(RunStop.lead_id, RunStop.id).label("parcel"), Item.id,
               Item.title, Item.size, RequestLine.quantity)
        .join(ItemRequest, RunStop.request_id == ItemRequest.id)
        .join(RequestLine, RequestLine.request_id == ItemRequest.id)
        .join(Item, RequestLine.item_id == Item.id)
        .outerjoin(Route, RunStop.route_id == Route.id)
        .where(RunStop.run_id == run.id, RunStop.kind != "flagged", RunStop.outcome.is_(None),
               ItemRequest.status.in_(TO_PACK))).all()
    kind_order = {"route": 0, "post": 1, "pickup": 2}
    rows.sort(key=lambda r: (kind_order[r.kind], r.number or 0))

    def lines(group) -> list[PickLine]:
        totals: dict[int, list] = {}
        for r in group:
            totals.setdefault(r.id, [r.title, r.size, 0])[2] += r.quantity
        return sorted((PickLine(*v) for v in totals.values()),
                      key=lambda p: (fold(p.title), p.size))

    sections = []
    for (kind, number), group in groupby(rows, key=lambda r: (r.kind, r.number)):
        group = list(group)
        if kind == "route":
            label = _l("Tuyến %(n)s — %(ward)s", n=number, ward=geo.ward_name(group[0].ward_code))
        else:
            label = _l("Gửi bưu điện") if kind == "post" else _l("Nhận tại điểm phát")
        sections.append(PickSection(str(label), len({r.parcel for r in group}), lines(group)))
    return lines(rows), sections


def address(req: ItemRequest) -> str:
    return ", ".join(p for p in (req.street, geo.place_label(req.ward_code, req.province_code))
                     if p)


def items_text(req: ItemRequest) -> str:
    return "; ".join(f"{ln.item.title} ({ln.item.size})" if ln.item.size else ln.item.title
                     for ln in req.lines)


def parcel_items(stop: RunStop) -> str:
    """What a stop's parcel holds: the items of every request packed into it."""
    return "; ".join(items_text(member.request) for member in stop.group)


def _csv_cell(value) -> str:
    """Text that a spreadsheet will not run as a formula."""
    text = str(value or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def dispatch_csv(run: DeliveryRun) -> str:
    """The post-office dispatch as CSV (UTF-8 with BOM so that Excel reads the Vietnamese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(h) for h in (
        _l("STT"), _l("Mã bưu kiện"), _l("Người nhận"), _l("Điện thoại"), _l("Địa chỉ"),
        _l("Phường/xã"), _l("Tỉnh/thành phố"), _l("Món đồ"), _l("Mã bưu gửi"),
        _l("Trạng thái"))])
    for stop in stops_of(run, "post"):
        req = stop.request
        writer.writerow([_csv_cell(v) for v in (
            stop.position, req.code, req.recipient_name, display_phone(req.phone), req.street,
            geo.ward_name(req.ward_code), geo.province_name(req.province_code), items_text(req),
            stop.tracking_number, STATUS_LABELS[req.status])])
    return "\ufeff" + out.getvalue()


def staff_hubs(user: User) -> list[Hub]:
    """The hubs whose runs `user` may build and deliver (every hub for an admin)."""
    scoped = [user.hub_ids_for(role) for role in HUB_ROLES]
    query = select(Hub).where(Hub.holds_stock.is_(True)).order_by(Hub.name)
    if None not in scoped:
        query = query.where(Hub.id.in_(set().union(*scoped)))
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class Overview:
    """The run page of a hub and a day: the run if built, and what is waiting for it."""
    day: date
    cutoff: datetime
    run: DeliveryRun | None
    route_sizes: dict[int, int]
    post: list[RunStop]
    pickup: list[RunStop]
    flagged: list[RunStop]
    waiting: dict[str, int]  # approved before the cut-off, not in the run yet, by method
    late: int  # approved after the cut-off
    volunteers: list[User]


def overview(hub: Hub, day: date, today: date | None = None) -> Overview:
    run = find_run(hub.id, day)
    waiting, late = waiting_counts(hub, day, today or local_today())
    stops = {kind: stops_of(run, kind) if run else [] for kind in ("post", "pickup", "flagged")}
    return Overview(day, cutoff_at(hub, day), run, route_sizes(run) if run else {},
                    stops["post"], stops["pickup"], stops["flagged"], waiting, late,
                    signed_up(hub.id, day))
