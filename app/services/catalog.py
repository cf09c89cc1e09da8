"""The catalog: categories, search with diacritic folding, filters, pagination."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from ..extensions import db
from ..models import Hub, Item
from .text import fold

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


def hubs() -> list[Hub]:
    return list(db.session.scalars(select(Hub).order_by(Hub.name)))
