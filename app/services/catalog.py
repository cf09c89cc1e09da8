"""The catalog: categories, search with diacritic folding, filters, pagination, listing items."""
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from ..database import write_transaction
from ..extensions import db
from ..models import Hub, Item, ItemPhoto, User
from . import images
from .requests import acts_for_hub
from .text import clean_block, clean_line, fold

CATEGORIES = {
    "quan-ao": _l("Quần áo"),
    "sach-vo": _l("Sách vở"),
    "mu-non": _l("Mũ nón"),
    "giay-dep": _l("Giày dép"),
    "do-dung-hoc-tap": _l("Đồ dùng học tập"),
    "ba-lo-cap": _l("Ba lô, cặp sách"),
    "khac": _l("Khác"),
}
CONDITIONS = {
    "new": _l("Mới"),
    "like_new": _l("Như mới"),
    "good": _l("Còn tốt"),
    "used": _l("Đã qua sử dụng"),
}
# Vietnamese category names folded, so "do dung hoc tap" also matches the category itself.
_CATEGORY_WORDS = {
    "quan-ao": "Quần áo", "sach-vo": "Sách vở", "mu-non": "Mũ nón", "giay-dep": "Giày dép",
    "do-dung-hoc-tap": "Đồ dùng học tập", "ba-lo-cap": "Ba lô cặp sách", "khac": "Khác",
}


def search_text_for(title: str, category: str, size: str, description: str) -> str:
    """The folded text an item is found by; leading space so every word can be matched by prefix."""
    return " " + fold(" ".join([title, _CATEGORY_WORDS.get(category, ""), size, description]))


@dataclass(frozen=True)
class CatalogQuery:
    q: str = ""
    category: str = ""
    size: str = ""
    hub_id: int | None = None
    available_only: bool = False
    page: int = 1


def _filters(cq: CatalogQuery) -> list:
    """The conditions of a query, besides "listed"."""
    conditions = []
    for word in fold(cq.q).split()[:8]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Item.search_text.like(f"% {escaped}%", escape="\\"))
    if cq.category in CATEGORIES:
        conditions.append(Item.category == cq.category)
    if cq.size:
        conditions.append(Item.size == cq.size)
    if cq.hub_id:
        conditions.append(Item.hub_id == cq.hub_id)
    if cq.available_only:
        conditions.append(Item.in_stock.is_(True))
    return conditions


def build_query(cq: CatalogQuery) -> Select:
    # A card shows its hub's name: not the hub's delivery wards (a second query per page).
    stmt = select(Item).where(Item.is_listed.is_(True), *_filters(cq)) \
        .options(joinedload(Item.hub).lazyload(Hub.delivery_wards))
    # In stock first, newest first: the order of the ix_items_* indexes, read backwards.
    return stmt.order_by(Item.in_stock.desc(), Item.created_at.desc(), Item.id.desc())


def count(cq: CatalogQuery) -> int:
    """How many listed items match. A word search has to test every item's text: written as
    "IS NOT false", the listed condition keeps SQLite from walking an index on is_listed and looking
    each row up one by one (measured 4× slower than reading the table once, on 50,000 items)."""
    filters = _filters(cq)
    listed = Item.is_listed.is_not(False) if fold(cq.q) else Item.is_listed.is_(True)
    return db.session.scalar(select(func.count()).select_from(Item).where(listed, *filters))


def search(cq: CatalogQuery, per_page: int):
    """A page of results; its total is counted by count()."""
    results = db.paginate(build_query(cq), page=max(cq.page, 1), per_page=per_page,
                          error_out=False, count=False)
    results.total = count(cq)
    return results


def sizes() -> list[str]:
    """The sizes of listed items, in order, by a loose index scan of ix_items_size: one index seek
    per distinct size ("the smallest size above the last one") instead of reading every item."""
    listed = Item.is_listed.is_(True)
    found = select(func.min(Item.size).label("size")).where(listed, Item.size > "") \
        .cte("sizes", recursive=True)
    following = select(func.min(Item.size)).where(listed, Item.size > found.c.size)
    found = found.union_all(
        select(following.scalar_subquery()).where(found.c.size.is_not(None)))
    return list(db.session.scalars(select(found.c.size).where(found.c.size.is_not(None))))


