"""Writing a message into the outbox, inside the caller's transaction.

The row is part of the use-case's unit of work: if the use-case rolls back, the message was never
asked for; if it commits, the message will be sent. The idempotency key is UNIQUE: enqueueing the
same key again (a retried use-case, a double submit) is a no-op, never a second message.
"""
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...models import OutboundMessage
from ...models.base import utcnow
from .templates import PARAMS, TEMPLATES, render

LANGUAGES = ("vi", "en")


def enqueue(session: Session, phone: str, key: str, params: dict, lang: str | None,
            idem_key: str, request_id: int | None = None,
            hub_id: int | None = None) -> OutboundMessage:
    """Queue message `key` with `params` to `phone` (E.164) in language `lang`; the row with
    `idem_key` (the new one, or the one queued before under that key). Only the parameters the
    text takes are kept; a missing one is a KeyError. `hub_id`: the unit it is sent for, whose
    staff see it if it fails (None: admins only)."""
    if key not in TEMPLATES:
        raise KeyError(key)
    kept = {name: str(params[name]) for name in PARAMS[key]}
    values = dict(phone=phone, template=key, params=kept,
                  language=lang if lang in LANGUAGES else "vi", idempotency_key=idem_key,
                  request_id=request_id, hub_id=hub_id, status="queued", attempts=0,
                  next_attempt_at=utcnow(), created_at=utcnow())
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(OutboundMessage).values(**values)
                    .on_conflict_do_nothing(index_elements=["idempotency_key"]))
    return session.scalar(select(OutboundMessage)
                          .where(OutboundMessage.idempotency_key == idem_key))


STATUS_LABELS = {
    "queued": _l("Đang chờ gửi"), "sending": _l("Đang gửi"), "sent": _l("Đã gửi đi"),
    "delivered": _l("Đã đến máy"),
    "failed": _l("Không gửi được"), "unknown": _l("Không rõ đã gửi chưa"),
}


@dataclass(frozen=True)
class Shown:
    """A message as staff see it: its text in the reader's language, where it stands."""

    text: str
    status: str
    status_label: str
    attempts: int
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


def for_request(session: Session, request_id: int, language: str) -> list[Shown]:
    """The messages a request sent (or tries to send) to its student, oldest first."""
    rows = session.scalars(select(OutboundMessage).where(OutboundMessage.request_id == request_id)
                           .order_by(OutboundMessage.id))
    return [Shown(render(m.template, m.params, language), m.status, str(STATUS_LABELS[m.status]),
                  m.attempts, m.last_error, m.created_at, m.sent_at, m.delivered_at)
            for m in rows]
