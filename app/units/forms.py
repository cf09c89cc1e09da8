"""The organizers' forms for union units: a new unit below one of theirs, a unit's settings, the
wards its volunteers deliver to."""
import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..forms import BaseForm, PlainSelect, ShowsErrors, choices, id_or_none
from ..services import geo
from ..services.hubs import LEVEL_LABELS, LIMITS, WEEKDAYS, HubSettings, HubSpec, child_levels

_TIME = re.compile(r"([01]?\d|2[0-3])[:hH.]([0-5]\d)")

PHONE_HINT = _l("Số di động Việt Nam, ví dụ 0912 345 678. Để trống nếu chưa có.")


def _number(label, name: str, message):
    low, high = LIMITS[name]
    return IntegerField(label, validators=[
        InputRequired(message), NumberRange(low, high, _l("Nhập một số từ %(min)s đến %(max)s."))],
        render_kw={"min": low, "max": high, "inputmode": "numeric"})


class ContactFields:
    """Name, pickup and contact: the same questions on the new-unit form and the settings form."""
    name = StringField(_l("Tên đơn vị"), validators=[
        DataRequired(_l("Vui lòng nhập tên đơn vị.")),
        Length(max=160, message=_l("Tên quá dài (tối đa 160 ký tự)."))],
        render_kw={"maxlength": 160})
    pickup_place = StringField(_l("Nơi nhận đồ"), validators=[
        DataRequired(_l("Vui lòng nhập nơi nhận đồ.")),
        Length(max=255, message=_l("Tối đa 255 ký tự."))], render_kw={"maxlength": 255})
    pickup_hours = StringField(_l("Giờ nhận đồ"), validators=[
        Length(max=120, message=_l("Tối đa 120 ký tự."))], render_kw={"maxlength": 120})
    contact_phone = StringField(_l("Điện thoại liên hệ"), validators=[
        Length(max=20, message=_l("Số điện thoại không hợp lệ."))],
        render_kw={"type": "tel", "inputmode": "tel", "autocomplete": "off", "maxlength": 20})
    zalo_phone = StringField(_l("Số Zalo"), validators=[
        Length(max=20, message=_l("Số điện thoại không hợp lệ."))],
        render_kw={"type": "tel", "inputmode": "tel", "autocomplete": "off", "maxlength": 20})
    map_url = StringField(_l("Liên kết bản đồ"), validators=[
        Length(max=500, message=_l("Liên kết quá dài."))],
        render_kw={"type": "url", "inputmode": "url", "maxlength": 500,
                   "placeholder": "https://maps.app.goo.gl/…"})


class NewUnitForm(ContactFields, ShowsErrors, BaseForm):
    parent_id = SelectField(_l("Thuộc đơn vị"), coerce=id_or_none, validate_choice=False)
    level = SelectField(_l("Cấp"), choices=choices(LEVEL_LABELS.items()), default="base")
    holds_stock = BooleanField(_l("Giữ và phát đồ (điểm phát)"), default=True)
    ward_code = SelectField(_l("Phường/xã của đơn vị"), coerce=id_or_none, validate_choice=False,
                            widget=PlainSelect())

    def set_choices(self, parents, parent) -> None:
        self.parent_id.choices = choices((h.id, h.name) for h in parents)
        levels = child_levels(parent.level if parent else None)
        self.level.choices = choices((k, v) for k, v in LEVEL_LABELS.items() if k in levels)
        wards = geo.wards_of(parent.province_code) if parent else []
        self.ward_code.choices = choices([("", _l("— Chọn phường/xã —")), *wards])

    def spec(self) -> HubSpec:
        return HubSpec(
            name=self.name.data or "", province="", ward=str(self.ward_code.data or ""),
            pickup_place=self.pickup_place.data or "", pickup_hours=self.pickup_hours.data or "",
            parent_id=self.parent_id.data, level=self.level.data,
            holds_stock=bool(self.holds_stock.data), contact_phone=self.contact_phone.data or "",
            zalo_phone=self.zalo_phone.data or "", map_url=self.map_url.data or "")


def _weekday_choices():
    return choices(enumerate(WEEKDAYS))


class UnitForm(ContactFields, ShowsErrors, BaseForm):
    description = TextAreaField(_l("Giới thiệu"), validators=[
        Length(max=4000, message=_l("Tối đa 4000 ký tự."))], render_kw={"rows": 4})
    holds_stock = BooleanField(_l("Giữ và phát đồ (điểm phát)"))
    delivery_weekday = SelectField(_l("Ngày giao tận nơi"), coerce=int, choices=_weekday_choices)
    cutoff_weekday = SelectField(_l("Ngày chốt danh sách giao"), coerce=int,
                                 choices=_weekday_choices)
    cutoff_time = StringField(_l("Giờ chốt danh sách"), validators=[
        DataRequired(_l("Vui lòng nhập giờ chốt, ví dụ 20:00."))],
        render_kw={"type": "time", "maxlength": 5})
    stops_per_route = _number(_l("Số điểm giao mỗi tuyến"), "stops_per_route",
                              _l("Vui lòng nhập số điểm mỗi tuyến."))
    weekly_limit = _number(_l("Số món mỗi bạn được nhận mỗi tuần"), "weekly_limit",
                           _l("Vui lòng nhập giới hạn mỗi tuần."))
    retention_days = _number(_l("Số ngày giữ điện thoại, địa chỉ người nhận sau khi xong"),
                             "retention_days", _l("Vui lòng nhập số ngày."))

    def validate_cutoff_time(self, field) -> None:
        if field.data and not _TIME.fullmatch(field.data):
            from wtforms.validators import ValidationError
            raise ValidationError(_l("Giờ chốt viết như 20:00."))

    def cutoff_minutes(self) -> int:
        hours, minutes = _TIME.fullmatch(self.cutoff_time.data).groups()
        return int(hours) * 60 + int(minutes)

    def field_name(self, name: str) -> str:
        return "cutoff_time" if name == "cutoff_minutes" else super().field_name(name)

    @classmethod
    def for_settings(cls, s: HubSettings, **kw) -> "UnitForm":
        data = {k: getattr(s, k) for k in (
            "name", "pickup_place", "pickup_hours", "description", "contact_phone",
            "zalo_phone", "map_url", "delivery_weekday", "cutoff_weekday", "stops_per_route",
            "weekly_limit", "retention_days", "holds_stock")}
        data["cutoff_time"] = f"{s.cutoff_minutes // 60:02d}:{s.cutoff_minutes % 60:02d}"
        return cls(data=data, **kw)

    def settings(self) -> HubSettings:
        return HubSettings(
            name=self.name.data or "", pickup_place=self.pickup_place.data or "",
            pickup_hours=self.pickup_hours.data or "", description=self.description.data or "",
            contact_phone=self.contact_phone.data or "", zalo_phone=self.zalo_phone.data or "",
            map_url=self.map_url.data or "", delivery_weekday=self.delivery_weekday.data,
            cutoff_weekday=self.cutoff_weekday.data, cutoff_minutes=self.cutoff_minutes(),
            stops_per_route=self.stops_per_route.data, weekly_limit=self.weekly_limit.data,
            retention_days=self.retention_days.data, holds_stock=bool(self.holds_stock.data))


class WardsForm(ShowsErrors, BaseForm):
    """The wards the unit's volunteers deliver to: checkboxes named "wards" (the template draws
    them from the province's list)."""
    wards = SelectMultipleField(_l("Phường/xã giao hàng"), coerce=id_or_none,
                                validate_choice=False)

    def codes(self) -> list[int]:
        return [code for code in self.wards.data or [] if code]
