"""The catalog: categories, search with diacritic folding, filters, pagination, listing items."""
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from ..database import write_transaction
from ..extensions import db
from ..models import Hub, Item, ItemPhoto, User
from . import fulltext, images
from .errors import ServiceError
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
    """The folded text an item is found by: title, category, size and description."""
    return " " + fold(" ".join([title, _CATEGORY_WORDS.get(category, ""), size, description]))


def search_fields(title: str, category: str, size: str, description: str) -> dict:
    """An item's two folded columns, which the full-text index follows (models/search.py): the
    title with the size (what a card shows: "giay 38" finds size-38 shoes first), and the whole
    text."""
    return {"search_title": fold(f"{title} {size}"),
            "search_text": search_text_for(title, category, size, description)}


@dataclass(frozen=True)
class CatalogQuery:
    q: str = ""
    category: str = ""
    size: str = ""
    hub_id: int | None = None  # the hub filter of the catalog of every hub
    available_only: bool = False
    page: int = 1
    within_hub: int | None = None  # a hub's own page: only its items, no hub facet


@dataclass(frozen=True)
class Facets:
    """How many listed items the current search would list with each value of each filter,
    the other filters kept: "Giày dép (124)"."""
    categories: dict[str, int]
    sizes: dict[str, int]
    hubs: dict[int, int]


@dataclass
class Results:
    """A page of the catalog, with what the filters and the pagination need."""
    items: list  # rows of cards()
    total: int
    facets: Facets
    page: int
    per_page: int
    # Nothing found as typed, something with these words (one typo corrected): SQLite offers
    # them ("Có phải bạn tìm …?"); PostgreSQL lists their items (`approximate`).
    suggestion: str | None = None
    approximate: bool = False

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _scope(cq: CatalogQuery) -> list:
    """What the facet counts are taken within: listed, in stock if asked, the hub's page."""
    conditions = [Item.is_listed == True]  # noqa: E712 (= true: SQLite then seeks its indexes)
    if cq.available_only:
        conditions.append(Item.in_stock == True)  # noqa: E712
    if cq.within_hub:
        conditions.append(Item.hub_id == cq.within_hub)
    return conditions


def _filters(cq: CatalogQuery) -> list:
    """The conditions of a page: the scope and the facets' filters."""
    conditions = _scope(cq)
    if cq.category in CATEGORIES:
        conditions.append(Item.category == cq.category)
    if cq.size:
        conditions.append(Item.size == cq.size)
    if cq.hub_id and not cq.within_hub:
        conditions.append(Item.hub_id == cq.hub_id)
    return conditions


def _facets(rows, cq: CatalogQuery) -> tuple[int, Facets]:
    """(total, facets) from the (hub, category, size, count) groups of the matches in scope:
    a facet's counts keep the other filters and leave its own out."""
    category = cq.category if cq.category in CATEGORIES else ""
    hub = None if cq.within_hub else cq.hub_id
    cats: Counter = Counter()
    by_size: Counter = Counter()
    by_hub: Counter = Counter()
    total = 0
    for hub_id, cat, size, n in rows:
        c, s, h = (not category or cat == category, not cq.size or size == cq.size,
                   not hub or hub_id == hub)
        if s and h:
            cats[cat] += n
        if c and h:
            by_size[size] += n
        if c and s:
            by_hub[hub_id] += n
        if c and s and h:
            total += n
    return total, Facets(dict(cats), dict(by_size), dict(by_hub))


_GROUP = (Item.hub_id, Item.category, Item.size)


def _groups(stmt: Select) -> list[tuple]:
    return [tuple(r) for r in db.session.execute(stmt.group_by(*_GROUP))]


def store_groups(available_only: bool = False, within_hub: int | None = None) -> list[tuple]:
    """(hub, category, size, count) of the listed items, in the order of the covering index
    ix_items_facets (no sort): every filter's counts without words."""
    cq = CatalogQuery(available_only=available_only, within_hub=within_hub)
    return _groups(select(*_GROUP, func.count()).where(*_scope(cq)))


def cards() -> Select:
    """What a card of the catalog shows, as plain rows (no ORM objects: a third of a search
    page's time went to building 24 items, their hubs and photos): the item's id, title, size,
    condition and available units, its hub's name and its first photo's stem."""
    cover = select(ItemPhoto.stem).where(ItemPhoto.item_id == Item.id) \
        .order_by(ItemPhoto.position, ItemPhoto.id).limit(1).scalar_subquery()
    return select(Item.id, Item.title, Item.size, Item.condition, Item.available,
                  Hub.name.label("hub_name"), cover.label("cover_stem")) \
        .join(Hub, Hub.id == Item.hub_id)


def _load(ids: list[int]) -> list:
    if not ids:
        return []
    found = {row.id: row for row in db.session.execute(cards().where(Item.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def build_query(cq: CatalogQuery) -> Select:
    """The catalog's cards without words: in stock first, newest first — the order of the
    ix_items_* indexes, read backwards, so a page reads its 24 index entries."""
    return cards().where(*_filters(cq)) \
        .order_by(Item.in_stock.desc(), Item.created_at.desc(), Item.id.desc())


def _computed(_key, compute):
    return compute()


def search(cq: CatalogQuery, per_page: int, remember=_computed) -> Results:
    """A page of the catalog with its total and facet counts, from indexes.

    Without words: the page is read in the indexes' order (build_query); the total and every
    facet come from store_groups(), through `remember(key, compute)` — the route passes
    pagecache.remembered: whole-store counts shared by every visitor, up to
    CATALOG_CACHE_SECONDS old, like the list of sizes. With words: one GROUP BY over the matches
    of the full-text index gives the total and every facet, exact; the page is read tier by
    tier (services/fulltext). A search that finds nothing tries its words with one typo
    corrected (fulltext.corrected)."""
    page = max(cq.page, 1)
    offset = (page - 1) * per_page
    ws = fulltext.words(cq.q)
    if not ws:
        key = ("catalog groups", cq.available_only, cq.within_hub)
        total, facets = _facets(remember(key, lambda: store_groups(cq.available_only,
                                                                   cq.within_hub)), cq)
        items = list(db.session.execute(build_query(cq).limit(per_page).offset(offset))) \
            if total > offset else []
        return Results(items, total, facets, page, per_page)
    found = fulltext.Search(db.session, ws)
    results = Results([], *_matched(found, cq), page=page, per_page=per_page)
    if results.total == 0:
        better = fulltext.corrected(db.session, ws)
        if better:
            found = fulltext.Search(db.session, better)
            total, facets = _matched(found, cq)
            if total and not found.sqlite:  # PostgreSQL lists what the corrected words find
                results = Results([], total, facets, page, per_page, approximate=True)
            results.suggestion = " ".join(better) if total else None
    if results.total > offset:
        results.items = _load(found.page_ids(_filters(cq), per_page, offset, results.total))
    return results


def _matched(found: fulltext.Search, cq: CatalogQuery) -> tuple[int, Facets]:
    return _facets(_groups(found.select(*_GROUP, func.count()).where(*_scope(cq))), cq)


def count(cq: CatalogQuery) -> int:
    """How many listed items the catalog lists for `cq` (the total of search())."""
    ws = fulltext.words(cq.q)
    stmt = fulltext.Search(db.session, ws).select(*_GROUP, func.count()) if ws else \
        select(*_GROUP, func.count())
    return _facets(_groups(stmt.where(*_scope(cq))), cq)[0]


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


class CatalogError(ServiceError):
    """An item that cannot be listed; `field` names the form field the message belongs to."""


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
        **search_fields(f.title, f.category, f.size, f.description),
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
