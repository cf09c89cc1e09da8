"""Youth start-ups: applying to sell at a hub, the organizer's review, products, their catalog.

A vendor sells only once an organizer of its hub approved it; the bank details it gives (a NAPAS
BIN from the bank list and an account number) are what its VietQR codes pay into.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import Hub, Product, ProductPhoto, User, UserRole, Vendor
from ..models.base import utcnow
from . import fulltext, images, messages, vietqr
from .catalog import MAX_PHOTOS
from .errors import ServiceError
from .notifications import notify
from .text import clean_block, clean_line, fold

PRODUCT_CATEGORIES = {
    "nong-san": _l("Nông sản, đặc sản"),
    "thuc-pham": _l("Thực phẩm, đồ uống"),
    "thu-cong": _l("Thủ công, mỹ nghệ"),
    "thoi-trang": _l("Thời trang, phụ kiện"),
    "gia-dung": _l("Đồ gia dụng"),
    "dich-vu": _l("Dịch vụ"),
    "khac": _l("Khác"),
}
# The Vietnamese category names, folded into a product's search text ("nong san" finds them).
_CATEGORY_WORDS = {
    "nong-san": "Nông sản đặc sản", "thuc-pham": "Thực phẩm đồ uống",
    "thu-cong": "Thủ công mỹ nghệ", "thoi-trang": "Thời trang phụ kiện", "gia-dung": "Đồ gia dụng",
    "dich-vu": "Dịch vụ", "khac": "Khác",
}
MAX_PRICE = 1_000_000_000  # đồng, per unit
MAX_STOCK = 100_000
MAX_LINKS = 5
MAX_LINK_LENGTH = 500


class VendorError(ServiceError):
    """Something that cannot be done; `field` names the form field the message belongs to."""


def dashboard_path(vendor_id: int) -> str:
    """The `vendors.dashboard` route, for notifications (services have no request to url_for)."""
    return f"/gian-hang/{vendor_id}/quan-ly"


REVIEW_PATH = "/gian-hang/duyet"  # the `vendors.review` route
MINE_PATH = "/gian-hang/cua-toi"  # the `vendors.mine` route


# ---------------------------------------------------------------- applying and the review

@dataclass(frozen=True)
class VendorFields:
    business_name: str
    bank_bin: str
    account_number: str
    account_holder: str
    story: str = ""


def checked_vendor_fields(f: VendorFields) -> VendorFields:
    """Cleaned fields; raises VendorError naming the bad field (a BIN not in the bank list, an
    account number that is not 6–19 digits, ...)."""
    name = clean_line(f.business_name, 160)
    if not name:
        raise VendorError(_l("Vui lòng nhập tên cơ sở kinh doanh."), "business_name")
    bin_ = (f.bank_bin or "").strip()
    if vietqr.bank_by_bin(bin_) is None:
        raise VendorError(_l("Vui lòng chọn ngân hàng trong danh sách (mã BIN NAPAS gồm 6 chữ "
                             "số)."), "bank_bin")
    try:
        account = vietqr.validate_account_number(f.account_number)
    except vietqr.VietQRError as exc:
        raise VendorError(exc.message, "account_number") from exc
    holder = clean_line(f.account_holder, 120)
    if not holder:
        raise VendorError(_l("Vui lòng nhập tên chủ tài khoản như trên thẻ ngân hàng."),
                          "account_holder")
    return VendorFields(name, bin_, account, holder, clean_block(f.story, 4000))


def _organizer_ids(hub_id: int) -> list[int]:
    return list(db.session.scalars(select(UserRole.user_id).where(
        UserRole.role == "organizer", UserRole.hub_id == hub_id)))


def apply(user_id: int, hub_id: int, fields: VendorFields, photo=None) -> Vendor:
    """A youth entrepreneur applies to sell at a hub (again, after a rejection). Raises VendorError
    or images.ImageError; nothing is kept on error. The hub's organizers are told."""
    fields = checked_vendor_fields(fields)
    if not hub_id or db.session.get(Hub, hub_id) is None:
        raise VendorError(_l("Vui lòng chọn điểm phát."), "hub_id")
    saved = images.save_image(photo) if photo else None
    try:
        with write_transaction() as session:
            vendor = session.scalar(select(Vendor).where(Vendor.user_id == user_id,
                                                         Vendor.hub_id == hub_id))
            if vendor is not None and vendor.status != "rejected":
                raise VendorError(_l("Bạn đã đăng ký gian hàng ở điểm phát này rồi."), "hub_id")
            old_photo = vendor.photo_stem if vendor and saved else None
            if vendor is None:
                vendor = Vendor(user_id=user_id, hub_id=hub_id)
                session.add(vendor)
            vendor.business_name, vendor.story = fields.business_name, fields.story
            vendor.bank_bin, vendor.account_number = fields.bank_bin, fields.account_number
            vendor.account_holder = fields.account_holder
            vendor.status, vendor.reject_reason = "pending", None
            vendor.reviewed_by_id = vendor.reviewed_at = None
            if saved:
                vendor.photo_stem = saved.stem
            session.flush()
            for organizer_id in _organizer_ids(hub_id):
                notify(organizer_id, "vendor_applied", REVIEW_PATH, name=vendor.business_name)
    except BaseException:
        if saved:
            images.delete_images([saved.stem])
        raise
    if old_photo:
        images.delete_images([old_photo])
    return vendor


