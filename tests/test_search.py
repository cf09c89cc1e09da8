"""The catalog's full-text search (issue #12), on SQLite (FTS5) and PostgreSQL (tsvector):
folding, prefixes, ranking, facet counts, edits followed by the index, typos, the plans of the
page's statements, and the same schema from the migration as from create_all."""
import re
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db as _db
from app.models import Item
from app.services import catalog, fulltext, inventory
from app.services.catalog import CatalogQuery, ItemFields
from tests import factories
from tests.factories import make_hub, make_item


@pytest.fixture
def hub(db):
    return make_hub()


def titles(per_page=24, **query) -> list[str]:
    return [i.title for i in catalog.search(CatalogQuery(**query), per_page).items]


def is_sqlite(db) -> bool:
    return db.engine.dialect.name == "sqlite"


# ---------------------------------------------------------------- folding and prefixes

def test_folding_finds_every_spelling_of_a_word(db, hub):
    make_item(hub, title="Giày thể thao")
    make_item(hub, title="Giầy vải")
    make_item(hub, title="Đồng hồ đeo tay", category="khac", size="")
    make_item(hub, title="Vở ô li", category="sach-vo", size="")
    assert sorted(titles(q="giay")) == ["Giày thể thao", "Giầy vải"]
    assert sorted(titles(q="GIÀY")) == ["Giày thể thao", "Giầy vải"]
    assert titles(q="dong ho") == ["Đồng hồ đeo tay"]  # đ → d
    assert titles(q="đồng hồ") == ["Đồng hồ đeo tay"]
    assert titles(q="sach vo") == ["Vở ô li"]  # the category's words


def test_every_word_must_start_a_word(db, hub):
    make_item(hub, title="Áo sơ mi trắng", category="quan-ao", size="M")
    make_item(hub, title="Áo dài", category="quan-ao", size="S")
    make_item(hub, title="Sổ tay", category="sach-vo", size="")
    assert titles(q="ao so") == ["Áo sơ mi trắng"]
    # "s": the size S of "Áo dài", a whole word of its title and size; the start of "sơ"
    assert titles(q="ao s") == ["Áo dài", "Áo sơ mi trắng"]
    assert titles(q="trang") == ["Áo sơ mi trắng"]
    assert titles(q="rang") == []  # inside a word is not a match
    assert titles(q="  ,.;  ") == titles()  # no words: the whole catalog
    assert titles(q="zzz") == []


# ---------------------------------------------------------------- ranking

def test_vo_puts_notebooks_first(db, hub):
    """The issue's example: "vo" listed "Bộ sách giáo khoa lớp 6" and "Áo dài" before "Vở ô li"."""
    make_item(hub, title="Vở ô li 96 trang", category="sach-vo", size="")
    make_item(hub, title="Bộ sách giáo khoa lớp 6", category="sach-vo", size="")  # "sach vo"
    make_item(hub, title="Võng xếp", category="khac", size="")  # "vong": "vo" as a prefix
    make_item(hub, title="Áo dài", category="quan-ao", size="M", description="Vở kèm theo")
    make_item(hub, title="Vở kẻ ngang", category="sach-vo", size="")
    assert titles(q="vo") == [
        "Vở kẻ ngang", "Vở ô li 96 trang",  # a whole word of the title, newest first
        "Võng xếp",  # the start of a word of the title
        "Áo dài", "Bộ sách giáo khoa lớp 6"]  # a whole word of the description or category


def test_giay_38_puts_size_38_shoes_first(db, hub):
    make_item(hub, title="Giày thể thao", size="38")
    make_item(hub, title="Giày vải", size="37", description="Vừa chân cỡ 38 hẹp")
    make_item(hub, title="Vở ô li", category="sach-vo", size="", description="Giấy 38 tờ")
    make_item(hub, title="Dép quai hậu", size="38")
    make_item(hub, title="Giày búp bê", size="38")
    # title and size first; then both words elsewhere (the category "Giày dép", a description)
    assert titles(q="giay 38") == ["Giày búp bê", "Giày thể thao", "Dép quai hậu", "Vở ô li",
                                   "Giày vải"]


