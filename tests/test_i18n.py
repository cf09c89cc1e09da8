"""English, the second language: pages switch to it, and the catalogue covers every source string.

The .mo is built by `make translations` before the tests; nothing here compiles. A string wrapped
for translation but missing from messages.po, untranslated or fuzzy fails here: run
`make translations-update`, translate, commit the .po.
"""
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

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
