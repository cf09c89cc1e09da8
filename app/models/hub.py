from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class Hub(db.Model):
    """A union unit that holds stock and hands it out."""

    __tablename__ = "hubs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    province_code: Mapped[int] = mapped_column(Integer)
    ward_code: Mapped[int] = mapped_column(Integer)
    pickup_place: Mapped[str] = mapped_column(String(255))
    pickup_hours: Mapped[str] = mapped_column(String(120))
    delivery_weekday: Mapped[int] = mapped_column(default=5)  # Monday=0 … Saturday=5
    # The weekly run takes requests approved before the cut-off (local time, Asia/Ho_Chi_Minh)
    # on the last `cutoff_weekday` on or before the delivery day; default Thursday 20:00.
    cutoff_weekday: Mapped[int] = mapped_column(default=3)
    cutoff_minutes: Mapped[int] = mapped_column(default=20 * 60)  # minutes after local midnight
    stops_per_route: Mapped[int] = mapped_column(default=12)
    weekly_limit: Mapped[int] = mapped_column(default=3)
    retention_days: Mapped[int] = mapped_column(default=30)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    delivery_wards: Mapped[list["HubWard"]] = relationship(
        back_populates="hub", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def delivery_ward_codes(self) -> set[int]:
        return {w.ward_code for w in self.delivery_wards}


class HubWard(db.Model):
    """A ward that the hub's volunteers deliver to by hand."""

    __tablename__ = "hub_wards"
    __table_args__ = (UniqueConstraint("hub_id", "ward_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"), index=True)
    ward_code: Mapped[int] = mapped_column(Integer)

    hub: Mapped[Hub] = relationship(back_populates="delivery_wards")


__all__ = ["Hub", "HubWard"]
