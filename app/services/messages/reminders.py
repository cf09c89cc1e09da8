"""The evening before: a reminder to everyone expecting something the next day.

`flask messages remind` (cron, once each evening) queues, for `today + 1`:
- a student whose request is in that day's run — at the hub's pickup list or on a volunteer's
  route — or whose pickup request is ready at a hub whose delivery (and pickup) day that is;
- a volunteer holding a route of that day's run with a stop still to do.
One reminder per person per day (the idempotency key names both): running it twice, or after
another run for the same day, queues nothing more. A person who opted out of reminders
(User.reminders_off, on the profile page) gets none; that never touches a request's own steps
(ready, on its way, delivered), which are sent by the steps themselves.
"""
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from ...database import write_transaction
from ...models import Hub, ItemRequest, OutboundMessage, User
from ...models.delivery import DeliveryRun, Route, RunStop
from .outbox import enqueue

# A request still expecting its day (not delivered, cancelled or rejected yet).
EXPECTING = ("approved", "packed", "ready_for_pickup", "out_for_delivery")


@dataclass(frozen=True)
class Queued:
    day: date
    students: int  # reminders written by this call (a repeat writes none)
    volunteers: int


def _day_text(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _reachable(user: User | None) -> bool:
    return user is not None and user.deleted_at is None and not user.reminders_off


def _expected_requests(session, day: date) -> list[tuple[ItemRequest, bool]]:
    """(request, at the hub?) for every request expected on `day`, oldest first."""
    in_run = session.execute(
        select(ItemRequest, RunStop.kind).join(RunStop, RunStop.request_id == ItemRequest.id)
        .join(DeliveryRun, DeliveryRun.id == RunStop.run_id)
        .where(DeliveryRun.date == day, RunStop.kind.in_(("pickup", "route")),
               RunStop.outcome.is_(None), ItemRequest.status.in_(EXPECTING))).all()
    ready = session.scalars(
        select(ItemRequest).join(Hub, Hub.id == ItemRequest.hub_id)
        .where(ItemRequest.method == "pickup", ItemRequest.status == "ready_for_pickup",
               Hub.delivery_weekday == day.weekday())).all()
    found = {req.id: (req, kind == "pickup") for req, kind in in_run}
    for req in ready:
        found.setdefault(req.id, (req, True))
    return [found[k] for k in sorted(found)]


def queue_reminders(today: date) -> Queued:
    """Queue tomorrow's reminders (tomorrow = the day after `today`, Vietnam's local date)."""
    day = today + timedelta(days=1)
    students = volunteers = 0
    with write_transaction() as session:
        told: set[int] = set()
        for req, at_hub in _expected_requests(session, day):
            student = req.user
            phone = req.phone or (student.phone if student else None)
            if req.user_id in told or not _reachable(student) or not phone:
                continue
            told.add(req.user_id)
            params = {"hub": req.hub.name, "day": _day_text(day), "code": req.code,
                      "place": req.hub.pickup_place}
            key = f"remind:{day.isoformat()}:student:{req.user_id}"
            students += _new(session, phone, "remind_pickup" if at_hub else "remind_delivery",
                             params, student.locale, key, req.hub_id, req.id)
        routes = session.scalars(
            select(Route).join(DeliveryRun, DeliveryRun.id == Route.run_id)
            .where(DeliveryRun.date == day, Route.volunteer_id.is_not(None),
                   Route.stops.any(RunStop.outcome.is_(None)))
            .order_by(Route.volunteer_id, Route.id)).all()
        by_volunteer: dict[int, list[Route]] = {}
        for route in routes:
            by_volunteer.setdefault(route.volunteer_id, []).append(route)
        for volunteer_id, held in by_volunteer.items():
            volunteer = held[0].volunteer
            if not _reachable(volunteer):
                continue
            todo = sum(1 for r in held for s in r.stops if s.outcome is None)
            key = f"remind:{day.isoformat()}:volunteer:{volunteer_id}"
            volunteers += _new(session, volunteer.phone, "remind_route",
                               {"hub": held[0].run.hub.name, "day": _day_text(day),
                                "route": ", ".join(str(r.number) for r in held),
                                "stops": todo}, volunteer.locale, key, held[0].run.hub_id)
    return Queued(day, students, volunteers)


def _new(session, phone, template, params, language, key, hub_id, request_id=None) -> int:
    """1 when this call wrote the reminder, 0 when it was queued before under its key."""
    before = session.scalar(select(OutboundMessage.id)
                            .where(OutboundMessage.idempotency_key == key))
    enqueue(session, phone, template, params, language, key, request_id=request_id,
            hub_id=hub_id)
    return 0 if before else 1