def hub_names() -> list:
    """(id, name) rows of every hub (unit holding stock) by name: the catalog's hub filter,
    without loading hubs."""
    return list(db.session.execute(select(Hub.id, Hub.name).where(Hub.holds_stock.is_(True))
                                   .order_by(Hub.name)))


def hubs(ids: Iterable[int] | None = None, stock_only: bool = False) -> list[Hub]:
    """All units by name, or only those with the given ids; `stock_only`: only the hubs, the
    units that hold stock (where a student asks, a donor gives, a volunteer lists items)."""
    stmt = select(Hub).order_by(Hub.name)
    if ids is not None:
        stmt = stmt.where(Hub.id.in_(list(ids)))
    if stock_only:
        stmt = stmt.where(Hub.holds_stock.is_(True))
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------- listing a donated item

MAX_PHOTOS = 4
MAX_QUANTITY = 500


class CatalogError(ValueError):
    """An item that cannot be listed; `field` names the form field the message belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ItemFields:
    title: str
    category: str
    size: str = ""
    condition: str = "good"
    quantity: int = 1
    description: str = ""


def checked_fields(f: ItemFields) -> ItemFields:
    """Cleaned fields; raises CatalogError naming the bad field."""
    title = clean_line(f.title, 160)
    if not title:
        raise CatalogError(_l("Vui lòng nhập tên món đồ."), "title")
    if f.category not in CATEGORIES:
        raise CatalogError(_l("Vui lòng chọn danh mục."), "category")
    if f.condition not in CONDITIONS:
        raise CatalogError(_l("Vui lòng chọn tình trạng."), "condition")
    if not 1 <= f.quantity <= MAX_QUANTITY:
        raise CatalogError(_l("Số lượng từ 1 đến %(n)s.", n=MAX_QUANTITY), "quantity")
    description = clean_block(f.description, 4000)
    return ItemFields(title, f.category, clean_line(f.size, 32), f.condition, f.quantity,
                      description)


def add_item(session, hub_id: int, f: ItemFields, photos: Iterable[images.SavedImage] = ()) -> Item:
    """Helper inside a unit of work (flushes only): the item, its search text and its photos."""
    item = Item(
        hub_id=hub_id, title=f.title, category=f.category, size=f.size, condition=f.condition,
        quantity=f.quantity, available=f.quantity, description=f.description,
        search_text=search_text_for(f.title, f.category, f.size, f.description),
        photos=[ItemPhoto(stem=p.stem, width=p.width, height=p.height, position=i)
                for i, p in enumerate(photos)],
    )
    session.add(item)
    session.flush()
    return item


def create_item(hub_id: int, actor_id: int, fields: ItemFields, photos=()) -> Item:
    """Use-case: a volunteer or organizer of the hub lists a donated item with up to MAX_PHOTOS
    photos (FileStorage or bytes). Raises CatalogError or images.ImageError; nothing is kept on
    error."""
    fields = checked_fields(fields)
    photos = list(photos)
    if len(photos) > MAX_PHOTOS:
        raise CatalogError(_l("Tối đa %(n)s ảnh cho một món.", n=MAX_PHOTOS), "photos")
    actor = db.session.get(User, actor_id)
    hub = db.session.get(Hub, hub_id)
    if actor is None or hub is None or not hub.holds_stock or not acts_for_hub(actor, hub_id):
        raise CatalogError(_l("Bạn không thể đăng đồ cho điểm phát này."), "hub_id")
    saved: list[images.SavedImage] = []
    try:
        for photo in photos:
            saved.append(images.save_image(photo))
        with write_transaction() as session:
            item = add_item(session, hub_id, fields, saved)
    except BaseException:
        images.delete_images(s.stem for s in saved)
        raise
    return item
