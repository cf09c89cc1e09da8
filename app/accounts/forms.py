from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TelField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..services.phones import InvalidPhone, normalize_vn_mobile


def vn_mobile(_form, field):
    try:
        field.data = normalize_vn_mobile(field.data)
    except InvalidPhone as exc:
        raise ValidationError(str(exc)) from exc


class RegisterForm(FlaskForm):
    name = StringField(_l("Họ và tên"), validators=[
        DataRequired(_l("Vui lòng nhập họ tên.")), Length(max=120, message=_l("Tên quá dài."))])
    phone = TelField(_l("Số điện thoại di động"), validators=[
        DataRequired(_l("Vui lòng nhập số điện thoại.")), vn_mobile])
    password = PasswordField(_l("Mật khẩu"), validators=[
        DataRequired(_l("Vui lòng nhập mật khẩu.")),
        Length(min=8, max=128, message=_l("Mật khẩu cần từ 8 đến 128 ký tự."))])
    confirm = PasswordField(_l("Nhập lại mật khẩu"), validators=[
        EqualTo("password", message=_l("Hai mật khẩu không khớp."))])


class LoginForm(FlaskForm):
    phone = TelField(_l("Số điện thoại"), validators=[
        DataRequired(_l("Vui lòng nhập số điện thoại.")), Length(max=20)])
    password = PasswordField(_l("Mật khẩu"), validators=[
        DataRequired(_l("Vui lòng nhập mật khẩu.")), Length(max=128)])
