"""Decree 13/2023: phones and street addresses are erased once they are no longer needed.

A request's are erased `Hub.retention_days` after it was delivered or closed (cancelled/rejected),
a donation's after it was closed or cancelled. A waitlist entry that stopped waiting is erased once
it is older than the period: it stopped waiting after it was created, so this never keeps data
longer than the rule (its copy is unused by then). Ward and province stay, so the statistics by
ward do not change. The phone of a request's messages (the outbox) is erased with the request's,
once they are no longer waiting to be sent. Idempotent: a second run finds nothing left to erase.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, or_, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import (
    Donation,
    Hub,
    Item,
    ItemRequest,
    OneTimeCode,
    OutboundMessage,
    RequestEvent,
    WaitlistEntry,
)
from ..models.base import utcnow
from ..models.request import CLOSED_STATUSES
from .phone_codes import TEMPLATE as _CODE_TEMPLATES


@dataclass(frozen=True)
class PurgeResult:
    requests: int
    waitlist: int
    donations: int
    dry_run: bool


def _has_data(model):
    return or_(model.phone.is_not(None), model.street.is_not(None))


def _requests(hub_id: int, cutoff: datetime) -> Select:
    closed = (select(RequestEvent.request_id, func.max(RequestEvent.created_at).label("at"))
              .where(RequestEvent.status.in_(CLOSED_STATUSES))
              .group_by(RequestEvent.request_id).subquery())
    return (select(ItemRequest.id).join(closed, closed.c.request_id == ItemRequest.id)
            .where(ItemRequest.hub_id == hub_id, ItemRequest.status.in_(CLOSED_STATUSES),
                   closed.c.at < cutoff, _has_data(ItemRequest)))


def _waitlist(hub_id: int, cutoff: datetime) -> Select:
    return (select(WaitlistEntry.id).join(Item, Item.id == WaitlistEntry.item_id)
            .where(Item.hub_id == hub_id, WaitlistEntry.status != "waiting",
                   WaitlistEntry.created_at < cutoff, _has_data(WaitlistEntry)))


def _donations(hub_id: int, cutoff: datetime) -> Select:
    return (select(Donation.id)
            .where(Donation.hub_id == hub_id, Donation.status.in_(("closed", "cancelled")),
                   Donation.closed_at < cutoff, _has_data(Donation)))


CODE_TEMPLATES = tuple(_CODE_TEMPLATES.values())
TARGETS = ((ItemRequest, _requests), (WaitlistEntry, _waitlist), (Donation, _donations))


def _erase(session, now: datetime, count_only: bool) -> list[int]:
    counts = [0] * len(TARGETS)
    for hub_id, days in session.execute(select(Hub.id, Hub.retention_days)).all():
        cutoff = now - timedelta(days=days)
        for k, (model, ids) in enumerate(TARGETS):
            if count_only:
                counts[k] += session.scalar(
                    select(func.count()).select_from(ids(hub_id, cutoff).subquery()))
            else:
                counts[k] += session.execute(
                    update(model).where(model.id.in_(ids(hub_id, cutoff)))
                    .values(phone=None, street=None)
                    .execution_options(synchronize_session=False)).rowcount
    if not count_only:  # the phone a request's messages went to goes with the request's
        erased = select(ItemRequest.id).where(ItemRequest.status.in_(CLOSED_STATUSES),
                                              ItemRequest.phone.is_(None))
        session.execute(update(OutboundMessage).where(
            OutboundMessage.request_id.in_(erased), OutboundMessage.phone != "",
            OutboundMessage.status.in_(("sent", "delivered", "failed", "unknown"))).values(phone="")
            .execution_options(synchronize_session=False))
        # one-time codes a day after they ended, with what a registration waiting for its
        # code had typed (services/phone_codes.py)
        session.execute(delete(OneTimeCode).where(OneTimeCode.expires_at < now - timedelta(days=1)))
        session.execute(update(OutboundMessage).where(  # the code an SMS carried and its phone
            OutboundMessage.template.in_(CODE_TEMPLATES),
            OutboundMessage.status.in_(("sent", "failed", "unknown")),
            OutboundMessage.created_at < now - timedelta(days=1)).values(params={}, phone="")
            .execution_options(synchronize_session=False))
    return counts


def purge(dry_run: bool = False, now: datetime | None = None) -> PurgeResult:
    """Erase (or with `dry_run` only count) what each hub's retention period no longer allows."""
    now = now or utcnow()
    if dry_run:
        return PurgeResult(*_erase(db.session, now, count_only=True), dry_run=True)
    with write_transaction() as session:
        counts = _erase(session, now, count_only=False)
    return PurgeResult(*counts, dry_run=False)
