"""Forms of Phiên chợ 4.0. They carry the values; the rules live in services.market and
services.wallets, whose messages are put next to the fields with `show`."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TimeField,
)
from wtforms.validators import InputRequired
from wtforms.widgets import TextInput

from ..forms import BaseForm, choices, id_or_none
from ..services.market import EventFields
from ..services.orders import MAX_QUANTITY
from ..services.wallets import Participant, new_key
from ..vendors.forms import ShowsErrors, WholeNumberField


class EventForm(ShowsErrors, BaseForm):
    hub_id = SelectField(_l("Điểm phát tổ chức"), coerce=id_or_none, validate_choice=False)
    name = StringField(_l("Tên phiên chợ"), render_kw={"maxlength": 160,
                                                      "placeholder": _l("Phiên chợ 4.0 tháng 10")})
    place = StringField(_l("Địa điểm"), render_kw={"maxlength": 255})
    day = DateField(_l("Ngày"), validators=[InputRequired(_l("Vui lòng chọn ngày."))])
    start = TimeField(_l("Bắt đầu"), validators=[InputRequired(_l("Vui lòng nhập giờ bắt đầu."))])
    end = TimeField(_l("Kết thúc"), validators=[InputRequired(_l("Vui lòng nhập giờ kết thúc."))])
    practice_credit = WholeNumberField(
        _l("Điểm tập cho mỗi người tham gia"), money=True, widget=TextInput(), default=100_000,
        validators=[InputRequired(_l("Vui lòng nhập số điểm."))],
        render_kw={"inputmode": "numeric"})

    def __init__(self, hubs, **kwargs):
        super().__init__(**kwargs)
        self.hub_id.choices = choices((h.id, h.name) for h in hubs)

    def fields(self) -> EventFields:
        return EventFields(self.hub_id.data, self.name.data or "", self.place.data or "",
                           self.day.data, self.start.data, self.end.data,
                           self.practice_credit.data)


class InviteForm(ShowsErrors, BaseForm):
    vendor_ids = SelectMultipleField(_l("Gian hàng được mời"), coerce=int, validate_choice=False)


class ActionForm(BaseForm):
    """A button that changes something (accept, decline, close, refund, confirm, cancel)."""


class JoinForm(ShowsErrors, BaseForm):
    name = StringField(_l("Họ tên"), render_kw={"maxlength": 120, "autocomplete": "name"})
    phone = TelField(_l("Số điện thoại di động"), render_kw={"autocomplete": "tel",
                                                            "inputmode": "tel"})
    first_qr = RadioField(_l("Đây có phải lần đầu bạn thanh toán bằng mã QR?"),
                          choices=choices([("yes", _l("Đúng, lần đầu")),
                                           ("no", _l("Không, tôi đã từng"))]),
                          validate_choice=False)
    consent = BooleanField(_l("Tôi đồng ý để ban tổ chức lưu họ tên và số điện thoại chỉ để quản "
                              "lý ví tập trong phiên chợ này (Nghị định 13/2023/NĐ-CP)."))
    key = HiddenField(default=new_key)

    def participant(self) -> Participant:
        answer = {"yes": True, "no": False}.get(self.first_qr.data or "")
        return Participant(self.name.data or "", self.phone.data or "", answer,
                           getattr(self, "pin", None) and self.pin.data or "")

    def consented(self) -> bool:
        if not self.consent.data:
            self.consent.errors = [_("Vui lòng đồng ý để tham gia.")]
        return bool(self.consent.data)


class DeskForm(JoinForm):
    """At the welcome desk: the phone is optional, the wallet card gets a 4-digit PIN."""

    pin = PasswordField(_l("Mã PIN 4 số của thẻ (người tham gia tự chọn và tự nhập)"),
                        render_kw={"inputmode": "numeric", "maxlength": 4,
                                   "autocomplete": "off", "pattern": "[0-9]{4}"})


class PinForm(ShowsErrors, BaseForm):
    pin = PasswordField(_l("Mã PIN mới (4 số)"), render_kw={
        "inputmode": "numeric", "maxlength": 4, "autocomplete": "off", "pattern": "[0-9]{4}"})


class PayForm(ShowsErrors, BaseForm):
    """The participant's confirmation: the amount and what for, carried from the basket step."""

    amount = WholeNumberField(_l("Số điểm"), widget=HiddenField.widget)
    note = HiddenField()
    key = HiddenField()


class BasketForm(ShowsErrors, BaseForm):
    """What is bought at a booth: a quantity per product (`qty_<id>`), or a typed amount."""

    amount = WholeNumberField(_l("Hoặc nhập số"), money=True, widget=TextInput(),
                              render_kw={"inputmode": "numeric", "placeholder": "20.000"})
    key = HiddenField(default=new_key)

    def quantity_field(self, product):
        return self[f"qty_{product.id}"]

    def quantities(self) -> dict[int, int]:
        return {p.id: self.quantity_field(p).data or 0 for p in self.products}


class CardPayForm(BasketForm):
    card = HiddenField()
    pin = PasswordField(_l("Người tham gia nhập mã PIN 4 số"), render_kw={
        "inputmode": "numeric", "maxlength": 4, "autocomplete": "off", "pattern": "[0-9]{4}"})


def basket_form(base, products, csrf: bool = True, **kwargs):
    """A `base` form (BasketForm or a subclass) with a quantity field for each product."""
    class _Form(base):
        pass

    if not csrf:  # a GET form
        _Form.Meta = type("Meta", (), {"csrf": False})
    for p in products:
        setattr(_Form, f"qty_{p.id}", WholeNumberField(
            p.name, default=0, render_kw={"inputmode": "numeric", "min": 0,
                                          "max": MAX_QUANTITY}))
    form = _Form(**kwargs)
    form.products = products
    return form
