"""Youth start-ups: applying, the organizer's review, products, the storefront and the catalog.

The small factories at the top (make_vendor, make_product) are shared by test_orders/test_payments.
"""
import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import Notification, Product, UserRole, Vendor
from app.services import vendors
from app.services.vendors import ProductFields, VendorFields
from tests import factories

HTMX = {"HX-Request": "true"}


def make_vendor(hub=None, user=None, status="approved", business_name="Mật ong rừng U Minh",
                bank_bin="970436", account="0123456789", holder="NGUYEN VAN AN") -> Vendor:
    hub = hub or factories.make_hub()
    user = user or factories.make_user(roles=("vendor",) if status == "approved" else (),
                                       hub=hub, name="Trần Văn Khởi")
    vendor = Vendor(user_id=user.id, hub_id=hub.id, business_name=business_name, story="",
                    bank_bin=bank_bin, account_number=account, account_holder=holder,
                    status=status)
    _db.session.add(vendor)
    _db.session.commit()
    return vendor


def make_product(vendor, name="Mật ong rừng 500 ml", price=150_000, stock=10,
                 category="nong-san", description="", listed=True) -> Product:
    fields = ProductFields(name, category, price, stock, description)
    product = Product(vendor_id=vendor.id, name=name, category=category, price=price, stock=stock,
                      description=description, links=[], is_listed=listed,
                      search_text=vendors.search_text_for(vendor, fields))
    _db.session.add(product)
    _db.session.commit()
    return product


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), (30, 120, 60)).save(buf, "PNG")
    return buf.getvalue()


def count(model) -> int:
    _db.session.rollback()
    return _db.session.scalar(select(func.count()).select_from(model))


def text(resp) -> str:
    return resp.get_data(as_text=True)


APPLICATION = {"business_name": "Nón lá Tân Phước", "story": "Ba thế hệ làm nón.",
               "bank_bin": "970418", "account_number": "2110 0012 3456",
               "account_holder": "LE THI NON"}


# ---------------------------------------------------------------- applying and the review

def test_apply_then_organizer_of_the_hub_approves(client, db, login_as):
    hub = factories.make_hub()
    organizer = factories.make_user(roles=("organizer",), hub=hub, name="Cán bộ Đoàn")
    applicant = login_as("student")
    resp = client.post("/gian-hang/dang-ky", data={
        **APPLICATION, "hub_id": hub.id, "photo": (io.BytesIO(png_bytes()), "me.png")},
        content_type="multipart/form-data")
    assert resp.status_code == 303, text(resp)[:2000]
    vendor = db.session.scalar(select(Vendor))
    assert (vendor.status, vendor.user_id, vendor.hub_id) == ("pending", applicant.id, hub.id)
    assert (vendor.bank_bin, vendor.account_number) == ("970418", "211000123456")
    assert vendor.photo_stem
    assert "Nón lá Tân Phước" in db.session.scalar(
        select(Notification.message).where(Notification.user_id == organizer.id))
    assert "Đang chờ duyệt" in text(client.get("/gian-hang/cua-toi"))
    assert client.get(f"/gian-hang/{vendor.id}").status_code == 404  # not selling yet

    login_as(user=organizer)
    page = text(client.get("/gian-hang/duyet"))
    assert "Nón lá Tân Phước" in page and "211000123456" in page and "BIDV" in page
    resp = client.post(f"/gian-hang/duyet/{vendor.id}", data={"decision": "approve"})
    assert resp.status_code == 303
    db.session.expire_all()
    vendor = db.session.get(Vendor, vendor.id)
    assert (vendor.status, vendor.reviewed_by_id) == ("approved", organizer.id)
    assert vendor.reviewed_at is not None
    roles = db.session.scalars(select(UserRole).where(UserRole.user_id == applicant.id)).all()
    assert {(r.role, r.hub_id) for r in roles} == {("student", None), ("vendor", hub.id)}
    assert "đã được duyệt" in db.session.scalar(
        select(Notification.message).where(Notification.user_id == applicant.id))
    assert client.get(f"/gian-hang/{vendor.id}").status_code == 200


