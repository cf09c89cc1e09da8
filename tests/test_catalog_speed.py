"""What the hot pages rely on to be fast: the catalog's order from its indexes, sizes by a loose
index scan, counts, statement counts per page, versioned static files, the trivial route."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.models import Item
from app.models.base import utcnow
from app.services import catalog
from tests.factories import make_hub, make_item


def test_in_stock_follows_available_and_orders_the_catalog(db):
    hub = make_hub()
    old = make_item(hub, title="Áo cũ", category="quan-ao", size="M")
    new = make_item(hub, title="Áo mới", category="quan-ao", size="L")
    gone = make_item(hub, title="Áo hết", category="quan-ao", size="S", available=0)
    now = utcnow()
    for item, age in ((old, 3), (new, 1), (gone, 0)):
        item.created_at = now - timedelta(days=age)
    db.session.commit()
    assert (old.in_stock, gone.in_stock) == (True, False)

    def titles(**query) -> list[str]:
        return [i.title for i in catalog.search(catalog.CatalogQuery(**query), 10).items]

    assert titles() == ["Áo mới", "Áo cũ", "Áo hết"]  # in stock first, newest first
    assert titles(available_only=True) == ["Áo mới", "Áo cũ"]

    db.session.execute(update(Item).where(Item.id == new.id).values(available=0))
    db.session.commit()
    assert titles() == ["Áo cũ", "Áo hết", "Áo mới"]


def test_sizes_are_the_distinct_sizes_of_listed_items_in_order(db):
    hub = make_hub()
    for size in ("M", "38", "", "M", "XL", "36"):
        make_item(hub, size=size)
    hidden = make_item(hub, size="XXL")
    hidden.is_listed = False
    db.session.commit()
    assert catalog.sizes() == sorted({"M", "38", "XL", "36"})


def test_sizes_of_an_empty_store(db):
    assert catalog.sizes() == []


@pytest.mark.parametrize("query", [
    dict(), dict(q="giay"), dict(q="giay 38"), dict(q="ao", category="quan-ao"),
    dict(available_only=True), dict(size="38"), dict(q="zzz"),
])
def test_the_total_counts_what_the_pages_list(db, query):
    hub = make_hub()
    make_item(hub, title="Giày thể thao", size="38")
    make_item(hub, title="Giày vải", size="37", available=0)
    make_item(hub, title="Áo dài", category="quan-ao", size="M")
    hidden = make_item(hub, title="Giày ẩn", size="38")
    hidden.is_listed = False
    db.session.commit()
    cq = catalog.CatalogQuery(**query)
    results = catalog.search(cq, per_page=2)
    listed = [i for page in range(1, 4)
              for i in catalog.search(catalog.CatalogQuery(**query, page=page), 2).items]
    assert results.total == catalog.count(cq) == len(listed)
    assert results.pages == (len(listed) + 1) // 2


def test_catalog_page_runs_a_fixed_number_of_statements(client, app, db, statements,
                                                        monkeypatch):
    """However many items and hubs: no query per card (photos, hubs, wards come in batches).
    A live render each time (tests/test_pagecache.py: the cached page runs none)."""
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 0)

    def selects() -> int:
        statements.clear()
        assert client.get("/do-tang").status_code == 200
        return len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))])

    hub = make_hub()
    make_item(hub, size="38")
    few = selects()
    for n in range(12):
        make_item(make_hub() if n % 3 else hub, title=f"Vở {n}", size=str(30 + n))
    assert selects() == few


def test_static_urls_carry_a_hash_and_are_cached_for_a_year(client, db):
    page = client.get("/do-tang").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', page)
    assert css, "the stylesheet has no version"
    resp = client.get(css.group(1))
    assert resp.status_code == 200
    assert resp.cache_control.max_age == 365 * 24 * 3600 and resp.cache_control.immutable
    plain = client.get("/static/css/app.css")
    assert plain.cache_control.max_age is None  # without a version: revalidated as before


def test_ping_is_trivial(client, db, statements):
    resp = client.get("/ping")
    assert (resp.status_code, resp.get_data(as_text=True)) == (200, "ok")
    assert statements == []