def test_title_beats_description_and_whole_word_beats_prefix(db, hub):
    make_item(hub, title="Mũ lưỡi trai", category="mu-non", size="")
    make_item(hub, title="Nón lá", category="mu-non", size="", description="Đẹp như mũ")
    make_item(hub, title="Mũm mĩm gấu bông", category="khac", size="")
    make_item(hub, title="Áo khoác", category="quan-ao", size="M", description="Có mũm")
    assert titles(q="mu") == ["Mũ lưỡi trai", "Mũm mĩm gấu bông", "Nón lá", "Áo khoác"]


def test_in_stock_first_among_equals_and_it_follows_the_stock(db, hub):
    old = make_item(hub, title="Áo len cổ tròn", category="quan-ao", size="S")
    new = make_item(hub, title="Áo len cổ lọ", category="quan-ao", size="S")
    gone = make_item(hub, title="Áo len dài", category="quan-ao", size="S", available=0)
    assert titles(q="ao len") == ["Áo len cổ lọ", "Áo len cổ tròn", "Áo len dài"]
    db.session.execute(update(Item).where(Item.id == new.id).values(available=0))
    db.session.execute(update(Item).where(Item.id == gone.id).values(available=1))
    db.session.commit()
    assert titles(q="ao len") == ["Áo len dài", "Áo len cổ tròn", "Áo len cổ lọ"]
    assert titles(q="ao len", available_only=True) == ["Áo len dài", "Áo len cổ tròn"]
    assert old.id < new.id


@pytest.mark.parametrize("per_page", [1, 2, 3, 5])
def test_pages_list_every_match_once_across_tiers(db, hub, per_page):
    for title, available in (
            ("Mũ nón", 1), ("Mũ nón", 0), ("Mũm mĩm", 1), ("Mũm mĩm", 0), ("Khăn", 1),
            ("Khăn", 0), ("Túi", 1)):
        make_item(hub, title=title, category="khac", size="", available=available,
                  description="mũ" if title == "Khăn" else "mũm" if title == "Túi" else "")
    everything = titles(per_page=50, q="mu")
    assert len(everything) == 7
    results = catalog.search(CatalogQuery(q="mu"), per_page)
    pages = [titles(per_page=per_page, q="mu", page=p) for p in range(1, results.pages + 2)]
    assert [t for page in pages for t in page] == everything
    assert pages[-1] == []


# ---------------------------------------------------------------- facets

def test_facet_counts_follow_the_search_and_the_other_filters(db):
    a, b = make_hub(name="Điểm A"), make_hub(name="Điểm B")
    make_item(a, title="Giày thể thao", size="38")
    make_item(a, title="Giày vải", size="37")
    make_item(b, title="Giày búp bê", size="38", available=0)
    make_item(b, title="Áo giày da", category="quan-ao", size="M")  # "giay" in a title
    make_item(b, title="Vở", category="sach-vo", size="")
    hidden = make_item(a, title="Giày ẩn", size="38")
    hidden.is_listed = False
    db.session.commit()

    results = catalog.search(CatalogQuery(q="giay"), 24)
    assert results.total == 4
    assert results.facets.categories == {"giay-dep": 3, "quan-ao": 1}
    assert results.facets.sizes == {"38": 2, "37": 1, "M": 1}
    assert results.facets.hubs == {a.id: 2, b.id: 2}

    # a filter narrows the other facets, not its own
    results = catalog.search(CatalogQuery(q="giay", size="38"), 24)
    assert results.total == 2
    assert results.facets.sizes == {"38": 2, "37": 1, "M": 1}
    assert results.facets.categories == {"giay-dep": 2}
    assert results.facets.hubs == {a.id: 1, b.id: 1}
    results = catalog.search(CatalogQuery(q="giay", hub_id=b.id, available_only=True), 24)
    assert (results.total, results.facets.hubs) == (1, {a.id: 2, b.id: 1})
    assert [i.title for i in results.items] == ["Áo giày da"]

    # without words, the same from the store's groups; a hub's page has no hub facet
    results = catalog.search(CatalogQuery(category="giay-dep"), 24)
    assert results.total == 3 and results.facets.categories == {"giay-dep": 3, "quan-ao": 1,
                                                                 "sach-vo": 1}
    results = catalog.search(CatalogQuery(within_hub=a.id), 24)
    assert results.total == 2 and results.facets.sizes == {"38": 1, "37": 1}


