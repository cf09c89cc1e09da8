"""The catalog's micro-cache (app/pagecache.py): anonymous visitors share a page for
CATALOG_CACHE_SECONDS, each with a CSRF token of their own; everyone else gets a live render."""
import re

import pytest
from sqlalchemy import update

from app import pagecache
from app.extensions import db as _db
from app.models import Item
from tests.factories import make_hub, make_item

HTMX = {"HX-Request": "true"}
TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


@pytest.fixture
def shelf(db):
    hub = make_hub(name="Đoàn trường THPT Nguyễn Văn Tiếp")
    shoes = make_item(hub, title="Giày thể thao", quantity=5)
    return hub, shoes


@pytest.fixture
def clock(app, db):
    """The cache's clock, moved on by hand: `clock[0] += 10`."""
    now = [1000.0]
    pagecache.cache().clock = lambda: now[0]
    return now


def visit(app, client, path, **kwargs):
    """One request in an app context of its own, as in production: the test's own context would
    share `g` (Flask-WTF's token, Flask-Login's user) between the requests of different clients."""
    with app.app_context():
        return client.get(path, **kwargs)


def set_available(item, n: int) -> None:
    _db.session.execute(update(Item).where(Item.id == item.id).values(available=n))
    _db.session.commit()


@pytest.mark.parametrize("path, headers", [
    ("/do-tang", {}), ("/do-tang?q=giay", HTMX), ("/diem-phat/{slug}", {}),
    ("/diem-phat/{slug}?q=giay", HTMX),
])
def test_anonymous_visitors_share_a_page_for_the_period(app, shelf, clock, statements, path,
                                                         headers):
    hub, shoes = shelf
    path = path.format(slug=hub.slug)
    first = visit(app, app.test_client(), path, headers=headers).get_data(as_text=True)
    assert "Còn 5" in first
    set_available(shoes, 2)  # straight in the database, as another worker would
    statements.clear()
    again = visit(app, app.test_client(), path, headers=headers)
    assert again.status_code == 200 and "Còn 5" in again.get_data(as_text=True)
    assert statements == []  # not even the session's user or the hub: nothing
    clock[0] += app.config["CATALOG_CACHE_SECONDS"]
    assert "Còn 2" in visit(app, app.test_client(), path, headers=headers).get_data(as_text=True)


