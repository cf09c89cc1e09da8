"""A hub's stock of donated items after it is listed (issue #11): edit an item, recount it,
unlist it and list it again, and the staff's list of the hub's items.

Who: the volunteers and organizers of the item's hub or of a unit above it, and admins
(requests.acts_for_hub). Every change goes through the ORM or through an UPDATE statement, so the
audit log (services/audit) records it with its actor.

Stock rule: `held = quantity - available` units are promised to open requests. A new quantity is
set by one conditional UPDATE that moves `available` by the same amount and only matches while
`available` stays >= 0 (its row count is checked), in the transaction of the edit; the database's
CHECK constraints (0 <= available <= quantity) hold whatever requests are submitted meanwhile.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import Item, ItemPhoto, ItemRequest, RequestLine, User, WaitlistEntry
from ..models.base import utcnow
from ..models.request import CLOSED_STATUSES
from . import fulltext, images
from .catalog import MAX_PHOTOS, CatalogError, ItemFields, checked_fields, search_fields
from .notifications import notify
from .requests import acts_for_hub, offer_freed_units
from .text import clean_line


def held(item: Item) -> int:
    """Units promised to requests that are not closed yet."""
    return item.quantity - item.available


def below_held(n: int):
    return lazy_ngettext(
        "%(num)s món đang được giữ cho các yêu cầu, số lượng không thể ít hơn %(num)s.",
        "%(num)s món đang được giữ cho các yêu cầu, số lượng không thể ít hơn %(num)s.", n)


def manageable(actor: User, item_id: int) -> Item | None:
    """The item when `actor` acts for its hub, else None (callers answer 404)."""
    item = db.session.get(Item, item_id)
    return item if item is not None and acts_for_hub(actor, item.hub_id) else None


def _locked(session, item_id: int) -> Item | None:
    """The item read afresh, its row locked until the commit (PostgreSQL; SQLite's write
    transaction already holds the database)."""
    return session.scalars(select(Item).where(Item.id == item_id).with_for_update(of=Item)
                           .execution_options(populate_existing=True)).one_or_none()


def _actor_item(session, actor_id: int, item_id: int) -> Item:
    actor = session.get(User, actor_id)
    item = _locked(session, item_id)
    if item is None or actor is None or not acts_for_hub(actor, item.hub_id):
        raise LookupError(item_id)
    return item


def _set_quantity(session, item: Item, quantity: int) -> bool:
    """The conditional UPDATE of the stock rule; False (nothing changed) when requests hold more
    than `quantity`. The item's counters are reloaded on their next use."""
    delta = quantity - Item.quantity
    moved = session.execute(
        update(Item).where(Item.id == item.id, Item.available + delta >= 0)
        .values(quantity=quantity, available=Item.available + delta)
        .execution_options(synchronize_session=False))
    session.expire(item, ["quantity", "available", "in_stock"])
    return moved.rowcount == 1


def _photo_plan(item: Item, keep: list[int] | None, new: int) -> list[ItemPhoto]:
    """The item's photos to keep, in their new order; raises CatalogError."""
    by_id = {p.id: p for p in item.photos}
    if keep is None:
        kept = list(item.photos)
    else:
        if not set(keep) <= by_id.keys():
            raise CatalogError(_l("Ảnh không thuộc món đồ này. Hãy tải lại trang."), "photos")
        kept = [by_id[i] for i in dict.fromkeys(keep)]
    if len(kept) + new > MAX_PHOTOS:
        raise CatalogError(_l("Tối đa %(n)s ảnh cho một món.", n=MAX_PHOTOS), "photos")
    return kept