def test_reject_needs_a_reason_and_the_applicant_reads_it(db):
    hub = factories.make_hub()
    organizer = factories.make_user(roles=("organizer",), hub=hub)
    vendor = make_vendor(hub=hub, status="pending")
    with pytest.raises(vendors.VendorError) as info:
        vendors.review(organizer.id, vendor.id, approve=False, reason="  ")
    assert info.value.field == "reason"
    assert db.session.get(Vendor, vendor.id).status == "pending"

    vendors.review(organizer.id, vendor.id, approve=False, reason="Thiếu giấy phép ATTP")
    db.session.expire_all()
    vendor = db.session.get(Vendor, vendor.id)
    assert (vendor.status, vendor.reject_reason) == ("rejected", "Thiếu giấy phép ATTP")
    message = db.session.scalar(select(Notification.message)
                                .where(Notification.user_id == vendor.user_id))
    assert "Thiếu giấy phép ATTP" in message
    assert not db.session.scalar(select(UserRole.id).where(UserRole.role == "vendor"))
    with pytest.raises(vendors.VendorError):  # decided once
        vendors.review(organizer.id, vendor.id, approve=True)


def test_reapplying_after_a_rejection_reopens_the_application(db):
    hub = factories.make_hub()
    vendor = make_vendor(hub=hub, status="rejected")
    fields = VendorFields("Mật ong U Minh Hạ", "970436", "9988776655", "TRAN VAN KHOI")
    again = vendors.apply(vendor.user_id, hub.id, fields)
    assert (again.id, again.status, again.account_number) == (vendor.id, "pending", "9988776655")
    with pytest.raises(vendors.VendorError) as info:  # pending: not twice
        vendors.apply(vendor.user_id, hub.id, fields)
    assert info.value.field == "hub_id"


def test_organizer_of_another_hub_sees_nothing_and_gets_404(client, db, login_as):
    hub, other = factories.make_hub(), factories.make_hub()
    vendor = make_vendor(hub=hub, status="pending", business_name="Cà phê Cầu Đất")
    login_as("organizer", hub=other)
    assert "Cà phê Cầu Đất" not in text(client.get("/gian-hang/duyet"))
    for vendor_id in (vendor.id, 999):
        resp = client.post(f"/gian-hang/duyet/{vendor_id}", data={"decision": "approve"})
        assert resp.status_code == 404
    assert db.session.get(Vendor, vendor.id).status == "pending"


def test_review_page_is_for_organizers_only(client, db, login_as):
    login_as("student")
    assert client.get("/gian-hang/duyet").status_code == 404


@pytest.mark.parametrize("change, field, message", [
    ({"bank_bin": "970499"}, "bank_bin", "chọn ngân hàng trong danh sách"),  # not a bank's BIN
    ({"bank_bin": "97043"}, "bank_bin", "chọn ngân hàng trong danh sách"),
    ({"bank_bin": ""}, "bank_bin", "chọn ngân hàng trong danh sách"),
    ({"account_number": "12345"}, "account_number", "từ 6 đến 19 số"),
    ({"account_number": "0123-ABC-789"}, "account_number", "từ 6 đến 19 số"),
    ({"account_number": "1" * 20}, "account_number", "từ 6 đến 19 số"),
    ({"account_holder": " "}, "account_holder", "chủ tài khoản"),
    ({"business_name": ""}, "business_name", "tên cơ sở"),
    ({"hub_id": "999"}, "hub_id", "chọn điểm phát"),
    ({"hub_id": "99999999999999999999"}, "hub_id", "chọn điểm phát"),  # beyond a database id
])
def test_bad_bank_details_are_refused_next_to_the_field(client, db, login_as, change, field,
                                                        message):
    hub = factories.make_hub()
    login_as("student")
    resp = client.post("/gian-hang/dang-ky", data={**APPLICATION, "hub_id": hub.id, **change})
    assert resp.status_code == 422
    page = text(resp)
    block = re.search(rf'<div class="field has-error">\s*<label for="{field}">.*?</div>', page,
                      re.DOTALL)
    assert block and message in block.group(0).lower(), page[:3000]
    assert count(Vendor) == 0