def test_the_page_shows_the_counts_next_to_the_filters(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 0)
    hub = make_hub(name="Điểm phát Mỹ Tho")
    for n in range(3):
        make_item(hub, title=f"Giày {n}", size="38")
    make_item(hub, title="Áo dài", category="quan-ao", size="M")
    page = client.get("/do-tang?q=giay").get_data(as_text=True)
    assert re.search(r'<option value="giay-dep">Giày dép \(3\)</option>', page)
    assert re.search(r'<option value="quan-ao">Quần áo \(0\)</option>', page)
    assert '<option value="38">38 (3)</option>' in page
    assert f'<option value="{hub.id}">Điểm phát Mỹ Tho (3)</option>' in page
    fragment = client.get("/do-tang?q=ao", headers={"HX-Request": "true"}).get_data(as_text=True)
    # the selects come along out of band, so that their counts follow the search
    assert re.search(r'<select[^>]*hx-swap-oob="true"[^>]*id="category"', fragment) or \
        re.search(r'<select[^>]*id="category"[^>]*hx-swap-oob="true"', fragment)
    assert '<option value="quan-ao">Quần áo (1)</option>' in fragment
    assert "<form" not in fragment and 'id="q"' not in fragment  # the search box is left alone


# ---------------------------------------------------------------- edits followed

def test_the_index_follows_edits_unlisting_and_relisting(db, hub):
    volunteer = factories.make_user(roles=("volunteer",), hub=hub)
    item = make_item(hub, title="Giày thể thao", size="38", quantity=2)
    make_item(hub, title="Giày vải", size="37")
    inventory.edit_item(volunteer.id, item.id, ItemFields(
        title="Áo mưa bộ", category="quan-ao", size="XL", quantity=2))
    assert titles(q="ao mua") == ["Áo mưa bộ"]
    assert titles(q="giay") == ["Giày vải"]  # not by its old title or category any more
    assert titles(q="the thao") == titles(q="38") == []
    assert titles(q="xl") == ["Áo mưa bộ"]
    inventory.set_listed(volunteer.id, item.id, False)
    assert titles(q="mua") == []
    assert catalog.search(CatalogQuery(q="mua"), 24).facets.categories == {}
    inventory.set_listed(volunteer.id, item.id, True)
    assert titles(q="mua") == ["Áo mưa bộ"]
    created = catalog.create_item(hub.id, volunteer.id, ItemFields(
        title="Ô đi mưa", category="khac"))
    assert titles(q="mua") == ["Ô đi mưa", "Áo mưa bộ"]
    db.session.delete(db.session.get(Item, created.id))
    db.session.commit()
    assert titles(q="mua") == ["Áo mưa bộ"]
    if is_sqlite(db):  # FTS5's own check of an external-content index against its table
        db.session.execute(text("INSERT INTO items_fts(items_fts, rank) "
                                "VALUES ('integrity-check', 1)"))


def test_the_shop_finds_products_by_the_index_and_follows_edits(db):
    from app.services import vendors
    from app.services.vendors import ProductFields, ProductQuery
    from tests.test_vendors import make_product, make_vendor

    def names(q):
        return [p.name for p in vendors.search(ProductQuery(q=q), 24).items]

    vendor = make_vendor(business_name="Hợp tác xã U Minh")
    honey = make_product(vendor, "Mật ong rừng 500 ml", stock=4)
    make_product(vendor, "Sáp ong thơm", category="gia-dung")
    assert names("mat o") == ["Mật ong rừng 500 ml"]
    assert sorted(names("u minh")) == ["Mật ong rừng 500 ml", "Sáp ong thơm"]
    vendors.update_product(vendor.user_id, honey.id, ProductFields(
        "Bánh tráng phơi sương", "nong-san", 30_000, 4), stock_seen=4)
    assert names("banh trang") == ["Bánh tráng phơi sương"]
    assert names("mat ong") == []


# ---------------------------------------------------------------- typos

