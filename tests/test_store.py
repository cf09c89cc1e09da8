"""The store: catalog search and filters, htmx fragments, item pages, listing a new item."""
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import Item, ItemPhoto
from app.services import catalog
from tests.factories import make_hub, make_item

HTMX = {"HX-Request": "true"}


def card_titles(resp) -> list[str]:
    return re.findall(r'<span class="title">([^<]+)</span>', resp.get_data(as_text=True))


@pytest.fixture
def shelf(db):
    """Two hubs with a few typical items."""
    school = make_hub(name="Đoàn trường THPT Nguyễn Văn Tiếp", pickup_place="Phòng Đoàn, dãy B")
    ward = make_hub(name="Đoàn phường Ninh Kiều")
    make_item(school, title="Giày thể thao", category="giay-dep", size="38", quantity=2)
    make_item(school, title="Vở ô li 96 trang", category="sach-vo", size="")
    make_item(ward, title="Máy tính Casio", category="do-dung-hoc-tap", size="")
    make_item(ward, title="Áo dài trắng", category="quan-ao", size="M", available=0)
    return school, ward


def jpeg_bytes(color=(200, 60, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(buf, "JPEG")
    return buf.getvalue()


# ---------------------------------------------------------------- search and filters

@pytest.mark.parametrize("q, expected", [
    ("giay", ["Giày thể thao"]),
    ("GIÀY", ["Giày thể thao"]),
    ("vo", ["Vở ô li 96 trang"]),
    ("do dung hoc tap", ["Máy tính Casio"]),
    ("sach", ["Vở ô li 96 trang"]),
    ("áo dài", ["Áo dài trắng"]),
    ("xe dap", []),
])
def test_search_folds_diacritics(client, shelf, q, expected):
    resp = client.get("/do-tang", query_string={"q": q}, headers=HTMX)
    assert resp.status_code == 200
    assert card_titles(resp) == expected


def test_filters_by_category_size_hub_and_availability(client, shelf):
    school, ward = shelf

    def titles(**args):
        return sorted(card_titles(client.get("/do-tang", query_string=args, headers=HTMX)))

    assert titles(category="quan-ao") == ["Áo dài trắng"]
    assert titles(size="38") == ["Giày thể thao"]
    assert titles(hub=ward.id) == ["Máy tính Casio", "Áo dài trắng"]
    assert titles(hub=school.id, category="sach-vo") == ["Vở ô li 96 trang"]
    assert "Áo dài trắng" not in titles(available="y")
    assert len(titles()) == 4


def test_out_of_stock_items_come_last_and_say_so(client, shelf):
    resp = client.get("/do-tang", headers=HTMX)
    assert card_titles(resp)[-1] == "Áo dài trắng"
    html = resp.get_data(as_text=True)
    assert "Đã hết" in html and "Còn 2" in html


@pytest.mark.parametrize("qs", [
    "page=abc", "page=-3", "page=999", "page=999999999999999999999", "hub=xyz", "hub=2147483648",
    "hub=99999999999999999999", "category=bogus", "size=" + "9" * 80, "q=%25_%5C", "q=%00",
    "size=%00", "q=" + "giay+" * 100,
])
def test_odd_query_strings_never_fail(client, shelf, qs):
    assert client.get(f"/do-tang?{qs}").status_code == 200


def test_pagination_keeps_the_filters(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_PAGE_SIZE", 2)
    hub = make_hub()
    for n in range(5):
        make_item(hub, title=f"Vở số {n}", category="sach-vo", size="")
    make_item(hub, title="Giày", category="giay-dep")
    first = client.get("/do-tang?q=vo")
    html = first.get_data(as_text=True)
    assert len(card_titles(first)) == 2
    assert "Trang 1/3" in html
    next_link = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "q=vo" in next_link and "page=2" in next_link
    last = client.get("/do-tang?q=vo&page=3")
    assert len(card_titles(last)) == 1
    seen = {t for p in (1, 2, 3) for t in card_titles(client.get(f"/do-tang?q=vo&page={p}"))}
    assert seen == {f"Vở số {n}" for n in range(5)}


# ---------------------------------------------------------------- full page vs htmx fragment

def test_full_page_without_htmx(client, shelf):
    resp = client.get("/do-tang?q=giay")
    html = resp.get_data(as_text=True)
    assert html.lstrip().lower().startswith("<!doctype html")
    assert 'id="results"' in html and 'hx-get="/do-tang"' in html and 'name="q"' in html
    assert 'value="giay"' in html  # the form keeps what was searched
    assert "HX-Request" in resp.headers["Vary"]


def test_fragment_for_htmx(client, shelf):
    resp = client.get("/do-tang?q=giay", headers=HTMX)
    html = resp.get_data(as_text=True)
    assert "<html" not in html and "<form" not in html
    assert card_titles(resp) == ["Giày thể thao"]
    assert "HX-Request" in resp.headers["Vary"]


def test_htmx_history_restore_gets_the_full_page(client, shelf):
    resp = client.get("/do-tang?q=giay", headers=HTMX | {"HX-History-Restore-Request": "true"})
    assert "<html" in resp.get_data(as_text=True)


def test_catalog_cards_use_lazy_thumbnails_with_dimensions(client, db):
    hub = make_hub()
    item = make_item(hub)
    item.photos = [ItemPhoto(stem="abc123", width=800, height=600)]
    _db.session.commit()
    html = client.get("/do-tang", headers=HTMX).get_data(as_text=True)
    assert re.search(r'<img src="/media/abc123_t.jpg" width="\d+" height="\d+" loading="lazy"',
                     html)


def test_catalog_query_count_does_not_grow_with_items(client, db, app, monkeypatch, statements):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 0)  # a live render each time
    hub = make_hub()

    def queries_for_catalog() -> int:
        statements.clear()
        assert client.get("/do-tang", headers=HTMX).status_code == 200
        return len(statements)

    for n in range(2):
        item = make_item(hub, title=f"Áo {n}")
        item.photos = [ItemPhoto(stem=f"a{n}", width=10, height=10)]
    _db.session.commit()
    few = queries_for_catalog()
    for n in range(12):
        item = make_item(hub, title=f"Quần {n}")
        item.photos = [ItemPhoto(stem=f"q{n}", width=10, height=10)]
    _db.session.commit()
    assert queries_for_catalog() == few


# ---------------------------------------------------------------- one hub's page

def test_hub_page_shows_only_its_items_and_pickup_details(client, shelf):
    school, _ward = shelf
    resp = client.get(f"/diem-phat/{school.slug}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Phòng Đoàn, dãy B" in html and "16:30–17:30" in html
    assert sorted(card_titles(resp)) == ["Giày thể thao", "Vở ô li 96 trang"]
    frag = client.get(f"/diem-phat/{school.slug}?q=vo", headers=HTMX)
    assert card_titles(frag) == ["Vở ô li 96 trang"]


@pytest.mark.parametrize("slug", ["khong-co", "%00", "a" * 200])
def test_unknown_hub_is_404(client, db, slug):
    assert client.get(f"/diem-phat/{slug}").status_code == 404


# ---------------------------------------------------------------- item page

def test_item_page_in_stock_offers_the_basket(client, shelf):
    item = _db.session.scalar(select(Item).where(Item.title == "Giày thể thao"))
    item.photos = [ItemPhoto(stem="cover1", width=1200, height=900, position=0),
                   ItemPhoto(stem="side2", width=900, height=1200, position=1)]
    _db.session.commit()
    html = client.get(f"/do-tang/{item.id}").get_data(as_text=True)
    assert "Giày thể thao" in html and "Còn 2" in html and "Còn tốt" in html and "38" in html
    assert "Đoàn trường THPT Nguyễn Văn Tiếp" in html and "Phòng Đoàn, dãy B" in html
    assert 'href="/media/cover1.jpg"' in html and 'width="1200" height="900"' in html
    assert 'href="/media/side2.jpg"' in html and 'src="/media/side2_t.jpg"' in html
    assert f'action="/gio/them/{item.id}"' in html.replace("http://localhost", "")
    assert "Đăng ký chờ" not in html


def test_item_page_out_of_stock_offers_the_waitlist(client, shelf, app):
    item = _db.session.scalar(select(Item).where(Item.title == "Áo dài trắng"))
    with app.test_request_context():
        from flask import url_for
        waitlist_url = url_for("requests.waitlist_join", item_id=item.id)
    html = client.get(f"/do-tang/{item.id}").get_data(as_text=True)
    assert "Đã hết" in html and "Đăng ký chờ" in html
    assert waitlist_url.replace("http://localhost", "") in html.replace("http://localhost", "")
    assert "Thêm vào giỏ" not in html


def test_unknown_or_unlisted_item_is_404(client, shelf):
    for item_id in (999999, 2**31, 10**20):
        assert client.get(f"/do-tang/{item_id}").status_code == 404
    item = _db.session.scalar(select(Item).limit(1))
    item.is_listed = False
    _db.session.commit()
    assert client.get(f"/do-tang/{item.id}").status_code == 404
    assert item.title not in card_titles(client.get("/do-tang", headers=HTMX))


# ---------------------------------------------------------------- listing a new item

NEW_ITEM_URL = "/quan-ly/mon-do/moi"


def item_form(hub, **overrides):
    data = {"hub_id": str(hub.id), "title": "Áo khoác đồng phục", "category": "quan-ao",
            "size": "L", "condition": "like_new", "quantity": "3", "description": "Ấm, sạch."}
    return data | overrides


def test_new_item_needs_login(client, db):
    resp = client.get(NEW_ITEM_URL)
    assert resp.status_code == 302 and "/tai-khoan/dang-nhap" in resp.headers["Location"]


@pytest.mark.parametrize("role", ["student", "vendor"])
def test_new_item_is_forbidden_without_volunteer_role(client, login_as, role):
    login_as(role)
    assert client.get(NEW_ITEM_URL).status_code == 403
    assert client.post(NEW_ITEM_URL, data=item_form(make_hub())).status_code == 403


def test_volunteer_lists_an_item_with_photos(client, login_as, app):
    hub, _other = make_hub(name="Điểm A"), make_hub(name="Điểm B")
    login_as("volunteer", hub=hub)
    page = client.get(NEW_ITEM_URL).get_data(as_text=True)
    assert "Điểm A" in page and "Điểm B" not in page  # only the volunteer's own hubs
    data = item_form(hub) | {"photos": [(io.BytesIO(jpeg_bytes()), "a.jpg"),
                                        (io.BytesIO(jpeg_bytes((0, 90, 0))), "b.jpg")]}
    resp = client.post(NEW_ITEM_URL, data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    item = _db.session.scalar(select(Item).where(Item.title == "Áo khoác đồng phục"))
    assert resp.headers["Location"].endswith(f"/do-tang/{item.id}")
    assert (item.hub_id, item.size, item.condition, item.quantity, item.available) == \
        (hub.id, "L", "like_new", 3, 3)
    assert item.search_text == catalog.search_text_for("Áo khoác đồng phục", "quan-ao", "L",
                                                       "Ấm, sạch.")
    assert [p.position for p in item.photos] == [0, 1]
    folder = Path(app.config["UPLOAD_FOLDER"])
    assert all((folder / f"{p.stem}_t.jpg").exists() for p in item.photos)
    assert card_titles(client.get("/do-tang?q=ao+khoac", headers=HTMX)) == ["Áo khoác đồng phục"]


def test_volunteer_cannot_list_for_another_hub(client, login_as):
    hub, other = make_hub(), make_hub()
    login_as("volunteer", hub=hub)
    resp = client.post(NEW_ITEM_URL, data=item_form(other))
    assert resp.status_code == 422
    assert _db.session.scalar(select(func.count(Item.id))) == 0


def test_fake_image_is_a_field_error_and_nothing_is_saved(client, login_as, app):
    hub = make_hub()
    login_as("volunteer", hub=hub)
    folder = Path(app.config["UPLOAD_FOLDER"])
    before = set(folder.iterdir()) if folder.exists() else set()
    data = item_form(hub) | {"photos": [(io.BytesIO(jpeg_bytes()), "good.jpg"),
                                        (io.BytesIO(b"MZ\x90\x00 not a picture"), "virus.jpg")]}
    resp = client.post(NEW_ITEM_URL, data=data, content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "không phải ảnh" in resp.get_data(as_text=True)
    assert _db.session.scalar(select(func.count(Item.id))) == 0
    assert (set(folder.iterdir()) if folder.exists() else set()) == before  # good.jpg removed too


def test_too_many_photos_and_bad_quantity_are_field_errors(client, login_as):
    hub = make_hub()
    login_as("volunteer", hub=hub)
    photos = [(io.BytesIO(jpeg_bytes()), f"{n}.jpg") for n in range(catalog.MAX_PHOTOS + 1)]
    resp = client.post(NEW_ITEM_URL, data=item_form(hub) | {"photos": photos},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "Tối đa 4 ảnh" in resp.get_data(as_text=True)
    for bad in ("0", "501", "abc"):
        resp = client.post(NEW_ITEM_URL, data=item_form(hub, quantity=bad))
        assert resp.status_code == 422
    assert _db.session.scalar(select(func.count(Item.id))) == 0


def test_oversized_upload_gets_the_413_page(client, login_as, app, monkeypatch):
    hub = make_hub()
    login_as("volunteer", hub=hub)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 50_000)
    data = item_form(hub) | {"photos": [(io.BytesIO(b"\xff" * 60_000), "big.jpg")]}
    resp = client.post(NEW_ITEM_URL, data=data, content_type="multipart/form-data")
    assert resp.status_code == 413
    assert "Tệp tải lên quá lớn" in resp.get_data(as_text=True)
    assert _db.session.scalar(select(func.count(Item.id))) == 0


def test_create_item_service_checks_the_actor(db):
    from tests.factories import make_user
    hub = make_hub()
    student = make_user(roles=("student",))
    with pytest.raises(catalog.CatalogError):
        catalog.create_item(hub.id, student.id, catalog.ItemFields("Bút", "do-dung-hoc-tap"))
    admin = make_user(roles=("admin",))
    item = catalog.create_item(hub.id, admin.id, catalog.ItemFields(
        "  Bút\x00   bi ", "do-dung-hoc-tap", description="Mực\x00 xanh"))
    assert (item.title, item.description) == ("Bút bi", "Mực xanh")
    assert item.search_text.strip() == "but bi do dung hoc tap muc xanh"


# ---------------------------------------------------------------- a real phone browser

def test_live_search_in_a_phone_browser(database_url, shelf, tmp_path):
    """Typing searches without a submit (htmx), the URL follows, Back restores the page, the pages
    of results swap in place."""
    from tests.browser import live_server, phone_browser, require_chromium
    require_chromium()
    from playwright.sync_api import expect
    with live_server(database_url, str(tmp_path)) as (base, live_app), phone_browser() as page:
        page.goto(f"{base}/do-tang")
        cards = page.locator("#results .item-card")
        expect(cards).to_have_count(4)
        page.locator("#q").press_sequentially("giay", delay=30)
        page.wait_for_url("**/do-tang?*q=giay*")
        expect(cards).to_have_count(1)
        assert page.locator("#results .title").all_inner_texts() == ["Giày thể thao"]
        assert page.locator("form.catalog-filters").count() == 1  # only the results were swapped
        page.locator("#q").fill("")
        page.select_option("#category", "quan-ao")
        page.wait_for_url("**category=quan-ao*")
        expect(cards).to_have_count(1)
        assert page.locator("#results .title").all_inner_texts() == ["Áo dài trắng"]
        page.screenshot(path=str(tmp_path / "catalog.png"), full_page=True)
        page.click("#results .item-card")
        page.wait_for_selector("h1 >> text=Áo dài trắng")
        page.go_back()
        expect(cards).to_have_count(1)
        assert page.locator("#results .title").all_inner_texts() == ["Áo dài trắng"]
        assert page.locator("form.catalog-filters").count() == 1

        live_app.config["CATALOG_PAGE_SIZE"] = 3
        live_app.extensions.pop("pagecache", None)  # pages of 24 cached for anonymous visitors
        page.goto(f"{base}/do-tang")
        page.click("a[rel=next]")
        page.wait_for_url("**page=2*")
        expect(page.locator(".pagination")).to_contain_text("2/2")
        expect(cards).to_have_count(1)
        assert page.locator("form.catalog-filters").count() == 1


def test_organizer_lists_an_item_for_their_own_hub_only(client, login_as):
    hub, other = make_hub(name="Điểm A"), make_hub(name="Điểm B")
    login_as("organizer", hub=hub)
    page = client.get(NEW_ITEM_URL).get_data(as_text=True)
    assert "Điểm A" in page and "Điểm B" not in page
    assert client.post(NEW_ITEM_URL, data=item_form(other)).status_code == 422
    assert _db.session.scalar(select(func.count(Item.id))) == 0
    resp = client.post(NEW_ITEM_URL, data=item_form(hub))
    assert resp.status_code == 303
    item = _db.session.scalar(select(Item).where(Item.title == "Áo khoác đồng phục"))
    assert item.hub_id == hub.id and resp.headers["Location"].endswith(f"/do-tang/{item.id}")
    assert "Đăng món mới" in client.get("/do-tang").get_data(as_text=True)


def test_photos_chosen_in_a_form_that_comes_back_are_asked_for_again_by_the_field(client,
                                                                                 login_as):
    from tests.test_error_summary import summary_of
    hub = make_hub()
    login_as("volunteer", hub=hub)
    data = item_form(hub, title="") | {"photos": [(io.BytesIO(jpeg_bytes()), "a.jpg")]}
    resp = client.post(NEW_ITEM_URL, data=data, content_type="multipart/form-data")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    again = "trình duyệt không giữ ảnh đã chọn: vui lòng chọn lại ảnh trước khi gửi."
    assert [target for target, text in summary_of(html)] == ["title", "photos"]
    beside = html.split('name="photos"', 1)[1].split("</div>", 1)[0]
    assert again in beside
    # no photo chosen: nothing to choose again
    html = client.post(NEW_ITEM_URL, data=item_form(hub, title="")).get_data(as_text=True)
    assert "chọn lại ảnh" not in html
