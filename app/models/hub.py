from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, event, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from .base import utcnow

# The union's tree: Tỉnh Đoàn → Đoàn xã/phường → base unions (schools, ...).
LEVELS = ("province", "commune", "base")


class Hub(db.Model):
    """A union unit; one that holds stock (`holds_stock`) is a hub that hands items out.

    Units form a tree (`parent_id`); `path` is the chain of ids from the root, "/1/4/9/", kept by
    the database insert below, so that a subtree is one LIKE and the ancestors need no query.
    A role held on a unit applies to its whole subtree (User.has_role, User.hub_ids_for)."""

    __tablename__ = "hubs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), default="", index=True)
    level: Mapped[str] = mapped_column(String(10), default="base")  # LEVELS
    holds_stock: Mapped[bool] = mapped_column(default=True)
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
    # How a student reaches the union: a phone (E.164), a Zalo number (E.164), a map link.
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    zalo_phone: Mapped[str | None] = mapped_column(String(16))
    map_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    delivery_wards: Mapped[list["HubWard"]] = relationship(
        back_populates="hub", cascade="all, delete-orphan", lazy="selectin"
    )

    parent: Mapped["Hub | None"] = relationship(remote_side=[id], lazy="select")

    @property
    def delivery_ward_codes(self) -> set[int]:
        return {w.ward_code for w in self.delivery_wards}

    @property
    def lineage(self) -> list[int]:
        """Ids from the root down to this unit, itself included."""
        return path_ids(self.path) or [self.id]


def path_ids(path: str | None) -> list[int]:
    return [int(part) for part in (path or "").split("/") if part]


@event.listens_for(Hub, "after_insert")
def _set_path(_mapper, connection, hub: Hub) -> None:
    """The new unit's path: its parent's path and its own id (the id exists only now)."""
    parent = connection.scalar(select(Hub.path).where(Hub.id == hub.parent_id)) \
        if hub.parent_id else "/"
    path = f"{parent or '/'}{hub.id}/"
    connection.execute(update(Hub.__table__).where(Hub.__table__.c.id == hub.id)
                       .values(path=path))
    set_committed_value(hub, "path", path)


class HubWard(db.Model):
    """A ward that the hub's volunteers deliver to by hand."""

    __tablename__ = "hub_wards"
    __table_args__ = (UniqueConstraint("hub_id", "ward_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"), index=True)
    ward_code: Mapped[int] = mapped_column(Integer)

    hub: Mapped[Hub] = relationship(back_populates="delivery_wards")


__all__ = ["LEVELS", "Hub", "HubWard", "path_ids"]
