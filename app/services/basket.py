"""The basket: a short list of item ids that the route keeps in the session (never touched here).

A request is per hub, so the basket is shown grouped by hub, each group sent on its own.
"""
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import Hub, Item

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
    items: list[Item]

    @property
    def item_ids(self) -> list[int]:
        return [i.id for i in self.items]


def groups(basket: list[int] | None) -> list[HubGroup]:
    """The listed items of the basket grouped by hub, in the order they were added."""
    ids = list(basket or [])
    if not ids:
        return []
    found = {i.id: i for i in db.session.scalars(
        select(Item).where(Item.id.in_(ids), Item.is_listed.is_(True)))}
    by_hub: dict[int, HubGroup] = {}
    for item in (found[i] for i in ids if i in found):
        by_hub.setdefault(item.hub_id, HubGroup(item.hub, [])).items.append(item)
    return list(by_hub.values())


def group_for(basket: list[int] | None, hub_id: int) -> HubGroup | None:
    return next((g for g in groups(basket) if g.hub.id == hub_id), None)