def test_a_typo_in_a_long_word(db, hub, client):
    make_item(hub, title="Áo khoác gió", category="quan-ao", size="M")
    make_item(hub, title="Áo khoác len", category="quan-ao", size="L")
    make_item(hub, title="Giày thể thao", size="38")
    for typo in ("khoec", "khaoc", "khoacc", "khoa"):
        results = catalog.search(CatalogQuery(q=f"ao {typo}"), 24)
        if typo == "khoa":  # four letters: a prefix of "khoac", not a typo
            assert results.total == 2 and results.suggestion is None
            continue
        assert results.suggestion == "ao khoac", typo
        if is_sqlite(db):  # a suggestion to follow
            assert (results.total, results.items, results.approximate) == (0, [], False)
        else:  # PostgreSQL lists what the words mean
            assert results.approximate and results.total == 2
            assert sorted(i.title for i in results.items) == ["Áo khoác gió", "Áo khoác len"]
    nothing = catalog.search(CatalogQuery(q="xyzzyq"), 24)
    assert (nothing.total, nothing.suggestion) == (0, None)
    short = catalog.search(CatalogQuery(q="gai"), 24)  # 3 letters: no guess
    assert (short.total, short.suggestion) == (0, None)

    page = client.get("/do-tang?q=ao+khoec").get_data(as_text=True)
    if is_sqlite(db):
        assert "Có phải bạn tìm" in page and 'href="/do-tang?q=ao+khoac"' in page
    else:
        assert "Kết quả cho “ao khoac”" in page and "Áo khoác gió" in page


def test_one_edit():
    assert fulltext.within_one_edit("khoec", "khoac")
    assert fulltext.within_one_edit("khaoc", "khoac")  # neighbours swapped
    assert fulltext.within_one_edit("khoacc", "khoac") and fulltext.within_one_edit("khac",
                                                                                  "khoac")
    assert not fulltext.within_one_edit("khec", "khoac")
    assert {"khoac", "khaoc", "kho", "khoa"} & fulltext.one_edit("khoac") == {"khaoc", "khoa"}
    assert all(fulltext.within_one_edit("giay", w) for w in fulltext.one_edit("giay"))


# ---------------------------------------------------------------- plans: nothing reads every item

PAGES = ["/do-tang?q=giay", "/do-tang?q=ao+so&category=quan-ao&page=2",
         "/do-tang?q=giay+38&size=38&available=y", "/do-tang?q=vo&hub={hub}",
         "/diem-phat/{slug}?q=ao", "/do-tang?category=giay-dep&page=3", "/do-tang"]


def _plans(db, statements: list[tuple]) -> list[str]:
    plans = []
    with db.engine.connect() as conn:
        if not is_sqlite(db):
            conn.exec_driver_sql("SET enable_seqscan = off")  # a seq scan left = no index serves
        for statement, params in statements:
            prefix = "EXPLAIN QUERY PLAN " if is_sqlite(db) else "EXPLAIN "
            rows = conn.exec_driver_sql(prefix + statement, params).all()
            plans.append("\n".join(str(r[-1]) for r in rows))
    return plans


def test_the_catalog_pages_read_indexes_only(client, app, db, monkeypatch):
    """Every statement of a search page, filtered or not, several pages deep: each reads an
    index (FTS5 / GIN / B-tree), none the items table from end to end."""
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 0)
    hub = make_hub()
    for n in range(30):
        make_item(hub, title=f"Giày số {n}" if n % 2 else f"Áo sơ mi {n}", size=str(30 + n % 9),
                  category="giay-dep" if n % 2 else "quan-ao", available=n % 2)
    seen: list[tuple] = []

    def record(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, params))

    from sqlalchemy import event
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        for path in PAGES:
            resp = client.get(path.format(hub=hub.id, slug=hub.slug))
            assert resp.status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    item_plans = [p for (s, _), p in zip(seen, _plans(db, seen), strict=True) if " items" in s]
    assert item_plans
    for plan in item_plans:
        if is_sqlite(db):
            assert not re.search(r"\bSCAN items\b", plan), plan
        else:
            assert "Seq Scan on items" not in plan, plan


def test_a_search_page_runs_a_fixed_number_of_statements(client, app, db, statements,
                                                         monkeypatch):
    monkeypatch.setitem(app.config, "CATALOG_CACHE_SECONDS", 0)

    def selects(path) -> int:
        statements.clear()
        assert client.get(path).status_code == 200
        return len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))])

    hub = make_hub()
    make_item(hub, title="Giày 1")
    few = selects("/do-tang?q=giay")
    for n in range(30):
        make_item(make_hub() if n % 3 else hub, title=f"Giày {n}", size=str(30 + n))
    assert selects("/do-tang?q=giay") == few
    # groups, page ids, cards, sizes and hub names (the last two remembered when the
    # micro-cache is on)
    assert few == 5


