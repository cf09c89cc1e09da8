"""The organizers' form to invite someone to a unit."""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, TelField
from wtforms.validators import Length, ValidationError

from ..forms import BaseForm, ShowsErrors, choices
from ..services.people import ROLE_LABELS


class InviteForm(ShowsErrors, BaseForm):
    # Any role name is passed on: the service answers one that may not be granted (a 403).
    role = SelectField(_l("Vai trò"), choices=choices(ROLE_LABELS.items()), default="volunteer",
                       validate_choice=False)
    how = RadioField(_l("Mời bằng"), choices=choices([
        ("link", _l("Đường dẫn và mã QR dùng một lần (quét tại buổi họp)")),
        ("phone", _l("Số điện thoại của người được mời"))]), default="link",
        validate_choice=True)
    phone = TelField(_l("Số điện thoại di động"), validators=[
        Length(max=20, message=_l("Số điện thoại không hợp lệ."))],
        render_kw={"inputmode": "tel", "autocomplete": "off", "maxlength": 20,
                   "placeholder": "0912 345 678"})

    def validate_phone(self, field):
        if self.how.data == "phone" and not (field.data or "").strip():
            raise ValidationError(_l("Vui lòng nhập số điện thoại của người được mời."))

    def invited_phone(self) -> str | None:
        return self.phone.data if self.how.data == "phone" else None
