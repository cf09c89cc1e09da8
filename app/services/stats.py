"""The numbers the union reports, for one hub or several: requests by week, delivery method and
ward, deliveries made and missed, donations received, items given; a bar chart and a CSV export.

Weeks start on Monday, Vietnam time. Wards and provinces are kept when the privacy purge erases
phones and street addresses, so the numbers by ward stay the same after it.
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import Donation, DonationLine, Hub, ItemRequest, RequestEvent, RequestLine
from ..models.request import METHODS
from . import geo
from .formatting import local_midnight_utc, local_today, to_local
from .requests import METHOD_LABELS
from .text import fold

DEFAULT_WEEKS = 8
MAX_WEEKS = 52
NO_ADDRESS = _l("Không ghi địa chỉ (nhận tại điểm phát)")
OUTCOME_LABELS = {
    "open": _l("Đang xử lý"),
    "delivered": _l("Đã giao"),
    "cancelled": _l("Đã hủy"),
    "rejected": _l("Bị từ chối"),
}


@dataclass
class Week:
    start: date
    requests: int = 0   # new requests
    delivered: int = 0  # requests handed over
    missed: int = 0     # delivery attempts that failed (the request goes to the next run)
    donations: int = 0  # donations received at the hub
    given: int = 0      # units handed to students


@dataclass
class Numbers:
    hubs: list[Hub]
    weeks: list[Week]
    by_method: list[tuple[str, int]] = field(default_factory=list)  # (method, requests)
    by_ward: list[tuple[str, int]] = field(default_factory=list)    # (place label, requests)
    by_hub: list[tuple[str, int, int]] = field(default_factory=list)  # (name, requests, given)
    outcomes: dict[str, int] = field(default_factory=dict)  # of the period's new requests
    units_accepted: int = 0  # units of the period's donations good enough to give

    @property
    def first_day(self) -> date:
        return self.weeks[0].start

    def total(self, attr: str) -> int:
        return sum(getattr(w, attr) for w in self.weeks)


def _week_of(dt_utc) -> date:
    day = to_local(dt_utc).date()
    return day - timedelta(days=day.weekday())


def numbers(hubs: list[Hub], weeks: int = DEFAULT_WEEKS, today: date | None = None) -> Numbers:
    """The last `weeks` weeks (this one included) for the given hubs."""
    today = today or local_today()
    weeks = min(max(weeks, 1), MAX_WEEKS)
    monday = today - timedelta(days=today.weekday())
    out = Numbers(hubs, [Week(monday - timedelta(weeks=k)) for k in reversed(range(weeks))])
    by_start = {w.start: w for w in out.weeks}
    since = local_midnight_utc(out.first_day)
    hub_ids = [h.id for h in hubs]
    names = {h.id: h.name for h in hubs}

    methods, wards, per_hub = dict.fromkeys(METHODS, 0), {}, {h: [0, 0] for h in hub_ids}
    outcomes = dict.fromkeys(OUTCOME_LABELS, 0)
    for created, hub_id, method, ward, province, status in db.session.execute(
            select(ItemRequest.created_at, ItemRequest.hub_id, ItemRequest.method,
                   ItemRequest.ward_code, ItemRequest.province_code, ItemRequest.status)
            .where(ItemRequest.hub_id.in_(hub_ids), ItemRequest.created_at >= since)):
        by_start[_week_of(created)].requests += 1
        methods[method] = methods.get(method, 0) + 1
        label = geo.place_label(ward, province) if ward else str(NO_ADDRESS)
        wards[label] = wards.get(label, 0) + 1
        per_hub[hub_id][0] += 1
        outcomes[status if status in outcomes else "open"] += 1

    units = (select(RequestLine.request_id, func.sum(RequestLine.quantity).label("n"))
             .group_by(RequestLine.request_id).subquery())
    for at, status, hub_id, n in db.session.execute(
            select(RequestEvent.created_at, RequestEvent.status, ItemRequest.hub_id, units.c.n)
            .join(ItemRequest, ItemRequest.id == RequestEvent.request_id)
            .join(units, units.c.request_id == ItemRequest.id)
            .where(ItemRequest.hub_id.in_(hub_ids), RequestEvent.created_at >= since,
                   RequestEvent.status.in_(("delivered", "missed")))):
        week = by_start[_week_of(at)]
        if status == "missed":
            week.missed += 1
        else:
            week.delivered += 1
            week.given += n
            per_hub[hub_id][1] += n

    accepted = (select(DonationLine.donation_id,
                       func.coalesce(func.sum(DonationLine.accepted_quantity), 0).label("n"))
                .group_by(DonationLine.donation_id).subquery())
    for received, n in db.session.execute(
            select(Donation.received_at, accepted.c.n)
            .join(accepted, accepted.c.donation_id == Donation.id)
            .where(Donation.hub_id.in_(hub_ids), Donation.received_at >= since)):
        by_start[_week_of(received)].donations += 1
        out.units_accepted += n

    out.by_method = list(methods.items())
    out.by_ward = sorted(wards.items(), key=lambda w: (w[0] == str(NO_ADDRESS), -w[1], fold(w[0])))
    out.by_hub = [(names[h], r, g) for h, (r, g) in per_hub.items()]
    out.outcomes = outcomes
    return out


# ---------------------------------------------------------------- the chart

CHART_WIDTH, CHART_HEIGHT = 400, 160  # viewBox units; the SVG scales to the width
SERIES = ("requests", "delivered", "missed")
SERIES_LABELS = {"requests": _l("Yêu cầu mới"), "delivered": _l("Đã giao"),
                 "missed": _l("Giao chưa thành công")}


@dataclass(frozen=True)
class Bar:
    series: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Group:
    week: Week
    x: float  # centre of the group, for the label
    bars: list[Bar]
    labelled: bool  # the week is written under it (at most LABELS are, so they never overlap)
    valued: bool    # its bars are wide enough to carry their values


LABELS = 8


def chart(weeks: list[Week], width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> list[Group]:
    """Grouped bars per week (new requests, delivered, missed), scaled to the largest value."""
    top = max([getattr(w, s) for w in weeks for s in SERIES] + [1])
    slot = width / len(weeks)
    bar = slot * 0.8 / len(SERIES)
    every = -(-len(weeks) // LABELS)  # ceil
    groups = []
    for i, week in enumerate(weeks):
        left = i * slot + slot * 0.1
        bars = []
        for k, series in enumerate(SERIES):
            value = getattr(week, series)
            h = round(height * value / top, 1)
            bars.append(Bar(series, value, round(left + k * bar, 1), round(height - h, 1),
                            round(bar - 1, 1), h))
        groups.append(Group(week, round(i * slot + slot / 2, 1), bars,
                            (len(weeks) - 1 - i) % every == 0, bar >= 10))
    return groups


# ---------------------------------------------------------------- CSV

def _cell(value) -> str:
    """No spreadsheet formulas from data (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rows(n: Numbers):
    yield _l("Chỉ số"), _l("Nhóm"), _l("Giá trị")
    yield _l("Điểm phát"), "; ".join(h.name for h in n.hubs), len(n.hubs)
    for week in n.weeks:
        start = week.start.isoformat()
        yield _l("Yêu cầu mới theo tuần"), start, week.requests
        yield _l("Yêu cầu đã giao theo tuần"), start, week.delivered
        yield _l("Lần giao chưa thành công theo tuần"), start, week.missed
        yield _l("Quà tặng đã nhận theo tuần"), start, week.donations
        yield _l("Món đã trao theo tuần"), start, week.given
    for method, count in n.by_method:
        yield _l("Yêu cầu theo cách nhận"), METHOD_LABELS[method], count
    for label, count in n.by_ward:
        yield _l("Yêu cầu theo phường/xã"), label, count
    for name, requests, given in n.by_hub:
        yield _l("Yêu cầu theo điểm phát"), name, requests
        yield _l("Món đã trao theo điểm phát"), name, given
    for outcome, count in n.outcomes.items():
        yield _l("Kết quả yêu cầu mới"), OUTCOME_LABELS[outcome], count
    yield _l("Tổng"), _l("Quà tặng đã nhận"), n.total("donations")
    yield _l("Tổng"), _l("Món quà tặng đạt"), n.units_accepted
    yield _l("Tổng"), _l("Món đã trao"), n.total("given")


def to_csv(n: Numbers) -> str:
    """One long table (metric, group, value): easy to filter or pivot in a spreadsheet.
    Starts with a BOM so Excel reads the Vietnamese letters."""
    buf = io.StringIO()
    csv.writer(buf).writerows([_cell(c) for c in row] for row in _rows(n))
    return "\ufeff" + buf.getvalue()
