"""The small pieces every feature's form shares (app/forms.py)."""
import pytest
from flask_wtf import FlaskForm
from wtforms import Form, FormField, StringField

from app.forms import ShowsErrors, idempotency_key
from app.services.donations import DonationError
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