def test_a_broken_photo_saves_nothing(client, db, login_as):
    hub = factories.make_hub()
    login_as("student")
    resp = client.post("/gian-hang/dang-ky", data={
        **APPLICATION, "hub_id": hub.id, "photo": (io.BytesIO(b"not an image"), "x.jpg")},
        content_type="multipart/form-data")
    assert resp.status_code == 422 and "không phải ảnh" in text(resp)
    assert count(Vendor) == 0


# ---------------------------------------------------------------- products

PRODUCT = {"name": "Mật ong rừng 500 ml", "category": "nong-san", "price": "150.000",
           "stock": "12", "stock_seen": "0", "description": "Ong khai thác tự nhiên.",
           "links": "https://postmart.vn/mat-ong-u-minh\nhttps://shopee.vn/mat-ong-123\n"}


def test_vendor_lists_a_product_with_photo_and_links(client, db, login_as, app):
    vendor = make_vendor()
    login_as(user=vendor.user)
    resp = client.post(f"/gian-hang/{vendor.id}/san-pham/moi", data={
        **PRODUCT, "photos": [(io.BytesIO(png_bytes()), "a.png")]},
        content_type="multipart/form-data")
    assert resp.status_code == 303, text(resp)[:2000]
    product = db.session.scalar(select(Product))
    assert (product.price, product.stock, product.category) == (150_000, 12, "nong-san")
    assert product.links == ["https://postmart.vn/mat-ong-u-minh", "https://shopee.vn/mat-ong-123"]
    assert len(product.photos) == 1
    page = text(client.get(f"/san-pham/{product.id}"))
    assert "150.000 ₫" in page and "postmart.vn" in page and "shopee.vn" in page
    assert 'href="https://postmart.vn/mat-ong-u-minh"' in page
    assert f"/dat-hang/{vendor.id}?sp={product.id}" in page
    assert "Mật ong rừng 500 ml" in text(client.get(f"/gian-hang/{vendor.id}"))


@pytest.mark.parametrize("change, field, message", [
    ({"price": "0"}, "price", "lớn hơn 0"),
    ({"price": "-5000"}, "price", "lớn hơn 0"),
    ({"price": "năm chục"}, "price", "bằng chữ số"),
    ({"price": "1.000.000.001"}, "price", "tối đa"),
    ({"price": ""}, "price", "nhập giá"),
    ({"stock": "-1"}, "stock", "từ 0 đến"),
    ({"stock": "2.5"}, "stock", "số nguyên"),
    ({"name": ""}, "name", "tên sản phẩm"),
    ({"category": "vu-khi"}, "category", "danh mục"),
    ({"links": "javascript:alert(1)"}, "links", "không hợp lệ"),
    ({"links": "ftp://shop.vn/a"}, "links", "không hợp lệ"),
    ({"links": "shopee"}, "links", "không hợp lệ"),
    ({"links": "https://shopee"}, "links", "không hợp lệ"),
    ({"links": "\n".join(f"https://shop{i}.vn" for i in range(6))}, "links", "tối đa 5"),
])
def test_bad_product_input_is_refused_and_nothing_saved(client, db, login_as, change, field,
                                                        message):
    vendor = make_vendor()
    login_as(user=vendor.user)
    resp = client.post(f"/gian-hang/{vendor.id}/san-pham/moi", data={**PRODUCT, **change})
    assert resp.status_code == 422
    block = re.search(rf'<div class="field has-error">\s*<label for="{field}">.*?</div>',
                      text(resp), re.DOTALL)
    assert block and message in block.group(0).lower(), text(resp)[:3000]
    assert count(Product) == 0


def test_nul_characters_are_dropped_from_a_product(client, db, login_as):
    """PostgreSQL refuses NUL in text: it is dropped like other control characters."""
    vendor = make_vendor()
    login_as(user=vendor.user)
    resp = client.post(f"/gian-hang/{vendor.id}/san-pham/moi", data={
        **PRODUCT, "name": "Mật\x00 ong", "description": "Ngọt\x00 thơm"})
    assert resp.status_code == 303
    product = db.session.scalar(select(Product))
    assert (product.name, product.description) == ("Mật ong", "Ngọt thơm")


