"""The outbox of messages to people outside the app (SMS, Zalo ZNS): services.messages.

A use-case writes an OutboundMessage in its own transaction (so a rollback takes the message with
it); the sender delivers it later and records every attempt as a MessageAttempt.
"""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

# queued: waits for next_attempt_at; sending: claimed by a sender (claimed_at); sent; failed (the
# provider refused it for good, or too many attempts: last_error says why); unknown: a sender
# stopped during the call of a provider that cannot tell a repeat, so it is not sent again;
# delivered: the provider's receipt says it reached the phone (services.messages.receipts) — a
# receipt that it could not is "failed" with the provider's reason.
STATUSES = ("queued", "sending", "sent", "delivered", "failed", "unknown")


class OutboundMessage(db.Model):
    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164, "+84912345678"
    template: Mapped[str] = mapped_column(String(40))  # a key of services.messages.templates
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(5))  # rendered in it at send time
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("item_requests.id", ondelete="SET NULL"), index=True)  # for the staff view
    # The unit it is sent for: its staff see it among the failed messages and may send it again.
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id", ondelete="SET NULL"),
                                               index=True)
    # Times staff sent it again after it failed: each round goes to the provider under its own
    # id (providers.Outgoing.key), so that a provider's duplicate check does not swallow it.
    resends: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]  # from the provider's delivery receipt

    attempt_log = relationship("MessageAttempt", order_by="MessageAttempt.number",
                               back_populates="message", cascade="all, delete-orphan")


class MessageAttempt(db.Model):
    """One call of a provider for a message: started before the call, finished after it (a row
    without `finished_at` is a call whose sender stopped)."""

    __tablename__ = "message_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    provider: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(10))  # sent, retry, failed, unknown
    provider_id: Mapped[str | None] = mapped_column(String(80))
    error: Mapped[str | None] = mapped_column(String(300))

    message = relationship("OutboundMessage", back_populates="attempt_log")


__all__ = ["MessageAttempt", "OutboundMessage", "STATUSES"]
