"""Donations in: an offer of one or more things to a hub, received and inspected by its volunteers.

A Donation is offered (brought to the hub or collected by volunteers), then received, then closed
once every line is listed in the store or rejected (or cancelled when nothing came). The donor
follows it through the unguessable `token` URL, or from their account when they had one.
"""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

HANDOVERS = ("bring", "collect")  # the donor brings it to the hub / volunteers collect it
DONATION_STATUSES = ("offered", "received", "closed", "cancelled")
LINE_STATUSES = ("pending", "accepted", "rejected", "listed")


class Donation(db.Model):
    __tablename__ = "donations"
    __table_args__ = (Index("ix_donations_hub_status", "hub_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    donor_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(16))  # erased by the privacy purge
    handover: Mapped[str] = mapped_column(String(8))
    # Collection address (handover "collect"); ward/province stay for the statistics.
    province_code: Mapped[int | None]
    ward_code: Mapped[int | None]
    street: Mapped[str | None] = mapped_column(String(255))  # erased by the privacy purge
    note: Mapped[str] = mapped_column(String(500), default="")
    consent_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="offered")
    cancel_reason: Mapped[str | None] = mapped_column(String(255))
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime | None]
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]  # closed or cancelled: the retention period starts
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    hub = relationship("Hub", lazy="joined")
    lines: Mapped[list["DonationLine"]] = relationship(
        back_populates="donation", cascade="all, delete-orphan", order_by="DonationLine.id",
        lazy="selectin",
    )

    @property
    def is_open(self) -> bool:
        return self.status in ("offered", "received")


class DonationLine(db.Model):
    """One kind of thing in a donation: what the donor declared, then what the volunteer saw."""

    __tablename__ = "donation_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("accepted_quantity <= received_quantity", name="accepted_within_received"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id", ondelete="CASCADE"),
                                             index=True)
    description: Mapped[str] = mapped_column(String(160))
    category: Mapped[str] = mapped_column(String(32))
    size: Mapped[str] = mapped_column(String(32), default="")
    condition: Mapped[str] = mapped_column(String(16))  # declared by the donor
    quantity: Mapped[int]  # declared by the donor
    status: Mapped[str] = mapped_column(String(10), default="pending")
    received_quantity: Mapped[int | None]  # counted by the volunteer
    accepted_quantity: Mapped[int | None]  # good enough to give: listed in the store
    seen_condition: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(255))  # why (some) were not accepted
    inspected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    inspected_at: Mapped[datetime | None]

    donation: Mapped[Donation] = relationship(back_populates="lines")
    photos: Mapped[list["DonationPhoto"]] = relationship(
        back_populates="line", cascade="all, delete-orphan", order_by="DonationPhoto.position",
        lazy="selectin",
    )
    item = relationship("Item", uselist=False, viewonly=True, lazy="selectin")


class DonationPhoto(db.Model):
    __tablename__ = "donation_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("donation_lines.id", ondelete="CASCADE"),
                                         index=True)
    stem: Mapped[str] = mapped_column(String(64), unique=True)  # <stem>.jpg and <stem>_t.jpg
    width: Mapped[int]
    height: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)

    line: Mapped[DonationLine] = relationship(back_populates="photos")


__all__ = ["Donation", "DonationLine", "DonationPhoto"]