def test_editing_moves_the_stock_by_what_the_vendor_changed(client, db, login_as):
    vendor = make_vendor()
    product = make_product(vendor, stock=10)
    login_as(user=vendor.user)
    page = text(client.get(f"/gian-hang/san-pham/{product.id}/sua"))
    assert 'name="stock_seen" type="hidden" value="10"' in page
    # Two units are sold while the vendor has the form open (they had 10, now restock to 15).
    db.session.execute(Product.__table__.update().values(stock=8))
    db.session.commit()
    resp = client.post(f"/gian-hang/san-pham/{product.id}/sua", data={
        **PRODUCT, "stock": "15", "stock_seen": "10", "price": "120000"})
    assert resp.status_code == 303
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert (product.stock, product.price) == (13, 120_000)
    # Lowering below what is left is refused, nothing changes.
    resp = client.post(f"/gian-hang/san-pham/{product.id}/sua", data={
        **PRODUCT, "stock": "0", "stock_seen": "20", "price": "99000"})
    assert resp.status_code == 422 and "tải lại trang" in text(resp)
    db.session.expire_all()
    assert (db.session.get(Product, product.id).stock, product.price) == (13, 120_000)
    # A tampered count seen (beyond what a database integer holds) is refused too.
    for seen in ("99999999999999999999", "-99999999999999999999", "-1"):
        resp = client.post(f"/gian-hang/san-pham/{product.id}/sua", data={
            **PRODUCT, "stock": "5", "stock_seen": seen})
        assert resp.status_code == 422 and "từ 0 đến" in text(resp)
    db.session.expire_all()
    assert db.session.get(Product, product.id).stock == 13


def test_another_vendor_gets_404_for_everything_of_mine(client, db, login_as):
    mine = make_vendor()
    product = make_product(mine)
    other = make_vendor(business_name="Cà phê Cầu Đất")
    login_as(user=other.user)
    assert client.get(f"/gian-hang/{mine.id}/quan-ly").status_code == 404
    assert client.get(f"/gian-hang/{mine.id}/san-pham/moi").status_code == 404
    assert client.post(f"/gian-hang/{mine.id}/san-pham/moi", data=PRODUCT).status_code == 404
    assert client.get(f"/gian-hang/san-pham/{product.id}/sua").status_code == 404
    assert client.post(f"/gian-hang/san-pham/{product.id}/sua", data=PRODUCT).status_code == 404
    assert client.post(f"/gian-hang/san-pham/{product.id}/hien-thi",
                       data={"listed": "0"}).status_code == 404
    assert client.get(f"/gian-hang/{mine.id}/don-hang").status_code == 404
    assert client.get(f"/gian-hang/{mine.id}/don-hang.csv").status_code == 404
    assert db.session.get(Product, product.id).is_listed
    assert count(Product) == 1


def test_pending_vendor_cannot_list_products(client, db, login_as):
    vendor = make_vendor(status="pending")
    login_as(user=vendor.user)
    assert client.post(f"/gian-hang/{vendor.id}/san-pham/moi", data=PRODUCT).status_code == 404
    with pytest.raises(LookupError):
        vendors.create_product(vendor.user_id, vendor.id,
                               ProductFields("Nón lá", "thu-cong", 50_000, 3))


def test_hiding_a_product_takes_it_out_of_the_shop(client, db, login_as):
    vendor = make_vendor()
    product = make_product(vendor)
    login_as(user=vendor.user)
    assert client.post(f"/gian-hang/san-pham/{product.id}/hien-thi",
                       data={"listed": "0"}).status_code == 303
    assert client.get(f"/san-pham/{product.id}").status_code == 404
    assert "Mật ong" not in text(client.get("/san-pham", headers=HTMX))
    client.post(f"/gian-hang/san-pham/{product.id}/hien-thi", data={"listed": "1"})
    assert client.get(f"/san-pham/{product.id}").status_code == 200


