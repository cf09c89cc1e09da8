"""The catalog: categories, search with diacritic folding, filters, pagination, listing items."""
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from ..database import write_transaction
from ..extensions import db
from ..models import Hub, Item, ItemPhoto, User
from . import images
from .text import clean_line, fold

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


def build_query(cq: CatalogQuery) -> Select:
    stmt = select(Item).where(Item.is_listed.is_(True))
    for word in fold(cq.q).split()[:8]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Item.search_text.like(f"% {escaped}%", escape="\\"))
    if cq.category in CATEGORIES:
        stmt = stmt.where(Item.category == cq.category)
    if cq.size:
        stmt = stmt.where(Item.size == cq.size)
    if cq.hub_id:
        stmt = stmt.where(Item.hub_id == cq.hub_id)
    if cq.available_only:
        stmt = stmt.where(Item.available > 0)
    return stmt.order_by((Item.available > 0).desc(), Item.created_at.desc(), Item.id.desc())


def search(cq: CatalogQuery, per_page: int):
    return db.paginate(build_query(cq), page=max(cq.page, 1), per_page=per_page, error_out=False)


def sizes() -> list[str]:
    return list(db.session.scalars(
        select(Item.size).where(Item.is_listed.is_(True), Item.size != "").distinct()
        .order_by(Item.size)))


def hubs(ids: Iterable[int] | None = None) -> list[Hub]:
    """All hubs by name, or only those with the given ids."""
    stmt = select(Hub).order_by(Hub.name)
    if ids is not None:
        stmt = stmt.where(Hub.id.in_(list(ids)))
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
    description = (f.description or "").replace("\x00", "").strip()[:4000]
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
    """Use-case: a volunteer of the hub lists a donated item with up to MAX_PHOTOS photos
    (FileStorage or bytes). Raises CatalogError or images.ImageError; nothing is kept on error."""
    fields = checked_fields(fields)
    photos = list(photos)
    if len(photos) > MAX_PHOTOS:
        raise CatalogError(_l("Tối đa %(n)s ảnh cho một món.", n=MAX_PHOTOS), "photos")
    actor = db.session.get(User, actor_id)
    if actor is None or not actor.has_role("volunteer", hub_id) or not db.session.get(Hub, hub_id):
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