def pending_for(user: User) -> list[Vendor]:
    """Applications waiting in the hubs the user organizes (every hub for an admin)."""
    hub_ids = user.hub_ids_for("organizer")
    stmt = select(Vendor).where(Vendor.status == "pending").order_by(Vendor.created_at)
    if hub_ids is not None:
        stmt = stmt.where(Vendor.hub_id.in_(hub_ids))
    return list(db.session.scalars(stmt))


def review(actor_id: int, vendor_id: int, approve: bool, reason: str = "") -> Vendor:
    """An organizer of the vendor's hub approves (granting the hub's 'vendor' role) or rejects with
    a reason; the applicant is told. LookupError when the actor may not review it."""
    with write_transaction() as session:
        vendor = session.get(Vendor, vendor_id)
        actor = session.get(User, actor_id)
        if vendor is None or actor is None or not actor.has_role("organizer", vendor.hub_id):
            raise LookupError(vendor_id)
        if vendor.status != "pending":
            raise VendorError(_l("Đơn đăng ký này đã được xử lý."))
        reason = clean_line(reason, 255)
        if not approve and not reason:
            raise VendorError(_l("Vui lòng ghi lý do từ chối."), "reason")
        vendor.status = "approved" if approve else "rejected"
        vendor.reject_reason = None if approve else reason
        vendor.reviewed_by_id, vendor.reviewed_at = actor_id, utcnow()
        if approve:
            if not session.scalar(select(UserRole.id).where(
                    UserRole.user_id == vendor.user_id, UserRole.role == "vendor",
                    UserRole.hub_id == vendor.hub_id)):
                session.add(UserRole(user_id=vendor.user_id, role="vendor", hub_id=vendor.hub_id))
            notify(vendor.user_id, "vendor_approved", dashboard_path(vendor.id),
                   name=vendor.business_name)
        else:
            notify(vendor.user_id, "vendor_rejected", MINE_PATH, name=vendor.business_name,
                   reason=reason)
        applicant = vendor.user
        messages.enqueue(session, applicant.phone,
                         "vendor_approved" if approve else "vendor_rejected",
                         {"hub": vendor.hub.name, "name": vendor.business_name, "reason": reason},
                         applicant.locale,
                         f"vendor:{vendor.id}:reviewed:{vendor.reviewed_at.isoformat()}",
                         hub_id=vendor.hub_id)
    return vendor


def vendors_of(user_id: int) -> list[Vendor]:
    return list(db.session.scalars(select(Vendor).where(Vendor.user_id == user_id)
                                   .order_by(Vendor.id)))


def owned_vendor(user_id: int, vendor_id: int) -> Vendor | None:
    """The user's own approved vendor, else None (callers answer 404)."""
    vendor = db.session.get(Vendor, vendor_id)
    return vendor if vendor and vendor.user_id == user_id and vendor.is_approved else None


