"""English, the second language: pages switch to it, the catalogue covers every source string, and
a count agrees with its noun ("1 item", "2 items").

The .mo is built by `make translations` before the tests; nothing here compiles. A string wrapped
for translation but missing from messages.po, untranslated or fuzzy fails here: run
`make translations-update`, translate, commit the .po.
"""
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import force_locale

from app.services.requests import LimitReached
from tests import factories
from tests.test_market import join_by_phone, pay_by_phone
from tests.test_review import request_for
from tests.test_wallets import booth_of, market_event

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# The same keywords and folders as `make translations-update`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
SKIPPED_DIRS = re.compile(r"^(\..*|__pycache__|node_modules)$")
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]?\d*(?:\.\d+)?[sdifr]")


@pytest.fixture(scope="module")
def catalog():
    with PO.open("rb") as f:
        return read_po(f)


def _strings(value):
    return value if isinstance(value, tuple) else (value,)


def _english(client, path):
    resp = client.post("/ngon-ngu", data={"lang": "en", "next": path})
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_catalog_page_in_english(client):
    html = _english(client, "/do-tang")
    assert '<html lang="en">' in html
    for english in ("Zero-đồng Store", "Free items", "Donate", "Start-up products", "Market 4.0",
                    "Basket", "Log in", "Search items", "Tiếng Việt"):
        assert english in html
    for vietnamese in ("Đồ tặng", "Đăng nhập", "Tìm đồ"):
        assert vietnamese not in html


def test_login_and_register_in_english(client):
    login = _english(client, "/tai-khoan/dang-nhap")
    assert '<html lang="en">' in login
    assert "No account yet?" in login and "Password" in login
    register = client.get("/tai-khoan/dang-ky").get_data(as_text=True)
    assert "Create an account" in register and "Repeat password" in register
    assert "Mật khẩu" not in register


def test_form_errors_in_english(client):
    _english(client, "/tai-khoan/dang-nhap")
    html = client.post("/tai-khoan/dang-nhap",
                       data={"phone": "", "password": ""}).get_data(as_text=True)
    assert "Please enter your phone number." in html
    assert "Vui lòng nhập số điện thoại." not in html


def test_back_to_vietnamese(client):
    _english(client, "/do-tang")
    client.post("/ngon-ngu", data={"lang": "vi"})
    html = client.get("/do-tang").get_data(as_text=True)
    assert '<html lang="vi">' in html and "Đồ tặng" in html


def test_every_message_translated_and_not_fuzzy(catalog):
    untranslated = [m.id for m in catalog if m.id and not all(_strings(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_placeholders_kept(catalog):
    wrong = []
    for m in catalog:
        if not m.id:
            continue
        expected = Counter(PLACEHOLDER.findall(_strings(m.id)[0]))
        for string in _strings(m.string):
            if Counter(PLACEHOLDER.findall(string)) != expected:
                wrong.append((m.id, string))
    assert not wrong, f"placeholders differ: {wrong}"


def test_every_source_string_in_catalogue(catalog):
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {
        message: f"{filename}:{lineno}"
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS,
            directory_filter=lambda path: not SKIPPED_DIRS.match(Path(path).name))
    }
    assert len(extracted) > 500  # templates (also under templates/_macros) and Python alike
    assert any(where.startswith("templates/_macros/") for where in extracted.values())
    known = {m.id for m in catalog if m.id}
    missing = [f"{where} {message!r}" for message, where in extracted.items()
               if message not in known]
    assert not missing, "not in messages.po (run make translations-update): " + "; ".join(missing)


# ---------------------------------------------------------------- English plurals
# Vietnamese nouns do not inflect, so the source strings are ngettext(text, text, n): English
# picks "1 item" or "2 items" by the number, Vietnamese reads the same for both.

def test_a_hub_page_counts_items_in_the_singular_and_the_plural(client):
    one = factories.make_hub(weekly_limit=1)
    factories.make_item(one)
    two = factories.make_hub(weekly_limit=2)
    factories.make_item(two)
    factories.make_item(two, title="Áo khoác")
    html = _english(client, f"/diem-phat/{one.slug}")
    assert '<p class="muted result-count">1 item</p>' in html
    assert "<dd>1 item a week per student</dd>" in html
    html = client.get(f"/diem-phat/{two.slug}").get_data(as_text=True)
    assert '<p class="muted result-count">2 items</p>' in html
    assert "<dd>2 items a week per student</dd>" in html
    client.post("/ngon-ngu", data={"lang": "vi"})
    html = client.get(f"/diem-phat/{one.slug}").get_data(as_text=True)
    assert '<p class="muted result-count">1 món</p>' in html
    assert "<dd>1 món mỗi tuần cho mỗi bạn</dd>" in html


def test_approving_one_or_two_requests_says_request_or_requests(client, login_as):
    hub = factories.make_hub()
    a, b, c, d = (request_for(hub, title, name=name) for title, name in
                  (("Áo", "An"), ("Quần", "Bình"), ("Mũ", "Chi"), ("Vở", "Dung")))
    login_as(user=factories.make_user(roles=("volunteer",), hub=hub))

    def approve(*requests) -> str:
        resp = client.post("/quan-ly/yeu-cau/duyet-nhieu", headers={"HX-Request": "true"},
                           data={"hub": hub.id, "request_ids": [r.id for r in requests]})
        assert resp.status_code == 200
        return resp.get_data(as_text=True)

    _english(client, "/do-tang")  # kept as the volunteer's language
    one = approve(a)
    assert "1 request approved." in one and "1 requests" not in one
    assert "2 requests approved." in approve(b, c)
    client.post("/ngon-ngu", data={"lang": "vi"})
    assert "Đã duyệt 1 yêu cầu." in approve(d)


def test_a_one_point_payment_reads_1_point(client):
    event = market_event(credit=2)
    booth = booth_of(event, products=False)
    assert "You get 2 points to practise" in _english(client, f"/phien-cho/{event.id}/tham-gia")
    join_by_phone(client, event)
    receipt = client.get(pay_by_phone(client, booth, 1).headers["Location"]).get_data(
        as_text=True)
    assert receipt.count('<span class="points">1 point</span>') == 2  # paid, and what is left
    receipt = client.get(pay_by_phone(client, booth, 1).headers["Location"]).get_data(
        as_text=True)
    assert '<span class="points">0 points</span>' in receipt
    vietnamese = client.application.test_client()
    join_by_phone(vietnamese, event, name="Lê Văn Tám", phone="0912 000 222")
    receipt = vietnamese.get(pay_by_phone(vietnamese, booth, 1).headers["Location"]).get_data(
        as_text=True)
    assert receipt.count('<span class="points">1 điểm</span>') == 2


def test_a_lazy_message_is_put_in_the_plural_when_it_is_read(app, db):
    with force_locale("en"):
        assert "up to 1 item a week" in str(LimitReached(1, 0, date(2031, 1, 6)).message)
        assert "up to 3 items a week" in str(LimitReached(3, 3, date(2031, 1, 6)).message)
    with force_locale("vi"):
        assert "tối đa 1 món" in str(LimitReached(1, 0, date(2031, 1, 6)).message)
