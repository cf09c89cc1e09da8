"""Forms of donations: the donor's offer, the volunteer's inspection of a line.

They only carry the values: the rules live in services.donations, whose messages are put next to
the fields with `show`. Numbers are read leniently (a bad one becomes 0 or None, which the service
answers with a Vietnamese message), so WTForms' English messages never show.
"""
import re
from uuid import uuid4

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)

from ..forms import (
    BaseForm,
    PlainSelect,
    ShowsErrors,
    SubForm,
    choices,
    id_or_none,
    idempotency_key,
)
from ..services import catalog, geo
from ..services.donations import (
    HANDOVER_LABELS,
    MAX_LINES,
    Inspection,
    Offer,
    OfferLine,
)
from ..store.forms import PhotosField


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None



class LineForm(SubForm):
    description = StringField(_l("Món đồ"), render_kw={"maxlength": 160})
    category = SelectField(_l("Danh mục"), validate_choice=False)
    size = StringField(_l("Cỡ"), render_kw={"maxlength": 32})
    condition = SelectField(_l("Tình trạng"), validate_choice=False, default="good")
    quantity = StringField(_l("Số lượng"), default="1",
                           render_kw={"inputmode": "numeric", "maxlength": 3})
    photos = PhotosField(_l("Ảnh (không bắt buộc, tối đa %(n)s)", n=catalog.MAX_PHOTOS),
                         render_kw={"accept": "image/jpeg,image/png,image/webp"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = choices([("", _("— Chọn danh mục —")),
                                         *catalog.CATEGORIES.items()])
        self.condition.choices = choices(catalog.CONDITIONS.items())

    @property
    def is_blank(self) -> bool:
        return not (self.description.data or self.size.data
                    or self.category.data or self.photos.uploads())

    def line(self) -> OfferLine:
        return OfferLine(self.description.data or "", self.category.data or "",
                         self.size.data or "", self.condition.data or "",
                         _int_or_none(self.quantity.data) or 0, tuple(self.photos.uploads()))


class OfferForm(ShowsErrors, BaseForm):
    hub_id = SelectField(_l("Tặng cho điểm phát"), coerce=id_or_none, validate_choice=False)
    donor_name = StringField(_l("Tên của bạn"), render_kw={"maxlength": 120,
                                                           "autocomplete": "name"})
    phone = TelField(_l("Số điện thoại di động"), render_kw={
        "autocomplete": "tel", "inputmode": "tel", "placeholder": "0912 345 678"})
    handover = RadioField(_l("Cách trao quà"), choices=choices(HANDOVER_LABELS.items()),
                          default="bring", validate_choice=False)
    province_code = SelectField(_l("Tỉnh/thành phố"), coerce=id_or_none, validate_choice=False,
                                widget=PlainSelect())
    ward_code = SelectField(_l("Phường/xã"), coerce=id_or_none, validate_choice=False,
                            widget=PlainSelect())
    street = StringField(_l("Số nhà, đường hoặc thôn/ấp"), render_kw={"maxlength": 255})
    note = TextAreaField(_l("Lời nhắn cho Đoàn (không bắt buộc)"),
                         render_kw={"rows": 2, "maxlength": 500})
    consent = BooleanField(_l(
        "Tôi đồng ý để Đoàn Thanh niên dùng tên, số điện thoại (và địa chỉ, nếu nhờ tới lấy) chỉ "
        "để liên hệ nhận món quà này, theo Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân."))
    idempotency_key = HiddenField(default=lambda: uuid4().hex)

    def __init__(self, hubs, **kwargs):
        super().__init__(**kwargs)
        self.hub_id.choices = choices([("", _("— Chọn điểm phát —"))]
                                      + [(h.id, h.name) for h in hubs])
        self.province_code.choices = choices([("", _("— Chọn tỉnh/thành phố —")),
                                              *geo.provinces()])
        self.ward_code.choices = choices([("", _("— Chọn phường/xã —")),
                                          *geo.wards_of(self.province_code.data)])
        # The service numbers the lines it was given (the blank ones are left out).
        self._line_index = [i for i, line in enumerate(self.lines) if not line.form.is_blank]

    @property
    def lines(self) -> list[FormField]:
        return [self[f"line{i}"] for i in range(MAX_LINES)]

    def offer(self) -> Offer:
        return Offer(
            hub_id=self.hub_id.data, donor_name=self.donor_name.data or "",
            phone=self.phone.data or "", handover=self.handover.data or "",
            lines=tuple(self.lines[i].form.line() for i in self._line_index),
            province_code=self.province_code.data, ward_code=self.ward_code.data,
            street=self.street.data or "", note=self.note.data or "",
            consent=bool(self.consent.data),
        )

    def field_name(self, name: str) -> str:
        """The service's "lines-1-quantity" is the second non-blank line's field."""
        match = re.fullmatch(r"lines-(\d+)-(\w+)", name)
        if match:
            k = int(match.group(1))
            i = self._line_index[k] if k < len(self._line_index) else 0
            return f"line{i}-{match.group(2)}"
        return name

    @property
    def key(self) -> str | None:
        return idempotency_key(self.idempotency_key.data)

    @property
    def extra_lines_used(self) -> bool:
        """Open the "more things" part when one of lines 2… has data or a message."""
        return any(not line.form.is_blank or line.form.errors for line in self.lines[1:])


# Five fixed lines ("line0-description", ...): without JavaScript they are all on the page.
for _i in range(MAX_LINES):
    setattr(OfferForm, f"line{_i}", FormField(LineForm))


class InspectForm(ShowsErrors, BaseForm):
    """One line of a received donation; prefixed per line ("line-7-") so a page holds many."""
    received = StringField(_l("Số lượng nhận được"),
                           render_kw={"inputmode": "numeric", "maxlength": 3})
    accepted = StringField(_l("Số lượng đạt, đưa lên gian hàng"),
                           render_kw={"inputmode": "numeric", "maxlength": 3})
    condition = SelectField(_l("Tình trạng bạn thấy"), validate_choice=False)
    reason = StringField(_l("Lý do (khi có món không nhận)"), render_kw={"maxlength": 255})
    decision = StringField()  # the button pressed: "accept" / "reject" (never rendered)

    def __init__(self, line, **kwargs):
        """Filled with what is known of the line; what was posted for it wins."""
        received = line.received_quantity if line.received_quantity is not None else line.quantity
        data = {"received": str(received), "accepted": str(line.accepted_quantity or received),
                "condition": line.seen_condition or line.condition, "reason": line.reason or ""}
        super().__init__(prefix=f"line-{line.id}-", data=data, **kwargs)
        self.condition.choices = choices(catalog.CONDITIONS.items())

    def inspection(self) -> Inspection:
        return Inspection(accept=self.decision.data == "accept",
                          received=_int_or_none(self.received.data),
                          accepted=_int_or_none(self.accepted.data),
                          condition=self.condition.data or "", reason=self.reason.data or "")


class ReasonForm(BaseForm):
    reason = StringField(_l("Lý do"), render_kw={"maxlength": 255})
