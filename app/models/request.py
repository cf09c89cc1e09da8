import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

METHODS = ("pickup", "volunteer", "post")
STATUSES = (
    "submitted", "approved", "packed", "out_for_delivery", "at_post_office",
    "ready_for_pickup", "delivered", "cancelled", "rejected",
)
# A request in one of these no longer holds stock.
CLOSED_STATUSES = ("delivered", "cancelled", "rejected")
RELEASED_STATUSES = ("cancelled", "rejected")


def new_handover_code() -> str:
    """Four random digits, e.g. "0427" (a column default: every request gets one when made)."""
    return f"{secrets.randbelow(10_000):04d}"


class DeliveryDetails:
    """Columns shared by a request and a waitlist entry: how and where the thing goes."""

    method: Mapped[str] = mapped_column(String(16))
    recipient_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(16))  # erased by the privacy purge
    province_code: Mapped[int | None]
    ward_code: Mapped[int | None]
    street: Mapped[str | None] = mapped_column(String(255))  # erased by the privacy purge
    consent_at: Mapped[datetime | None]


class ItemRequest(DeliveryDetails, db.Model):
    """A student's request for one or more items of one hub."""

    __tablename__ = "item_requests"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_item_requests_user_hub_created", "user_id", "hub_id", "created_at"),
        Index("ix_item_requests_hub_status", "hub_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"))
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    reject_reason: Mapped[str | None] = mapped_column(String(255))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    # Shown only to the student, who tells it to whoever hands the parcel over.
    handover_code: Mapped[str] = mapped_column(String(4), default=new_handover_code)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user = relationship("User")
    hub = relationship("Hub", lazy="joined")
    lines: Mapped[list["RequestLine"]] = relationship(
        back_populates="request", cascade="all, delete-orphan", lazy="selectin"
    )
    events: Mapped[list["RequestEvent"]] = relationship(
        back_populates="request", cascade="all, delete-orphan",
        order_by="RequestEvent.id", lazy="selectin",
    )

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def can_cancel(self) -> bool:
        return self.status in ("submitted", "approved")


class RequestLine(db.Model):
    __tablename__ = "request_lines"
    __table_args__ = (UniqueConstraint("request_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("item_requests.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1)

    request: Mapped[ItemRequest] = relationship(back_populates="lines")
    item = relationship("Item", lazy="joined")


class RequestEvent(db.Model):
    """One step of a request's timeline."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("item_requests.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ItemRequest] = relationship(back_populates="events")


class WaitlistEntry(DeliveryDetails, db.Model):
    """A student waiting for a unit of an item, with the delivery details to use when one frees
    up."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (Index("ix_waitlist_item_status", "item_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # waiting / fulfilled / left / skipped / closed (the item was unlisted: services/inventory)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("item_requests.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item = relationship("Item", lazy="joined")
