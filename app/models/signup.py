"""Volunteers say which delivery days they can do; the weekly run assigns routes among them."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class VolunteerSignup(db.Model):
    __tablename__ = "volunteer_signups"
    __table_args__ = (UniqueConstraint("hub_id", "user_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    date: Mapped[date]  # the delivery day (Vietnam local date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user = relationship("User", lazy="joined")


__all__ = ["VolunteerSignup"]
