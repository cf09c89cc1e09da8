"""The small pieces every feature's form shares (app/forms.py)."""
import pytest
from flask_wtf import FlaskForm
from wtforms import Form, FormField, StringField

from app.forms import ShowsErrors, idempotency_key
from app.services.donations import DonationError
from app.services.formatting import parse_vnd
from app.services.vendors import VendorError


@pytest.mark.parametrize("sent, kept", [
    ("a1B2-c_3", "a1B2-c_3"), ("x" * 64, "x" * 64),
    ("", None), (None, None), ("x" * 65, None), ("ab cd", None), ("ab/cd", None),
    ("khóa", None), (["ab"], None),
])
def test_idempotency_key_keeps_only_what_looks_like_one(sent, kept):
    assert idempotency_key(sent) == kept


class _Line(Form):
    quantity = StringField()


class _Form(ShowsErrors, FlaskForm):
    class Meta:
        csrf = False

    name = StringField()
    line0 = FormField(_Line)


def test_show_puts_one_message_next_to_its_field_or_on_top(app):
    with app.test_request_context(method="POST", data={}):
        form = _Form()
        form.show(VendorError("Tên quá dài.", "name"))
        form.show(VendorError("Không lưu được."))
        form.show(VendorError("Trường lạ.", "no_such_field"))
        assert form.name.errors == ["Tên quá dài."]
        assert form.form_errors == ["Không lưu được.", "Trường lạ."]


def test_show_puts_many_messages_and_finds_nested_and_prefixed_fields(app):
    with app.test_request_context(method="POST", data={}):
        form = _Form(prefix="p-")
        form.show(DonationError({"name": "Vui lòng nhập tên.", "line0-quantity": "Tối đa 20.",
                                 None: "Kiểm tra lại."}))
        assert form.name.errors == ["Vui lòng nhập tên."]
        assert form.line0.quantity.errors == ["Tối đa 20."]
        assert form.form_errors == ["Kiểm tra lại."]


@pytest.mark.parametrize("typed, amount", [
    ("25000", 25_000), ("25.000", 25_000), ("25,000 ₫", 25_000), ("25 000đ", 25_000),
    ("25k", 25_000), ("25K", 25_000), ("25 k", 25_000), ("25kđ", 25_000), ("50 nghìn", 50_000),
    ("1,5tr", 1_500_000), ("1.5 triệu", 1_500_000), ("25.5k", 25_500), ("1.000.000", 1_000_000),
    ("-5000", -5_000), ("2.50", None), ("năm chục", None), ("", None), ("25kk", None),
])
def test_an_amount_is_read_as_people_type_it(typed, amount):
    assert parse_vnd(typed) == amount


def test_every_price_and_amount_field_reads_25k(app):
    """The product's price, the market's practice credit and a booth's typed amount alike."""
    from app.market.forms import BasketForm, EventForm, basket_form
    from app.vendors.forms import ProductForm
    from app.vendors.forms import WholeNumberField as Money
    with app.test_request_context(method="POST", data={
            "price": "25k", "practice_credit": "100k", "amount": "25k"}):
        fields = [ProductForm().price, EventForm([]).practice_credit,
                  basket_form(BasketForm, []).amount]
        assert all(isinstance(f, Money) and f.money for f in fields)
        assert [f.data for f in fields] == [25_000, 100_000, 25_000]
