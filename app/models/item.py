from datetime import datetime

from sqlalchemy import CheckConstraint, Computed, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

# The catalog's order: in stock first, newest first. Each index below hands a page of it over in
# order, after its equality filters, so a page reads 24 index entries instead of sorting the store.
CATALOG_ORDER = ("in_stock", "created_at", "id")


class Item(db.Model):
    """A donated thing listed in a hub's store; `available` units can still be requested."""

    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("available <= quantity", name="available_within_quantity"),
        Index("ix_items_catalog", "is_listed", *CATALOG_ORDER),
        Index("ix_items_category", "is_listed", "category", *CATALOG_ORDER),
        Index("ix_items_hub", "hub_id", "is_listed", *CATALOG_ORDER),
        Index("ix_items_size", "is_listed", "size"),  # the size filter's choices (catalog.sizes)
        # The facet counts of a catalog without words (catalog.facets): read from the index alone.
        Index("ix_items_facets", "is_listed", "hub_id", "category", "size", "in_stock"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"))  # indexed by ix_items_hub
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    size: Mapped[str] = mapped_column(String(32), default="")
    condition: Mapped[str] = mapped_column(String(16), default="good")
    quantity: Mapped[int] = mapped_column(default=1)
    available: Mapped[int] = mapped_column(default=1)
    # Kept by the database from `available`, so that an index can serve the catalog's order.
    in_stock: Mapped[bool] = mapped_column(Computed("available > 0"))
    # Diacritic-folded text the catalog's full-text index is built from (models/search.py):
    # the title with the size, and the title, category, size and description together.
    search_title: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    is_listed: Mapped[bool] = mapped_column(default=True)
    # The donation line it came from (None when listed directly); lets a donor see it given out.
    donation_line_id: Mapped[int | None] = mapped_column(ForeignKey("donation_lines.id"),
                                                         unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by every edit (services/inventory): a change of photos only is a change of the item too,
    # so that the audit log records it.
    edited_at: Mapped[datetime | None] = mapped_column(default=None)

    hub = relationship("Hub", lazy="joined")
    photos: Mapped[list["ItemPhoto"]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="ItemPhoto.position",
        lazy="selectin",
    )

    @property
    def cover(self) -> "ItemPhoto | None":
        return self.photos[0] if self.photos else None


class ItemPhoto(db.Model):
    __tablename__ = "item_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    stem: Mapped[str] = mapped_column(String(64), unique=True)  # files <stem>.jpg and <stem>_t.jpg
    width: Mapped[int]
    height: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)

    item: Mapped[Item] = relationship(back_populates="photos")