def test_a_cached_page_keeps_its_headers(app, shelf, clock):
    visit(app, app.test_client(), "/do-tang")
    resp = visit(app, app.test_client(), "/do-tang")
    assert "HX-Request" in resp.vary
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.mimetype == "text/html" and "session=" in resp.headers["Set-Cookie"]
    frag = visit(app, app.test_client(), "/do-tang", headers=HTMX)
    assert "<html" not in frag.get_data(as_text=True) and "HX-Request" in frag.vary
    restore = visit(app, app.test_client(), "/do-tang",
                    headers=HTMX | {"HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_each_visitor_gets_a_token_of_their_own_that_works(csrf_app, shelf, clock, statements):
    alice, bob = csrf_app.test_client(), csrf_app.test_client()
    pages = [visit(csrf_app, c, "/do-tang?q=giay").get_data(as_text=True) for c in (alice, bob)]
    assert len(pagecache.cache()) >= 1 and pagecache.cache().placeholder not in pages[1]
    tokens = [TOKEN.search(page).group(1) for page in pages]
    assert tokens[0] != tokens[1]
    for page, token in zip(pages, tokens, strict=True):  # the same token in the header's forms
        assert set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) == {token}
    assert 'name="next" value="/do-tang?q=giay"' in pages[1]
    with csrf_app.app_context():
        assert bob.post("/ngon-ngu", data={"lang": "en", "next": "/do-tang"}).status_code == 400
    with csrf_app.app_context():
        assert bob.post("/ngon-ngu", data={"lang": "en", "csrf_token": tokens[0]}).status_code \
            == 400  # Alice's token is not Bob's
    for client, token in ((alice, tokens[0]), (bob, tokens[1])):
        with csrf_app.app_context():
            resp = client.post("/ngon-ngu", data={"lang": "en", "next": "/do-tang",
                                                  "csrf_token": token})
        assert resp.status_code == 303
        assert "Free items" in visit(csrf_app, client, "/do-tang").get_data(as_text=True)


def test_each_query_string_is_a_page_of_its_own(app, shelf, clock):
    visit(app, app.test_client(), "/do-tang")
    html = visit(app, app.test_client(), "/do-tang?category=sach-vo").get_data(as_text=True)
    assert "Giày thể thao" not in html
    assert 'name="next" value="/do-tang?category=sach-vo"' in html  # the language form's way back
    html = visit(app, app.test_client(), "/do-tang?q=giay").get_data(as_text=True)
    assert "Giày thể thao" in html and 'name="next" value="/do-tang?q=giay"' in html
    mounted = visit(app, app.test_client(), "/do-tang", base_url="http://localhost/gh")
    assert 'action="/gh/ngon-ngu"' in mounted.get_data(as_text=True)  # links under its prefix
    assert 'action="/ngon-ngu"' in visit(app, app.test_client(), "/do-tang").get_data(as_text=True)


def test_the_page_follows_the_language(app, shelf, clock):
    english = app.test_client()
    with english.session_transaction() as sess:
        sess["lang"] = "en"
    visit(app, app.test_client(), "/do-tang")  # the Vietnamese page is cached first
    html = visit(app, english, "/do-tang").get_data(as_text=True)
    assert '<html lang="en">' in html and "Free items" in html
    assert '<html lang="vi">' in visit(app, app.test_client(), "/do-tang").get_data(as_text=True)


def test_a_signed_in_user_always_sees_live_stock(app, client, login_as, shelf, clock):
    _hub, shoes = shelf
    visit(app, app.test_client(), "/do-tang")  # cached for anonymous visitors
    login_as("student")
    set_available(shoes, 2)
    assert "Còn 2" in client.get("/do-tang").get_data(as_text=True)
    assert "Còn 2" in client.get("/do-tang?q=giay", headers=HTMX).get_data(as_text=True)
    assert "Còn 5" in visit(app, app.test_client(), "/do-tang").get_data(as_text=True)


def test_a_visitor_with_a_basket_or_a_message_gets_a_live_page(app, shelf, clock):
    _hub, shoes = shelf
    visit(app, app.test_client(), "/do-tang")
    set_available(shoes, 2)
    with_basket, with_flash = app.test_client(), app.test_client()
    with with_basket.session_transaction() as sess:
        sess["basket"] = [shoes.id]
    with with_flash.session_transaction() as sess:
        sess["_flashes"] = [("success", "Đã gửi yêu cầu của bạn.")]
    html = visit(app, with_basket, "/do-tang").get_data(as_text=True)
    assert "Còn 2" in html and '<span class="badge">1</span>' in html
    html = visit(app, with_flash, "/do-tang").get_data(as_text=True)
    assert "Còn 2" in html and "Đã gửi yêu cầu của bạn." in html
    html = visit(app, app.test_client(), "/do-tang").get_data(as_text=True)
    assert "Còn 5" in html and "Đã gửi yêu cầu" not in html and 'class="badge"' not in html


def test_zero_seconds_turns_the_cache_off(app, shelf, monkeypatch):
    _hub, shoes = shelf
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 0)
    visit(app, app.test_client(), "/do-tang")
    set_available(shoes, 2)
    assert "Còn 2" in visit(app, app.test_client(), "/do-tang").get_data(as_text=True)
    assert len(pagecache.cache()) == 0


def test_unknown_hub_is_not_cached(app, db, clock):
    assert visit(app, app.test_client(), "/diem-phat/khong-co").status_code == 404
    hub = make_hub(name="Đoàn xã Tân Phước")
    hub.slug = "khong-co"
    _db.session.commit()
    assert visit(app, app.test_client(), "/diem-phat/khong-co").status_code == 200


def test_the_cache_is_bounded_and_forgets_the_least_recently_used():
    now = [0.0]
    cache = pagecache.TTLCache(size=2, clock=lambda: now[0])
    cache.put("a", 1, 10)
    cache.put("b", 2, 10)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3, 10)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    now[0] = 9.9
    assert cache.get("a") == 1
    now[0] = 10
    assert cache.get("a") is None and len(cache) == 1
