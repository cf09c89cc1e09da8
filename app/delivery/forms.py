"""Forms of the weekly run and the hand-over. They carry values; the rules live in
services.runs and services.handover, whose messages `show` puts next to the fields."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import InputRequired, ValidationError

from ..forms import BaseForm, ShowsErrors


def _iso_date(value) -> dt.date | None:
    """A date of this century, else None (9999-12-31 would overflow the week arithmetic)."""
    try:
        day = dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None
    return day if day and 2000 <= day.year <= 2099 else None


class BuildForm(ShowsErrors, BaseForm):
    date = StringField(_l("Ngày giao"), render_kw={"type": "date"})

    def validate_date(self, field) -> None:
        if _iso_date(field.data) is None:
            raise ValidationError(_l("Vui lòng chọn ngày giao (ngày/tháng/năm)."))

    @property
    def day(self) -> dt.date | None:
        return _iso_date(self.date.data)


class DayForm(BuildForm):
    """The date picker of the run page (GET ?ngay=)."""

    class Meta:
        csrf = False


class ScanForm(ShowsErrors, BaseForm):
    class Meta:
        csrf = False

    ma = StringField(_l("Mã bưu kiện"), render_kw={
        "autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
        "placeholder": "0D-4K7P"})


_STUDENT_CODE = {"inputmode": "numeric", "autocomplete": "off", "maxlength": "4",
                 "pattern": "[0-9]{4}"}


class ConfirmForm(ShowsErrors, BaseForm):
    ma = HiddenField()
    student_code = StringField(_l("Mã 4 số bạn nhận đọc cho bạn"),
                               validators=[InputRequired(_l("Vui lòng nhập mã xác nhận."))],
                               render_kw=_STUDENT_CODE)


class MissedForm(ShowsErrors, BaseForm):
    ma = HiddenField()
    reason = StringField(_l("Lý do"), validators=[InputRequired(
        _l("Vui lòng ghi lý do giao chưa thành công."))],
        render_kw={"placeholder": _l("Không có ai ở nhà, gọi không nghe máy…")})
    then = RadioField(_l("Sau đó"), default="next", validate_choice=False, choices=[
        SelectChoice("next", _l("Giao lại ở chuyến sau")),
        SelectChoice("stock", _l("Hủy yêu cầu, trả món đồ về kho")),
    ])


class TrackingForm(ShowsErrors, BaseForm):
    tracking_number = StringField(_l("Mã bưu gửi"), validators=[InputRequired(
        _l("Vui lòng nhập mã bưu gửi."))], render_kw={"autocapitalize": "characters",
                                                        "placeholder": "EB123456789VN"})


class PostResultForm(ShowsErrors, BaseForm):
    result = RadioField(_l("Kết quả"), validate_choice=False, choices=[
        SelectChoice("delivered", _l("Bưu điện đã giao")),
        SelectChoice("returned", _l("Bưu điện trả lại"))])
    reason = StringField(_l("Lý do trả lại"))

    def validate_result(self, field) -> None:
        if field.data not in ("delivered", "returned"):
            raise ValidationError(_l("Vui lòng chọn kết quả."))
