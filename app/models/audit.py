"""The audit log: who (a volunteer, organizer, vendor or admin) changed what, and when.

Written by services.audit from the session's flushes, never by hand; read by the admin page.
`details` holds the names of the changed fields and, for a few harmless ones (statuses, counts),
their values; personal data (names, phones, addresses) and secrets are never copied here.
"""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

ACTIONS = ("create", "update", "delete")


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_actor_created", "actor_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(10))  # ACTIONS
    target_type: Mapped[str] = mapped_column(String(40))  # the model's class name, e.g. "Order"
    target_id: Mapped[int | None]  # None for a change of many rows at once
    hub_id: Mapped[int | None] = mapped_column(index=True)  # no foreign key: the log outlives hubs
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # {"fields": [...], "values": {...}}
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor = relationship("User", lazy="joined")


__all__ = ["ACTIONS", "AuditEntry"]
