"""One cleaning for every text a person types (services.text.clean_text, app.forms.BaseForm):
every form class of the app, found by importing its modules, cleans every value it is sent; the
pages that showed NUL and right-to-left overrides raw; passwords; JSON posted to a form."""
import importlib
import json
import pkgutil
import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import FieldList, FileField, Form, PasswordField, StringField, TextAreaField
from wtforms.fields import MultipleFileField

import app as app_package
from app.forms import BaseForm, SubForm, _walk
from app.models import Donation, DonationLine, Product, User, Vendor
from app.services.text import clean_block, clean_line, clean_text
from tests import factories
from tests.test_donations import form as donation_form
from tests.test_vendors import APPLICATION, PRODUCT, make_vendor

# A right-to-left override, NUL, a zero-width space, CR LF, an isolate, an "ộ" written as "o" and
# two combining marks, a tab — and an emoji whose zero-width joiner must stay.
DIRTY = " \u202eGia\x00y  o\u0302\u0323\u200b\r\n\u2067mới\u2069 \t👩\u200d🎓 \ufeff"
ONE_LINE = "Giay ộ mới 👩\u200d🎓"
SEVERAL_LINES = "Giay  ộ\nmới \t👩\u200d🎓"


@pytest.mark.parametrize("raw, line, block", [
    (DIRTY, ONE_LINE, SEVERAL_LINES),
    ("a\rb\u2028c\u2029d", "a b c d", "a\nb\nc\nd"),
    ("  lề trái\n\n\n  thụt vào  \n", "lề trái thụt vào", "lề trái\n\n\n  thụt vào"),
    ("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c", "", ""),
    ("\x01\x07\x1b[31m\x7f\x85\x9f", "[31m", "[31m"),
    ("\ud800x\udfff", "x", "x"),
    ("من\u200cو क्\u200dष", "من\u200cو क्\u200dष", "من\u200cو क्\u200dष"),  # ZWNJ/ZWJ stay
])
def test_clean_text(raw, line, block):
    assert clean_text(raw) == line
    assert clean_text(raw, multiline=True) == block
    assert clean_text(clean_text(raw)) == clean_text(raw)  # once is enough
    assert clean_text(None) is None and clean_text(5) == 5


def test_a_cut_line_or_block_ends_without_a_space():
    assert clean_line("ab  cd", 3) == "ab" and clean_block("ab \u202e cd", 4) == "ab"


# ---------------------------------------------------------------- every form of the app

def _app_form_classes() -> list[type]:
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        importlib.import_module(module.name)
    found, todo = set(), [Form]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted((c for c in found if c.__module__.startswith("app.")),
                  key=lambda c: f"{c.__module__}.{c.__qualname__}")


FORMS = _app_form_classes()


def test_the_walk_finds_the_forms():
    names = {c.__name__ for c in FORMS}
    assert {"RegisterForm", "VendorApplicationForm", "ProductForm", "OfferForm", "LineForm",
            "ItemForm", "PhotoEntry", "CatalogFilterForm", "DeliveryForm"} <= names
    assert len(FORMS) > 40


def _probe(cls):
    """`cls` built without its own constructor (which wants hubs, lines, products...): its
    fields, its Meta and its nested forms are those of the class."""
    def init(self, formdata):
        Form.__init__(self, formdata=formdata, meta={"csrf": False})
    return type(cls.__name__, (cls,), {"__init__": init})


def _typed(field) -> bool:
    return not isinstance(field, FileField | MultipleFileField | FieldList)