# ---------------------------------------------------------------- the schema

def _search_schema(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text(
                "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'items_fts%' "
                "OR name LIKE 'products_fts%' OR type = 'trigger' OR name = 'ix_items_facets' "
                "ORDER BY name")).all()
        else:
            rows = conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                "('items', 'item_words', 'products') UNION ALL "
                "SELECT tgname, pg_get_triggerdef(oid) "
                "FROM pg_trigger WHERE NOT tgisinternal UNION ALL "
                "SELECT column_name, generation_expression FROM information_schema.columns "
                "WHERE column_name = 'search_vector' UNION ALL "
                "SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'item_words%' "
                "ORDER BY 1")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_the_migration_and_create_all_give_the_same_search_schema(app, db, database_url,
                                                                   tmp_path):
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        name = f"mig_{uuid.uuid4().hex[:10]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        migrated = url.set(database=name).render_as_string(hide_password=False)
    else:
        migrated = f"sqlite:///{tmp_path / 'migrated.db'}"
    try:
        other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": migrated})
        with other.app_context():
            upgrade()
            _db.engine.dispose()
        ours = _search_schema(url.render_as_string(hide_password=False))
        assert ours and _search_schema(migrated) == ours
    finally:
        if url.get_backend_name() == "postgresql":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()


def test_the_migration_indexes_the_items_already_there(tmp_path, database_url):
    """An upgrade over a store with items: they are found by the new index at once."""
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("the same statements; PostgreSQL computes its column itself")
    from flask_migrate import downgrade
    other = create_app({"TESTING": True,
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}"})
    with other.app_context():
        upgrade(revision="cda62ed7ae60")
        _db.session.execute(text(
            "INSERT INTO hubs (id, name, slug, path, level, holds_stock, province_code, "
            "ward_code, pickup_place, pickup_hours, delivery_weekday, cutoff_weekday, "
            "cutoff_minutes, stops_per_route, weekly_limit, retention_days, description, "
            "created_at) VALUES (1, 'H', 'h', '', 'base', 1, 82, 28249, 'p', 'h', 5, 3, 1200, "
            "12, 3, 30, '', '2026-01-01')"))
        _db.session.execute(text(
            "INSERT INTO items (hub_id, title, description, category, size, condition, "
            "quantity, available, search_text, is_listed, created_at) VALUES (1, 'Giày vải', "
            "'', 'giay-dep', '38', 'good', 1, 1, ' giay vai giay dep 38', 1, '2026-01-01')"))
        _db.session.commit()
        upgrade()
        assert titles(q="giay 38") == ["Giày vải"]
        downgrade(revision="cda62ed7ae60")
        _db.engine.dispose()


# ---------------------------------------------------------------- a real phone browser

def test_facet_counts_follow_the_search_in_a_browser(database_url, db, tmp_path):
    """The counts next to the filters change with the words typed (out-of-band swap), and a
    select changed from the keyboard keeps the focus."""
    from tests.browser import live_server, phone_browser, require_chromium
    require_chromium()
    from playwright.sync_api import expect
    hub = make_hub()
    make_item(hub, title="Giày thể thao", size="38")
    make_item(hub, title="Giày vải", size="37")
    make_item(hub, title="Áo dài", category="quan-ao", size="M")
    with live_server(database_url, str(tmp_path)) as (base, _app), phone_browser() as page:
        page.goto(f"{base}/do-tang")
        shoes = page.locator("#category option[value=giay-dep]")
        expect(shoes).to_have_text("Giày dép (2)")
        page.locator("#q").press_sequentially("ao", delay=30)
        page.wait_for_url("**/do-tang?*q=ao*")
        expect(shoes).to_have_text("Giày dép (0)")
        expect(page.locator("#category option[value=quan-ao]")).to_have_text("Quần áo (1)")
        expect(page.locator("#q")).to_be_focused()
        page.locator("#q").fill("")
        page.locator("#category").focus()
        page.keyboard.press("ArrowDown")  # the next option: "Quần áo"
        page.wait_for_url("**category=quan-ao*")
        expect(page.locator("#results .title")).to_have_text(["Áo dài"])
        expect(page.locator("#category")).to_be_focused()
        expect(page.locator("#size option[value='38']")).to_have_text("38 (0)")