def public_vendor(vendor_id: int) -> Vendor | None:
    vendor = db.session.get(Vendor, vendor_id)
    return vendor if vendor and vendor.is_approved else None


# ---------------------------------------------------------------- products

@dataclass(frozen=True)
class ProductFields:
    name: str
    category: str
    price: int | None
    stock: int | None
    description: str = ""
    links: tuple[str, ...] = ()


def checked_link(url: str) -> str:
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme.lower() not in ("http", "https") or "." not in host \
            or len(url) > MAX_LINK_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise VendorError(_l("Liên kết “%(url)s” không hợp lệ: cần một địa chỉ web đầy đủ bắt đầu "
                             "bằng http:// hoặc https://.", url=url[:80]), "links")
    return url


def link_host(url: str) -> str:
    """"https://www.shopee.vn/abc" → "shopee.vn", to name a link on the product page."""
    return (urlsplit(url).hostname or url).removeprefix("www.")


def checked_product_fields(f: ProductFields) -> ProductFields:
    name = clean_line(f.name, 160)
    if not name:
        raise VendorError(_l("Vui lòng nhập tên sản phẩm."), "name")
    if f.category not in PRODUCT_CATEGORIES:
        raise VendorError(_l("Vui lòng chọn danh mục."), "category")
    if type(f.price) is not int or not 0 < f.price <= MAX_PRICE:
        raise VendorError(_l("Giá bán là số nguyên đồng lớn hơn 0, tối đa 1.000.000.000 ₫."),
                          "price")
    if type(f.stock) is not int or not 0 <= f.stock <= MAX_STOCK:
        raise VendorError(_l("Số lượng còn trong kho từ 0 đến %(n)s.", n=MAX_STOCK), "stock")
    links = tuple(dict.fromkeys(checked_link(u) for u in f.links if u.strip()))
    if len(links) > MAX_LINKS:
        raise VendorError(_l("Tối đa %(n)s liên kết.", n=MAX_LINKS), "links")
    description = clean_block(f.description, 4000)
    return ProductFields(name, f.category, f.price, f.stock, description, links)


def search_text_for(vendor: Vendor, f: ProductFields) -> str:
    """Folded text a product is found by; leading space so every word matches by prefix."""
    return " " + fold(" ".join([f.name, _CATEGORY_WORDS.get(f.category, ""), vendor.business_name,
                                f.description]))


def owned_product(user_id: int, product_id: int) -> Product | None:
    """A product of the user's own approved vendor, else None (callers answer 404)."""
    product = db.session.get(Product, product_id)
    return product if product and owned_vendor(user_id, product.vendor_id) else None


def _saved_photos(photos) -> list[images.SavedImage]:
    photos = list(photos)
    if len(photos) > MAX_PHOTOS:
        raise VendorError(_l("Tối đa %(n)s ảnh cho một sản phẩm.", n=MAX_PHOTOS), "photos")
    saved: list[images.SavedImage] = []
    try:
        for photo in photos:
            saved.append(images.save_image(photo))
    except BaseException:
        images.delete_images(s.stem for s in saved)
        raise
    return saved


def _photo_rows(saved: Iterable[images.SavedImage]) -> list[ProductPhoto]:
    return [ProductPhoto(stem=p.stem, width=p.width, height=p.height, position=i)
            for i, p in enumerate(saved)]


def create_product(actor_id: int, vendor_id: int, fields: ProductFields, photos=()) -> Product:
    """The vendor lists a product with up to MAX_PHOTOS photos. Raises VendorError,
    images.ImageError (nothing kept) or LookupError (not the actor's vendor)."""
    fields = checked_product_fields(fields)
    vendor = owned_vendor(actor_id, vendor_id)
    if vendor is None:
        raise LookupError(vendor_id)
    saved = _saved_photos(photos)
    try:
        with write_transaction() as session:
            product = Product(
                vendor_id=vendor_id, name=fields.name, category=fields.category,
                price=fields.price, stock=fields.stock, description=fields.description,
                links=list(fields.links), search_text=search_text_for(vendor, fields),
                photos=_photo_rows(saved),
            )
            session.add(product)
    except BaseException:
        images.delete_images(s.stem for s in saved)
        raise
    return product