def edit_item(actor_id: int, item_id: int, fields: ItemFields, keep_photos: list[int] | None = None,
              new_photos: Iterable = (), today: date | None = None) -> Item:
    """Use-case: change an item's fields, quantity and photos.

    `keep_photos`: ids of the item's photos to keep, in the order to show them (None keeps them
    all as they are); `new_photos` (FileStorage or bytes) come after them. Photos left out are
    deleted, their files after the commit. Units added go to the item's waitlist first.
    Raises LookupError (no such item for this actor), CatalogError naming the field, or
    images.ImageError; nothing is kept on error.
    """
    fields = checked_fields(fields)
    new_photos = list(new_photos)
    actor = db.session.get(User, actor_id)
    seen = manageable(actor, item_id) if actor else None
    if seen is None:
        raise LookupError(item_id)
    # Early answers before any photo is stored; the transaction below decides.
    if fields.quantity < held(seen):
        raise CatalogError(below_held(held(seen)), "quantity")
    _photo_plan(seen, keep_photos, len(new_photos))
    saved: list[images.SavedImage] = []
    removed: list[str] = []
    try:
        for photo in new_photos:
            saved.append(images.save_image(photo))
        with write_transaction() as session:
            item = _actor_item(session, actor_id, item_id)
            kept = _photo_plan(item, keep_photos, len(saved))
            added = fields.quantity - item.quantity
            if added and not _set_quantity(session, item, fields.quantity):
                raise CatalogError(below_held(held(item)), "quantity")
            item.title, item.category, item.size = fields.title, fields.category, fields.size
            item.condition, item.description = fields.condition, fields.description
            for name, value in search_fields(fields.title, fields.category, fields.size,
                                             fields.description).items():
                setattr(item, name, value)
            photos = kept + [ItemPhoto(stem=s.stem, width=s.width, height=s.height)
                             for s in saved]
            if photos != item.photos or any(p.position != i for i, p in enumerate(photos)):
                removed = [p.stem for p in item.photos if p not in kept]
                for position, photo in enumerate(photos):
                    photo.position = position
                item.photos = photos
            if session.is_modified(item) or added or removed or saved:
                item.edited_at = utcnow()
            session.flush()
            if added > 0 and item.is_listed:
                offer_freed_units(item.id, today)
    except BaseException:
        images.delete_images(s.stem for s in saved)
        raise
    images.delete_images(removed)
    return item


# ---------------------------------------------------------------- unlisting

@dataclass(frozen=True)
class Unlisting:
    """What unlisting the item does to the people who asked for it."""
    open_requests: int  # keep their units and go on as before
    waiting: int  # leave the waitlist and are told


def unlisting(item: Item) -> Unlisting:
    open_requests = db.session.scalar(
        select(func.count(func.distinct(ItemRequest.id))).select_from(RequestLine)
        .join(ItemRequest, RequestLine.request_id == ItemRequest.id)
        .where(RequestLine.item_id == item.id, ItemRequest.status.not_in(CLOSED_STATUSES))) or 0
    waiting = db.session.scalar(
        select(func.count()).select_from(WaitlistEntry)
        .where(WaitlistEntry.item_id == item.id, WaitlistEntry.status == "waiting")) or 0
    return Unlisting(open_requests, waiting)


def set_listed(actor_id: int, item_id: int, listed: bool, today: date | None = None) -> Item:
    """Use-case: take an item out of the catalog, or put it back.

    Unlisted, nobody can request it or join its waitlist (stock.take only takes units of listed
    items). Open requests keep their units and go on; a unit they give back stays in stock for
    when the item is listed again. The students on its waitlist are told and leave it ("closed").
    Listed again, its free units go to a waitlist first (there is none left after an unlisting,
    unless someone joined before it). Raises LookupError."""
    with write_transaction() as session:
        item = _actor_item(session, actor_id, item_id)
        if item.is_listed == listed:
            return item
        item.is_listed = listed
        if listed:
            session.flush()
            offer_freed_units(item.id, today)
            return item
        entries = list(session.scalars(select(WaitlistEntry).where(
            WaitlistEntry.item_id == item.id, WaitlistEntry.status == "waiting")))
        for entry in entries:
            entry.status = "closed"
            notify(entry.user_id, "waitlist_closed", title=item.title)
    return item


# ---------------------------------------------------------------- the staff's list

SHOW_CHOICES = ("all", "listed", "unlisted")


@dataclass(frozen=True)
class StaffQuery:
    hub_id: int
    q: str = ""
    show: str = "all"  # one of SHOW_CHOICES
    page: int = 1


def staff_items(sq: StaffQuery, per_page: int):
    """A page of the hub's items, listed or not, newest first; words match as in the catalog."""
    stmt = select(Item).where(Item.hub_id == sq.hub_id)
    ws = fulltext.words(clean_line(sq.q, 100))
    if ws:  # the catalog's full-text index (it holds unlisted items too)
        stmt = stmt.where(Item.id.in_(fulltext.Search(db.session, ws).select(Item.id)
                                      .where(Item.hub_id == sq.hub_id)))
    if sq.show in ("listed", "unlisted"):
        stmt = stmt.where(Item.is_listed.is_(sq.show == "listed"))
    stmt = stmt.order_by(Item.created_at.desc(), Item.id.desc())
    return db.paginate(stmt, page=max(sq.page, 1), per_page=per_page, error_out=False)
