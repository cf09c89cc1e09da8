from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..forms import BaseForm
from ..services.phones import InvalidPhone, normalize_vn_mobile


def vn_mobile(_form, field):
    try:
        field.data = normalize_vn_mobile(field.data)
    except InvalidPhone as exc:
        raise ValidationError(str(exc)) from exc


class RegisterForm(BaseForm):
    name = StringField(_l("Họ và tên"), validators=[
        DataRequired(_l("Vui lòng nhập họ tên.")), Length(max=120, message=_l("Tên quá dài."))])
    phone = TelField(_l("Số điện thoại di động"), validators=[
        DataRequired(_l("Vui lòng nhập số điện thoại.")), vn_mobile])
    password = PasswordField(_l("Mật khẩu"), validators=[
        DataRequired(_l("Vui lòng nhập mật khẩu.")),
        Length(min=8, max=128, message=_l("Mật khẩu cần từ 8 đến 128 ký tự."))])
    confirm = PasswordField(_l("Nhập lại mật khẩu"), validators=[
        EqualTo("password", message=_l("Hai mật khẩu không khớp."))])


class PhoneCodeForm(BaseForm):
    """The 6-digit code sent by SMS to the phone being registered."""
    code = StringField(_l("Mã 6 số"), validators=[
        DataRequired(_l("Vui lòng nhập mã 6 số trong tin nhắn.")), Length(max=32)])


class LoginForm(BaseForm):
    phone = TelField(_l("Số điện thoại"), validators=[
        DataRequired(_l("Vui lòng nhập số điện thoại.")), Length(max=20)])
    password = PasswordField(_l("Mật khẩu"), validators=[
        DataRequired(_l("Vui lòng nhập mật khẩu.")), Length(max=128)])


# ---------------------------------------------------------------- the profile (one form per change)

class NameForm(BaseForm):
    name = StringField(_l("Họ và tên"), validators=[
        DataRequired(_l("Vui lòng nhập họ tên.")), Length(max=120, message=_l("Tên quá dài."))])


class PhoneForm(BaseForm):
    phone = TelField(_l("Số điện thoại di động mới"), validators=[
        DataRequired(_l("Vui lòng nhập số điện thoại.")), vn_mobile])


def _new_password(label):
    return PasswordField(label, validators=[
        DataRequired(_l("Vui lòng nhập mật khẩu mới.")),
        Length(min=8, max=128, message=_l("Mật khẩu cần từ 8 đến 128 ký tự."))])


def _confirm():
    return PasswordField(_l("Nhập lại mật khẩu mới"), validators=[
        EqualTo("password", message=_l("Hai mật khẩu không khớp."))])


class RemindersForm(BaseForm):
    wanted = BooleanField(_l("Nhắn tin nhắc tôi vào tối hôm trước ngày nhận đồ hoặc ngày đi giao"))


class PasswordForm(BaseForm):
    old_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[
        DataRequired(_l("Vui lòng nhập mật khẩu hiện tại.")), Length(max=128)])
    password = _new_password(_l("Mật khẩu mới"))
    confirm = _confirm()


class ConfirmForm(BaseForm):
    """A confirm step with nothing to fill in but the CSRF token."""


# ---------------------------------------------------------------- recovery

class ResetForm(BaseForm):
    phone = TelField(_l("Số điện thoại"), validators=[
        DataRequired(_l("Vui lòng nhập số điện thoại.")), Length(max=20)])
    code = StringField(_l("Mã khôi phục"), validators=[
        DataRequired(_l("Vui lòng nhập mã khôi phục.")), Length(max=32)])
    password = _new_password(_l("Mật khẩu mới"))
    confirm = _confirm()


class SendCodeForm(BaseForm):
    """"Gửi mã qua SMS": the phone of the account whose password was forgotten."""
    phone = TelField(_l("Số điện thoại của tài khoản"), validators=[
        DataRequired(_l("Vui lòng nhập số điện thoại.")), vn_mobile])


class IssueCodeForm(BaseForm):
    phone = TelField(_l("Số điện thoại của học sinh"), validators=[
        DataRequired(_l("Vui lòng nhập số điện thoại.")), vn_mobile])


# ---------------------------------------------------------------- deleting the account

class DeleteForm(BaseForm):
    password = PasswordField(_l("Mật khẩu"), validators=[
        DataRequired(_l("Vui lòng nhập mật khẩu để xác nhận.")), Length(max=128)])
