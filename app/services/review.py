"""The hub's desk: the queue of new requests (approve, many at once, or reject) and the delivery
days volunteers sign up for (the weekly run assigns its routes among them)."""
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..extensions import db
from ..models import Hub, ItemRequest, User, VolunteerSignup
from . import catalog, geo
from .formatting import local_today, next_weekday
from .requests import RequestError, acts_for_hub, advance
from .text import fold

SIGNUP_WEEKS = 4


def staff_hubs(user: User) -> list[Hub]:
    """The hubs (units holding stock) a volunteer or organizer acts for (every hub for an
    admin)."""
    ids: set[int] = set()
    for role in ("volunteer", "organizer"):
        scoped = user.hub_ids_for(role)
        if scoped is None:
            return catalog.hubs(stock_only=True)
        ids |= scoped
    return catalog.hubs(ids, stock_only=True)


# ---------------------------------------------------------------- the queue of new requests

@dataclass(frozen=True)
class QueueFilter:
    method: str = ""
    ward_code: int | None = None


def queue(hub_id: int, f: QueueFilter = QueueFilter()) -> list[ItemRequest]:
    """New (submitted) requests of a hub, oldest first."""
    stmt = select(ItemRequest).where(ItemRequest.hub_id == hub_id,
                                     ItemRequest.status == "submitted")
    if f.method:
        stmt = stmt.where(ItemRequest.method == f.method)
    if f.ward_code:
        stmt = stmt.where(ItemRequest.ward_code == f.ward_code)
    return list(db.session.scalars(stmt.order_by(ItemRequest.id).limit(500)))


def queue_wards(hub_id: int) -> list[tuple[int, str]]:
    """(code, name) of the wards the hub's new requests go to, for the filter."""
    codes = db.session.scalars(
        select(ItemRequest.ward_code).where(ItemRequest.hub_id == hub_id,
                                            ItemRequest.status == "submitted",
                                            ItemRequest.ward_code.is_not(None)).distinct())
    return sorted(((c, geo.ward_name(c)) for c in codes), key=lambda w: fold(w[1]))


def queue_size(hub_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ItemRequest).where(
        ItemRequest.hub_id == hub_id, ItemRequest.status == "submitted")) or 0


@dataclass(frozen=True)
class Approved:
    codes: list[str]
    skipped: list[str]  # no longer new (cancelled by the student, handled by someone else)


def approve_many(actor_id: int, hub_id: int, request_ids: list[int]) -> Approved:
    """Approve the hub's new requests among `request_ids` in one transaction; every student is
    told. Requests of another hub are ignored; those no longer new are reported as skipped.
    Raises LookupError when the actor does not act for the hub."""
    ids = list(dict.fromkeys(request_ids))[:500]
    if not ids:
        raise RequestError(_l("Hãy chọn ít nhất một yêu cầu."), "request_ids")
    with write_transaction():
        actor = db.session.get(User, actor_id)
        if actor is None or not acts_for_hub(actor, hub_id):
            raise LookupError(hub_id)
        reqs = db.session.scalars(
            select(ItemRequest).where(ItemRequest.id.in_(ids), ItemRequest.hub_id == hub_id)
            .order_by(ItemRequest.id).with_for_update(of=ItemRequest))
        codes, skipped = [], []
        for req in reqs:
            if req.status != "submitted":
                skipped.append(req.code)
                continue
            advance(req, "approved", actor_id)
            codes.append(req.code)
    return Approved(codes, skipped)


# ---------------------------------------------------------------- delivery days

def delivery_days(hub: Hub, today: date | None = None, weeks: int = SIGNUP_WEEKS) -> list[date]:
    """The hub's next `weeks` delivery days, today included."""
    first = next_weekday(today or local_today(), hub.delivery_weekday)
    return [first + timedelta(weeks=k) for k in range(weeks)]


def signups(hub_id: int, days: list[date]) -> dict[date, list[User]]:
    """Who signed up for each of `days`."""
    out: dict[date, list[User]] = {d: [] for d in days}
    rows = db.session.scalars(
        select(VolunteerSignup).where(VolunteerSignup.hub_id == hub_id,
                                      VolunteerSignup.date.in_(days))
        .order_by(VolunteerSignup.id))
    for s in rows:
        out[s.date].append(s.user)
    return out


def set_signup(user_id: int, hub_id: int, day: date, available: bool,
               today: date | None = None) -> bool:
    """Sign a volunteer up for one of the hub's next delivery days, or take them off it.
    Idempotent; raises LookupError for someone who does not act for the hub, RequestError for a
    day that is not an upcoming delivery day."""
    with write_transaction() as session:
        user, hub = db.session.get(User, user_id), db.session.get(Hub, hub_id)
        if user is None or hub is None or not acts_for_hub(user, hub_id):
            raise LookupError(hub_id)
        if day not in delivery_days(hub, today):
            raise RequestError(_l("Chỉ đăng ký được %(n)s ngày giao sắp tới của điểm phát.",
                                  n=SIGNUP_WEEKS))
        signup = session.scalar(select(VolunteerSignup).where(
            VolunteerSignup.hub_id == hub_id, VolunteerSignup.user_id == user_id,
            VolunteerSignup.date == day))
        if available and signup is None:
            session.add(VolunteerSignup(hub_id=hub_id, user_id=user_id, date=day))
            try:
                session.flush()
            except IntegrityError:  # signed up at the same moment in another tab: done already
                session.rollback()
        elif not available and signup is not None:
            session.delete(signup)
    return available
