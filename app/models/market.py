"""Phiên chợ 4.0: a cashless market event of a hub, its booths, practice wallets and their ledger,
and the real VietQR sales taken at a booth.

Practice wallets hold "điểm" (points), never money. Every movement of points is one Transfer row
(double entry: from one wallet to another; a credit comes from the event, from nobody), and each
wallet's `balance` is moved in the same transaction as its transfer, by a conditional UPDATE that
never lets it below zero (the CHECK constraint backs that up). So at any moment the balances of all
wallets of an event add up to the credit it issued. Real sales (`BoothSale`) are đồng paid by bank
transfer into the vendor's own account; they never touch the points.
"""
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

EVENT_STATUSES = ("open", "closed")
BOOTH_STATUSES = ("invited", "accepted", "declined")
TRANSFER_KINDS = ("credit", "payment", "refund")
SALE_STATUSES = ("awaiting_payment", "paid", "cancelled")


class MarketEvent(db.Model):
    """One market event of a hub: when and where, and the practice credit each participant gets."""

    __tablename__ = "market_events"
    __table_args__ = (
        CheckConstraint("practice_credit > 0", name="credit_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    place: Mapped[str] = mapped_column(String(255))
    starts_at: Mapped[datetime]  # UTC
    ends_at: Mapped[datetime]  # UTC; payments and wallet cards stop here
    practice_credit: Mapped[int]  # điểm given to each participant
    status: Mapped[str] = mapped_column(String(10), default="open")
    closed_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    hub = relationship("Hub")

    def is_open(self, now: datetime) -> bool:
        return self.status == "open" and now < self.ends_at


class Booth(db.Model):
    """A vendor of the event's hub at the event: invited, then accepted (with a booth number)."""

    __tablename__ = "market_booths"
    __table_args__ = (UniqueConstraint("event_id", "vendor_id"),
                      UniqueConstraint("event_id", "number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("market_events.id"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    number: Mapped[int | None]  # set when accepted
    status: Mapped[str] = mapped_column(String(10), default="invited")
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]

    event: Mapped[MarketEvent] = relationship(lazy="joined")
    vendor = relationship("Vendor", lazy="joined")
    wallet: Mapped["Wallet | None"] = relationship(back_populates="booth", uselist=False)


class Wallet(db.Model):
    """A practice wallet: a participant's (joined on their phone, or at the desk with a wallet card
    and a PIN) or a booth's (it receives payments). `join_key` makes a double-submitted join one."""

    __tablename__ = "market_wallets"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        UniqueConstraint("event_id", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("market_events.id"), index=True)
    booth_id: Mapped[int | None] = mapped_column(ForeignKey("market_booths.id"), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164; none for a booth
    first_qr: Mapped[bool | None]  # "Is this your first payment by QR?"
    balance: Mapped[int] = mapped_column(default=0)  # điểm
    pin_hash: Mapped[str | None] = mapped_column(String(256))  # wallet cards only
    pin_attempts: Mapped[int] = mapped_column(default=0)  # wrong PINs since the last good one
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the desk
    join_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    booth: Mapped[Booth | None] = relationship(back_populates="wallet")

    @property
    def has_card(self) -> bool:
        return self.pin_hash is not None


class Transfer(db.Model):
    """One movement of points: a credit (from nobody: issued by the event), a payment (participant
    → booth) or a refund (booth → participant, `refund_of` the payment; one per payment).
    `idempotency_key` is UNIQUE: a retried or double-tapped transfer is applied once."""

    __tablename__ = "market_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_wallet_id IS NOT NULL OR kind = 'credit'", name="payer_known"),
        Index("ix_market_transfers_event_kind", "event_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("market_events.id"))
    kind: Mapped[str] = mapped_column(String(10))
    from_wallet_id: Mapped[int | None] = mapped_column(ForeignKey("market_wallets.id"), index=True)
    to_wallet_id: Mapped[int] = mapped_column(ForeignKey("market_wallets.id"), index=True)
    amount: Mapped[int]  # điểm
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    refund_of_id: Mapped[int | None] = mapped_column(ForeignKey("market_transfers.id"), unique=True)
    via: Mapped[str | None] = mapped_column(String(8))  # payments: 'phone' | 'card'
    note: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # booth/desk staff
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    from_wallet: Mapped[Wallet | None] = relationship(foreign_keys=[from_wallet_id])
    to_wallet: Mapped[Wallet] = relationship(foreign_keys=[to_wallet_id])
    refund_of: Mapped["Transfer | None"] = relationship(remote_side=[id])


class BoothSale(db.Model):
    """A real sale at a booth, paid in đồng by a dynamic VietQR carrying `code` ("PC4K7P9Q"); the
    vendor confirms by hand or the bank webhook matches it like an order (services.payments)."""

    __tablename__ = "market_sales"
    __table_args__ = (
        CheckConstraint("total > 0", name="total_positive"),
        Index("ix_market_sales_booth_status", "booth_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    booth_id: Mapped[int] = mapped_column(ForeignKey("market_booths.id"))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"))
    total: Mapped[int]  # đồng
    lines: Mapped[list[dict]] = mapped_column(JSON, default=list)  # [{name, price, quantity}]
    status: Mapped[str] = mapped_column(String(20), default="awaiting_payment")
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    paid_at: Mapped[datetime | None]
    paid_via: Mapped[str | None] = mapped_column(String(10))  # 'manual' | 'bank'
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    booth: Mapped[Booth] = relationship(lazy="joined")
    vendor = relationship("Vendor", lazy="joined")


__all__ = ["Booth", "BoothSale", "MarketEvent", "Transfer", "Wallet"]
