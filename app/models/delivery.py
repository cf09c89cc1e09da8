"""The weekly delivery run of a hub: routes for the volunteers, the post-office dispatch, the
pickup list, and the requests that could not be placed (flagged, with the reason).

One run per hub and delivery date (UNIQUE), one RunStop row per request in a run (UNIQUE):
building again, or twice at once, adds what is new and duplicates nothing.

A stop of a route is one door: a student's several requests to the same address are one parcel
(issue #14). Its first request's row leads (`lead_id` None: its code and QR are the parcel's,
its position the stop's); the others' rows point to it (`lead_id`) and keep their own outcome,
so that each request's timeline, the pick list and the next run stay per request.
"""
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

# Where a stop sits in the run.
STOP_KINDS = ("route", "post", "pickup", "flagged")
# How a stop ended (None while it is still to do).
OUTCOMES = ("delivered", "missed", "to_stock", "returned")


class DeliveryRun(db.Model):
    __tablename__ = "delivery_runs"
    __table_args__ = (UniqueConstraint("hub_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"))
    date: Mapped[date]  # the delivery day (Vietnam local date)
    cutoff_at: Mapped[datetime]  # UTC: requests approved later wait for the next run
    built_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)  # the last build
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    hub = relationship("Hub", lazy="joined")
    routes: Mapped[list["Route"]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="Route.number")
    stops: Mapped[list["RunStop"]] = relationship(
        back_populates="run", cascade="all, delete-orphan",
        order_by="RunStop.id")


class Route(db.Model):
    """Stops of one ward, neighbours together, for one volunteer (None: nobody signed up)."""

    __tablename__ = "delivery_routes"
    __table_args__ = (UniqueConstraint("run_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("delivery_runs.id", ondelete="CASCADE"),
                                        index=True)
    number: Mapped[int]  # 1, 2, ... within the run
    ward_code: Mapped[int]
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime | None]  # the volunteer set off: no more stops are added

    run: Mapped[DeliveryRun] = relationship(back_populates="routes")
    volunteer = relationship("User", lazy="joined")
    stops: Mapped[list["RunStop"]] = relationship(
        back_populates="route", order_by="RunStop.position")

    @property
    def doors(self) -> list["RunStop"]:
        """The route's stops as the volunteer meets them: one per parcel (the lead rows)."""
        return [s for s in self.stops if s.lead_id is None]


class RunStop(db.Model):
    __tablename__ = "run_stops"
    __table_args__ = (
        UniqueConstraint("run_id", "request_id"),
        Index("ix_run_stops_request", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("delivery_runs.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("item_requests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # STOP_KINDS
    route_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery_routes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    flag_reason: Mapped[str | None] = mapped_column(String(255))
    tracking_number: Mapped[str | None] = mapped_column(String(40))  # post office
    code_attempts: Mapped[int] = mapped_column(default=0)  # wrong student codes typed
    outcome: Mapped[str | None] = mapped_column(String(10))  # OUTCOMES
    outcome_note: Mapped[str | None] = mapped_column(String(255))
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome_at: Mapped[datetime | None]
    # The stop this request's parcel is packed into (same student, same address, same route);
    # None: this row is a stop of its own (or leads its followers).
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("run_stops.id", ondelete="SET NULL"), index=True)

    run: Mapped[DeliveryRun] = relationship(back_populates="stops")
    lead: Mapped["RunStop | None"] = relationship(remote_side=[id], back_populates="followers")
    followers: Mapped[list["RunStop"]] = relationship(back_populates="lead",
                                                      order_by="RunStop.id")
    route: Mapped[Route | None] = relationship(back_populates="stops")
    request = relationship("ItemRequest", lazy="joined")
    outcome_by = relationship("User")

    @property
    def group(self) -> list["RunStop"]:
        """The rows of this stop's parcel: its lead first, then the requests packed with it."""
        lead = self.lead or self
        return [lead, *lead.followers]


class OfflineAction(db.Model):
    """A hand-over or a missed delivery that a volunteer's phone recorded on a route (perhaps
    without signal) and synced later. `key` (made by the phone) is UNIQUE: a replayed sync finds
    the first result here and applies nothing twice. No personal data: never the typed code."""

    __tablename__ = "offline_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("delivery_routes.id", ondelete="CASCADE"),
                                          index=True)
    stop_id: Mapped[int | None] = mapped_column(ForeignKey("run_stops.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(10))  # handover / missed
    applied: Mapped[bool]  # False: refused, `message` says why
    message: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime | None]  # UTC, what was recorded as the time of the action
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["DeliveryRun", "OfflineAction", "Route", "RunStop"]
