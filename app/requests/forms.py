"""The delivery form, shared by the checkout and the waitlist.

It only carries the values: the rules (phone, province/ward, which methods a hub offers, consent)
live in services.requests.validate_delivery, whose messages are put next to the fields here.
Without JavaScript the ward list follows the province posted: a first submit with a new province
comes back asking for the ward, now listing that province's wards.
"""
from uuid import uuid4

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TelField,
)

from ..forms import BaseForm, PlainSelect, ShowsErrors, choices, id_or_none, idempotency_key
from ..models import Hub
from ..models.request import METHODS
from ..services import geo
from ..services.requests import METHOD_LABELS, Delivery, allowed_methods


class DeliveryForm(ShowsErrors, BaseForm):
    # in the page's order (the error summary lists them so): how, where, who
    method = RadioField(_l("Cách nhận đồ"), validate_choice=False)
    province_code = SelectField(_l("Tỉnh/thành phố"), coerce=id_or_none, validate_choice=False,
                                widget=PlainSelect())
    ward_code = SelectField(_l("Phường/xã"), coerce=id_or_none, validate_choice=False,
                            widget=PlainSelect())
    street = StringField(_l("Số nhà, đường hoặc thôn/ấp"))
    recipient_name = StringField(_l("Tên người nhận"))
    phone = TelField(_l("Số điện thoại di động"))
    consent = BooleanField(_l(
        "Tôi đồng ý để Đoàn Thanh niên dùng họ tên, số điện thoại và địa chỉ trên chỉ để giao "
        "món đồ này, theo Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân."))
    # A fresh key each time the form is shown: a double submit creates one request.
    idempotency_key = HiddenField(default=lambda: uuid4().hex)
    remembered = False  # the address shown is the student's last one (see requests.routes)

    def __init__(self, hub: Hub, **kwargs):
        super().__init__(**kwargs)
        self.method.choices = choices((m, METHOD_LABELS[m]) for m in METHODS
                                      if m != "volunteer" or hub.delivery_wards)
        self.province_code.choices = choices([("", _("— Chọn tỉnh/thành phố —")),
                                              *geo.provinces()])
        self.ward_code.choices = choices([("", _("— Chọn phường/xã —")),
                                          *geo.wards_of(self.province_code.data)])
        # The ward given (prefilled from the last request, or sent) decides whether the hub's
        # volunteers can bring it: the page says so before the student fills the rest.
        ward = self.ward_code.data
        self.unserved_ward = (geo.ward_name(ward) if ward and hub.delivery_wards
                              and "volunteer" not in allowed_methods(hub, ward) else None)

    def delivery(self) -> Delivery:
        return Delivery(
            method=self.method.data or "", recipient_name=self.recipient_name.data or "",
            phone=self.phone.data or "", province_code=self.province_code.data,
            ward_code=self.ward_code.data, street=self.street.data or "",
            consent=bool(self.consent.data),
        )

    @property
    def key(self) -> str | None:
        """The idempotency key as sent, if it looks like one (else the submit is not
        deduplicated)."""
        return idempotency_key(self.idempotency_key.data)