@pytest.mark.parametrize("cls", FORMS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_form_cleans_every_value_it_is_sent(app, cls):
    assert issubclass(cls, BaseForm | SubForm), \
        f"{cls.__qualname__} must inherit app.forms.BaseForm (or SubForm when nested)"
    probe = _probe(cls)
    with app.test_request_context(method="POST"):
        names = [f.name for f in _walk(probe(None)) if _typed(f)]
        form = probe(MultiDict({name: DIRTY for name in names}))
        fields = [f for f in _walk(form) if _typed(f)]
        assert [f.name for f in fields] == names
        for field in fields:
            if isinstance(field, PasswordField):
                expected = DIRTY  # never changed (a new one with hidden characters is refused)
            elif isinstance(field, TextAreaField):
                expected = SEVERAL_LINES
            else:
                expected = ONE_LINE
            assert field.raw_data == [expected], field.name  # what an error page shows again
            if isinstance(field, StringField) and not field.filters:  # photo_id: an id filter
                assert field.data == expected, field.name


# ---------------------------------------------------------------- through the pages

def _page(resp) -> str:
    return resp.get_data(as_text=True)


def _has_hidden(html: str) -> bool:
    return bool(re.search("[\x00\u202a-\u202e\u2066-\u2069\u200b]", html))


def test_a_vendor_application_is_stored_and_reviewed_clean(client, db, login_as):
    hub = factories.make_hub()
    organizer = factories.make_user(roles=("organizer",), hub=hub)
    login_as("student")
    resp = client.post("/gian-hang/dang-ky", data={
        **APPLICATION, "hub_id": hub.id, "business_name": "\u202eNón lá\u2066 Tân Phước\u2069",
        "story": "Ba thế hệ\x00 làm nón.\u202e\r\nỞ Tân Phước.\u200b  "})
    assert resp.status_code == 303, _page(resp)[:2000]
    vendor = db.session.scalar(select(Vendor))
    assert vendor.business_name == "Nón lá Tân Phước"
    assert vendor.story == "Ba thế hệ làm nón.\nỞ Tân Phước."
    login_as(user=organizer)
    page = _page(client.get("/gian-hang/duyet"))
    assert "Nón lá Tân Phước" in page and "Ba thế hệ làm nón." in page
    assert not _has_hidden(page)


def test_a_donation_is_stored_and_shown_to_the_hub_clean(client, db, login_as):
    hub = factories.make_hub(name="Đoàn trường THPT Tân Phước")
    resp = client.post("/tang-do", data=donation_form(
        hub, note="Gửi\u202e Đoàn\x00 trường\r\nCảm ơn\u2067", donor_name="Cô\u200b Lan\u202e",
        **{"line0-description": "Vở\u202e ô li\x00 96 trang", "line0-size": "\u2066A4\u2069"}))
    assert resp.status_code == 303, _page(resp)[:2000]
    donation = db.session.scalar(select(Donation))
    line = db.session.scalar(select(DonationLine))
    assert (donation.note, donation.donor_name) == ("Gửi Đoàn trường\nCảm ơn", "Cô Lan")
    assert (line.description, line.size) == ("Vở ô li 96 trang", "A4")
    login_as("volunteer", hub=hub)
    page = _page(client.get(f"/quan-ly/tang-do/{donation.id}"))
    assert "Gửi Đoàn trường" in page and "Vở ô li 96 trang" in page
    assert not _has_hidden(page)


def test_a_refused_product_form_shows_the_cleaned_text_again(client, db, login_as):
    vendor = make_vendor()
    login_as(user=vendor.user)
    resp = client.post(f"/gian-hang/{vendor.id}/san-pham/moi", data={
        **PRODUCT, "name": "Mật\x00\u202e ong", "price": "abc\x00", "stock": "\u202e5x",
        "description": "Ngọt\x00 thơm\u202e"})
    assert resp.status_code == 422
    page = _page(resp)
    assert not _has_hidden(page)
    assert 'value="Mật ong"' in page and 'value="abc"' in page and "Ngọt thơm</textarea>" in page
    assert db.session.scalar(select(Product)) is None


# ---------------------------------------------------------------- passwords

def test_a_new_password_with_hidden_characters_is_refused_not_changed(client, db):
    for password in ("mật khẩu\tmới", "matkhau\x00123", "mat\u202ekhau123"):
        resp = client.post("/tai-khoan/dang-ky", data={
            "name": "Lê Văn Tám", "phone": "0912345678", "password": password,
            "confirm": password})
        assert resp.status_code == 422
        assert "không được chứa ký tự điều khiển" in _page(resp)
    assert db.session.scalar(select(User)) is None


def test_a_password_is_the_same_typed_precomposed_or_with_combining_marks(client, db):
    decomposed = "me\u0302\u0323t mo\u031b\u0300i 2025"  # "mệt mời 2025" by a "tổ hợp" keyboard
    precomposed = "mệt mời 2025"
    assert decomposed != precomposed and clean_text(decomposed) == precomposed
    resp = client.post("/tai-khoan/dang-ky", data={
        "name": "Lê Văn Tám", "phone": "0912345678", "password": decomposed,
        "confirm": decomposed})
    assert resp.status_code == 303, _page(resp)[:2000]
    client.post("/tai-khoan/dang-xuat")
    for typed, status in ((precomposed, 303), (decomposed, 303), (" " + precomposed, 422)):
        client.delete_cookie("session")
        resp = client.post("/tai-khoan/dang-nhap", data={"phone": "0912345678",
                                                          "password": typed})
        assert resp.status_code == status, typed


# ---------------------------------------------------------------- JSON posted to a form

def test_json_posted_to_a_form_is_bounded_and_cleaned(client, db):
    """Flask-WTF fills a form from a JSON body too: it is read like every JSON the app reads
    (a RecursionError, a 500 before) and its text is cleaned like typed text."""
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"phone": {"a": 1}}', b"[1, 2]", b"{"):
        resp = client.post("/tai-khoan/dang-nhap", data=raw, content_type="application/json")
        assert resp.status_code == 400
    resp = client.post("/tai-khoan/dang-ky", content_type="application/json", data=json.dumps({
        "name": "Lê\u202e Văn\x00 Tám\ud800", "phone": "0912 345 678", "password": "mat-khau-9",
        "confirm": "mat-khau-9"}))
    assert resp.status_code == 303, _page(resp)[:2000]
    assert db.session.scalar(select(User.name)) == "Lê Văn Tám"