def update_product(actor_id: int, product_id: int, fields: ProductFields, stock_seen: int,
                   photos=()) -> Product:
    """The vendor edits a product. The stock moves by what the vendor changed (fields.stock -
    stock_seen), so units bought meanwhile are not given back; new photos replace the old ones."""
    fields = checked_product_fields(fields)
    if type(stock_seen) is not int or not 0 <= stock_seen <= MAX_STOCK:  # a tampered form
        raise VendorError(_l("Số lượng còn trong kho từ 0 đến %(n)s.", n=MAX_STOCK), "stock")
    product = owned_product(actor_id, product_id)
    if product is None:
        raise LookupError(product_id)
    saved = _saved_photos(photos)
    old_photos: list[str] = []
    try:
        with write_transaction() as session:
            product = session.get(Product, product_id)
            delta = fields.stock - stock_seen
            moved = session.execute(
                update(Product).where(Product.id == product_id, Product.stock + delta >= 0)
                .values(stock=Product.stock + delta).execution_options(synchronize_session=False))
            if moved.rowcount != 1:
                raise VendorError(_l("Vừa có đơn đặt mua nên trong kho còn ít hơn số bạn định bớt. "
                                     "Hãy tải lại trang và kiểm tra số lượng."), "stock")
            product.name, product.category = fields.name, fields.category
            product.price, product.description = fields.price, fields.description
            product.links = list(fields.links)
            product.search_text = search_text_for(product.vendor, fields)
            if saved:
                old_photos = [p.stem for p in product.photos]
                product.photos = _photo_rows(saved)
    except BaseException:
        images.delete_images(s.stem for s in saved)
        raise
    images.delete_images(old_photos)
    return product


def set_listed(actor_id: int, product_id: int, listed: bool) -> Product:
    """Hide a product from the shop (or show it again); orders keep pointing at it."""
    with write_transaction():
        product = owned_product(actor_id, product_id)
        if product is None:
            raise LookupError(product_id)
        product.is_listed = listed
    return product


def products_of(vendor_id: int, listed_only: bool = False) -> list[Product]:
    stmt = select(Product).where(Product.vendor_id == vendor_id)
    if listed_only:
        stmt = stmt.where(Product.is_listed.is_(True))
    return list(db.session.scalars(stmt.order_by(Product.name, Product.id)))


# ---------------------------------------------------------------- the start-up catalog

@dataclass(frozen=True)
class ProductQuery:
    q: str = ""
    category: str = ""
    hub_id: int | None = None
    vendor_id: int | None = None
    available_only: bool = False
    page: int = 1


def build_query(pq: ProductQuery) -> Select:
    """Listed products of approved vendors; every folded word of `q` must start a word of the
    product's search text, found by its full-text index (services/fulltext.product_ids)."""
    stmt = select(Product).join(Vendor, Product.vendor_id == Vendor.id).where(
        Product.is_listed.is_(True), Vendor.status == "approved")
    ws = fulltext.words(pq.q)
    if ws:
        stmt = stmt.where(Product.id.in_(fulltext.product_ids(db.session, ws)))
    if pq.category in PRODUCT_CATEGORIES:
        stmt = stmt.where(Product.category == pq.category)
    if pq.hub_id:
        stmt = stmt.where(Vendor.hub_id == pq.hub_id)
    if pq.vendor_id:
        stmt = stmt.where(Product.vendor_id == pq.vendor_id)
    if pq.available_only:
        stmt = stmt.where(Product.stock > 0)
    return stmt.order_by((Product.stock > 0).desc(), Product.created_at.desc(), Product.id.desc())


def search(pq: ProductQuery, per_page: int):
    return db.paginate(build_query(pq), page=max(pq.page, 1), per_page=per_page, error_out=False)


def hubs_with_vendors() -> list[Hub]:
    return list(db.session.scalars(
        select(Hub).where(Hub.id.in_(select(Vendor.hub_id).where(Vendor.status == "approved")))
        .order_by(Hub.name)))
