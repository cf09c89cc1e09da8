"""Messages that did not arrive, for the staff of their unit: the list and "send it again".

A staff member (volunteer or organizer) sees the failed and unknown messages of the units where
they hold a role and every unit below (an admin: all, also those sent for no unit). Sending again
puts a failed or unknown message back in the queue as a new round (sender: the provider gets a
new id for it); a message that is queued, on its way, sent or delivered is left alone, so a
second click — or a page left open — never makes a second message.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from ...database import write_transaction
from ...extensions import db
from ...models import ItemRequest, OutboundMessage, User
from ...models.base import utcnow
from .outbox import STATUS_LABELS
from .templates import render

TROUBLED = ("failed", "unknown")


@dataclass(frozen=True)
class Troubled:
    id: int
    text: str
    status_label: str
    reason: str | None
    attempts: int
    at: datetime
    request_id: int | None
    request_code: str | None


def _visible(viewer: User):
    """The WHERE clause of the messages `viewer` may see."""
    hub_ids = viewer.hub_ids_for("volunteer", "organizer")
    return True if hub_ids is None else OutboundMessage.hub_id.in_(hub_ids or {-1})


def troubled(viewer: User, language: str, limit: int = 200) -> list[Troubled]:
    """The failed and unknown messages of the viewer's units, newest first."""
    rows = db.session.execute(
        select(OutboundMessage, ItemRequest.code)
        .outerjoin(ItemRequest, ItemRequest.id == OutboundMessage.request_id)
        .where(OutboundMessage.status.in_(TROUBLED), _visible(viewer))
        .order_by(OutboundMessage.id.desc()).limit(limit)).all()
    return [Troubled(m.id, render(m.template, m.params, language), str(STATUS_LABELS[m.status]),
                     m.last_error, m.attempts, m.created_at, m.request_id, code)
            for m, code in rows]


def resend(actor_id: int, message_id: int) -> bool:
    """Queue a failed or unknown message again: True, or False when it was not failed or unknown
    any more (sent again already, sent, delivered). LookupError when the actor may not see it."""
    with write_transaction() as session:
        actor = session.get(User, actor_id)
        visible = session.scalar(select(OutboundMessage.id).where(
            OutboundMessage.id == message_id, _visible(actor))) if actor else None
        if visible is None:
            raise LookupError(message_id)
        moved = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id, OutboundMessage.status.in_(TROUBLED))
            .values(status="queued", next_attempt_at=utcnow(), attempts=0, claimed_at=None,
                    resends=OutboundMessage.resends + 1)
            .execution_options(synchronize_session=False)).rowcount
        return moved == 1
