"""The basket: a short list of item ids that the route keeps in the session (never touched here:
the functions take the list and answer a new one).

A request is per hub, so the basket is shown grouped by hub, each group sent on its own. An item
that sold out or was unlisted while it sat in the basket never blocks the checkout: it is left
out with a message, and leaves the basket.
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Hub, Item, ItemRequest
from . import requests
from .requests import Delivery

MAX_ITEMS = 20  # keeps the session cookie small; far above any hub's weekly limit


def add(basket: list[int] | None, item_id: int) -> list[int]:
    """The basket with `item_id` at the end (once); unchanged when it is full."""
    ids = list(basket or [])
    if item_id not in ids and len(ids) < MAX_ITEMS:
        ids.append(item_id)
    return ids


def remove(basket: list[int] | None, *item_ids: int) -> list[int]:
    return [i for i in basket or [] if i not in item_ids]


@dataclass
class HubGroup:
    hub: Hub
    items: list[Item]  # listed
    unlisted: list[Item] = field(default_factory=list)  # taken out of the store since

    @property
    def item_ids(self) -> list[int]:
        return [i.id for i in self.items]


def _groups(basket: list[int] | None) -> list[HubGroup]:
    ids = list(basket or [])
    if not ids:
        return []
    found = {i.id: i for i in db.session.scalars(select(Item).where(Item.id.in_(ids)))}
    by_hub: dict[int, HubGroup] = {}
    for item in (found[i] for i in ids if i in found):
        group = by_hub.setdefault(item.hub_id, HubGroup(item.hub, []))
        (group.items if item.is_listed else group.unlisted).append(item)
    return list(by_hub.values())


def groups(basket: list[int] | None) -> list[HubGroup]:
    """The hubs with listed items in the basket, the items in the order they were added."""
    return [g for g in _groups(basket) if g.items]


def group_for(basket: list[int] | None, hub_id: int) -> HubGroup | None:
    """The basket's items of one hub, the unlisted ones too."""
    return next((g for g in _groups(basket) if g.hub.id == hub_id), None)


def unlisted(basket: list[int] | None) -> list[Item]:
    return [i for g in _groups(basket) for i in g.unlisted]


def left_out_message(item: Item):
    if not item.is_listed:
        return _l("“%(title)s” đã được gỡ khỏi gian hàng, đã bỏ khỏi giỏ.", title=item.title)
    return _l("“%(title)s” vừa hết, đã bỏ khỏi giỏ.", title=item.title)


@dataclass
class Checkout:
    request: ItemRequest | None  # None: nothing was left to ask for, nothing was recorded
    messages: list  # what was left out, and why
    basket: list[int]  # the basket afterwards


def checkout(user_id: int, hub_id: int, basket: list[int] | None, delivery: Delivery,
             idempotency_key: str | None = None) -> Checkout:
    """Send the basket's items of one hub as one request (services.requests.submit_request).
    Items sold out or unlisted since they were put in the basket are left out, named, and leave
    the basket; when none is left, nothing is recorded and the answer says so. Raises
    RequestError for everything else (nothing changed, the basket kept)."""
    group = group_for(basket, hub_id)
    ids = [i.id for i in group.items + group.unlisted] if group else []
    try:
        req = requests.submit_request(user_id, hub_id, ids, delivery, idempotency_key)
    except requests.OutOfStock:
        req, kept = None, set()
    else:
        kept = {line.item_id for line in req.lines}
    gone = [i for i in (group.items + group.unlisted if group else []) if i.id not in kept]
    for item in gone:
        db.session.refresh(item)  # sold out or unlisted: as it is now
    messages = [left_out_message(i) for i in sorted(gone, key=lambda i: ids.index(i.id))]
    if req is None:
        messages.append(_l("Không còn món nào để gửi, nên chưa có yêu cầu nào được tạo."))
    return Checkout(req, messages, remove(basket, *ids))
