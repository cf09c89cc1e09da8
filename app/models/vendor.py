"""Youth start-ups: the vendor of a hub, its products, buyers' orders, bank transfers received.

Money is integer đồng. A vendor is paid by VietQR straight to their own account; a BankTransaction
is one transfer reported by the bank webhook, recorded once per bank transaction id.
"""
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .request import DeliveryDetails

VENDOR_STATUSES = ("pending", "approved", "rejected")
ORDER_STATUSES = ("awaiting_payment", "paid", "delivered", "cancelled")
# How a bank transaction ended: applied to its order, or kept for the vendor to look at.
TRANSACTION_STATUSES = ("applied", "review")


class Vendor(db.Model):
    """A youth entrepreneur's shop at a hub; sells once an organizer of the hub approves it."""

    __tablename__ = "vendors"
    __table_args__ = (UniqueConstraint("user_id", "hub_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"), index=True)
    business_name: Mapped[str] = mapped_column(String(160))
    story: Mapped[str] = mapped_column(Text, default="")
    photo_stem: Mapped[str | None] = mapped_column(String(64))
    bank_bin: Mapped[str] = mapped_column(String(6))
    account_number: Mapped[str] = mapped_column(String(19), index=True)
    account_holder: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reject_reason: Mapped[str | None] = mapped_column(String(255))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user = relationship("User", foreign_keys=[user_id])
    hub = relationship("Hub", lazy="joined")

    @property
    def is_approved(self) -> bool:
        return self.status == "approved"


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        Index("ix_products_listing", "is_listed", "category", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[int]  # đồng
    stock: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(String(32))
    links: Mapped[list[str]] = mapped_column(JSON, default=list)  # Postmart, Shopee, ... URLs
    search_text: Mapped[str] = mapped_column(Text, default="")  # diacritic-folded name etc.
    is_listed: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    vendor: Mapped[Vendor] = relationship(lazy="joined")
    photos: Mapped[list["ProductPhoto"]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductPhoto.position",
        lazy="selectin",
    )

    @property
    def cover(self) -> "ProductPhoto | None":
        return self.photos[0] if self.photos else None


class ProductPhoto(db.Model):
    __tablename__ = "product_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            index=True)
    stem: Mapped[str] = mapped_column(String(64), unique=True)  # <stem>.jpg and <stem>_t.jpg
    width: Mapped[int]
    height: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="photos")


class Order(DeliveryDetails, db.Model):
    """A buyer's order of products of one vendor. `recipient_name`/`phone` are the buyer's; a guest
    follows the order through the unguessable `token` URL."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total > 0", name="total_positive"),
        Index("ix_orders_vendor_status", "vendor_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # "DH4K7P9Q", in transfers
    token: Mapped[str] = mapped_column(String(64), unique=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    total: Mapped[int]  # đồng
    status: Mapped[str] = mapped_column(String(20), default="awaiting_payment")
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    paid_at: Mapped[datetime | None]
    paid_via: Mapped[str | None] = mapped_column(String(10))  # 'manual' | 'bank'
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]  # delivered or cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    vendor: Mapped[Vendor] = relationship(lazy="joined")
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id])
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id",
        lazy="selectin",
    )


class OrderLine(db.Model):
    """One product of an order, with the name and price it was bought at."""

    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    product_name: Mapped[str] = mapped_column(String(160))
    unit_price: Mapped[int]
    quantity: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity


class BankTransaction(db.Model):
    """A transfer reported by the bank webhook; `bank_ref` (the bank's transaction id) is UNIQUE so
    a delivery repeated is recorded once. `status` 'applied' paid `order_id`; 'review' waits for the
    vendor (`reason` says why), never applied on its own."""

    __tablename__ = "bank_transactions"
    __table_args__ = (Index("ix_bank_transactions_vendor_status", "vendor_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_ref: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[int]  # đồng
    description: Mapped[str] = mapped_column(String(500))
    account: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]  # UTC
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]

    order = relationship("Order")


__all__ = ["BankTransaction", "Order", "OrderLine", "Product", "ProductPhoto", "Vendor"]