# ---------------------------------------------------------------- the start-up catalog

def titles(resp) -> list[str]:
    return re.findall(r'<span class="title">([^<]+)</span>', text(resp))


@pytest.fixture
def market(db):
    school = factories.make_hub(name="Đoàn trường A")
    ward = factories.make_hub(name="Đoàn phường B")
    honey = make_vendor(hub=school, business_name="Hợp tác xã U Minh")
    hats = make_vendor(hub=ward, business_name="Nón lá Tân Phước")
    make_product(honey, "Mật ong rừng 500 ml", stock=4)
    make_product(honey, "Sáp ong thơm", category="gia-dung", stock=0)
    make_product(hats, "Nón lá bài thơ", category="thu-cong", price=80_000)
    make_product(hats, "Nón lá đã ẩn", category="thu-cong", listed=False)
    make_product(make_vendor(status="pending", business_name="Chưa duyệt"), "Mật ong chưa duyệt")
    return school, ward


@pytest.mark.parametrize("q, expected", [
    ("mat ong", ["Mật ong rừng 500 ml"]),
    ("MẬT", ["Mật ong rừng 500 ml"]),
    ("ong", ["Sáp ong thơm", "Mật ong rừng 500 ml"]),  # in stock first
    ("non la", ["Nón lá bài thơ"]),
    ("tan phuoc", ["Nón lá bài thơ"]),  # the vendor's name
    ("thu cong", ["Nón lá bài thơ"]),  # the category's name
    ("ung", []),  # word prefix ("rừng", "dụng"), not substring
    ("50%", ["Mật ong rừng 500 ml"]),  # "%" is neither a wildcard nor a word: "50" starts "500"
    ("ml*", ["Mật ong rừng 500 ml"]),  # nor is FTS5's "*" anything but punctuation
    ('"ong" OR "non"', []),  # nor its query syntax: OR, quotes — "or" is a word nothing has
])
def test_catalog_search_folds_diacritics(client, market, q, expected):
    resp = client.get("/san-pham", query_string={"q": q}, headers=HTMX)
    assert resp.status_code == 200
    assert sorted(titles(resp)) == sorted(expected)
    if len(expected) == 2:
        assert titles(resp)[-1] == "Sáp ong thơm"  # out of stock last


def test_catalog_filters_and_full_page(client, market):
    school, _ward = market
    assert titles(client.get("/san-pham?category=thu-cong", headers=HTMX)) == ["Nón lá bài thơ"]
    assert sorted(titles(client.get(f"/san-pham?hub={school.id}", headers=HTMX))) == [
        "Mật ong rừng 500 ml", "Sáp ong thơm"]
    assert "Sáp ong thơm" not in titles(client.get("/san-pham?available=y", headers=HTMX))
    fragment = client.get("/san-pham?q=non+la", headers=HTMX)
    assert "<html" not in text(fragment) and "HX-Request" in fragment.headers["Vary"]
    page = client.get("/san-pham?q=non+la&category=bad&hub=x")
    assert page.status_code == 200 and "<html" in text(page)
    assert "Sản phẩm khởi nghiệp" in text(page)
    assert titles(page) == ["Nón lá bài thơ"]
    assert "Chưa duyệt" not in text(client.get("/san-pham"))


@pytest.mark.parametrize("query", ["hub=99999999999999999999", "hub=-1", "hub=2147483648",
                                   "page=99999999999999999999", "page=-3", "q=m%00t",
                                   "category=%00"])
def test_hostile_catalog_filters_are_ignored(client, market, query):
    """Not a database error (ids and pages beyond what the database counts, a NUL character that
    PostgreSQL refuses)."""
    assert client.get(f"/san-pham?{query}").status_code == 200


def test_product_of_a_pending_vendor_is_not_found(client, db):
    product = make_product(make_vendor(status="pending"))
    assert client.get(f"/san-pham/{product.id}").status_code == 404
    assert client.get("/san-pham/424242").status_code == 404
