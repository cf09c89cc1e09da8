"""Writing a message into the outbox, inside the caller's transaction.

The row is part of the use-case's unit of work: if the use-case rolls back, the message was never
asked for; if it commits, the message will be sent. The idempotency key is UNIQUE: enqueueing the
same key again (a retried use-case, a double submit) is a no-op, never a second message.
"""
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...models import OutboundMessage
from ...models.base import utcnow
from .templates import TEMPLATES

LANGUAGES = ("vi", "en")


def enqueue(session: Session, phone: str, key: str, params: dict, lang: str | None,
            idem_key: str, request_id: int | None = None) -> OutboundMessage:
    """Queue message `key` with `params` to `phone` (E.164) in language `lang`; the row with
    `idem_key` (the new one, or the one queued before under that key)."""
    if key not in TEMPLATES:
        raise KeyError(key)
    values = dict(phone=phone, template=key, params={k: str(v) for k, v in params.items()},
                  language=lang if lang in LANGUAGES else "vi", idempotency_key=idem_key,
                  request_id=request_id, status="queued", attempts=0, next_attempt_at=utcnow(),
                  created_at=utcnow())
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(OutboundMessage).values(**values)
                    .on_conflict_do_nothing(index_elements=["idempotency_key"]))
    return session.scalar(select(OutboundMessage)
                          .where(OutboundMessage.idempotency_key == idem_key))
