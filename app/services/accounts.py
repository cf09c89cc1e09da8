"""Accounts: registration, login, roles."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..database import write_transaction
from ..extensions import db
from ..models import User, UserRole
from ..models.user import ROLES
from .phones import InvalidPhone, normalize_vn_mobile
from .text import clean_line


class AccountError(ValueError):
    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def find_by_phone(phone: str) -> User | None:
    return db.session.scalar(select(User).where(User.phone == phone))


def register(name: str, phone: str, password: str, roles=("student",),
             hub_id: int | None = None) -> User:
    """Create a user; `phone` may be in any Vietnamese format. Raises AccountError."""
    try:
        phone = normalize_vn_mobile(phone)
    except InvalidPhone as exc:
        raise AccountError(str(exc), "phone") from exc
    name = clean_line(name, 120)
    if not name:
        raise AccountError(_l("Vui lòng nhập họ tên."), "name")
    if len(password) < 8:
        raise AccountError(_l("Mật khẩu cần ít nhất 8 ký tự."), "password")
    with write_transaction() as session:
        if find_by_phone(phone):
            raise AccountError(_l("Số điện thoại này đã có tài khoản. Hãy đăng nhập."), "phone")
        user = User(name=name, phone=phone)
        user.set_password(password)
        for role in roles:
            if role not in ROLES:
                raise AccountError(f"Unknown role {role}")
            scoped = hub_id if role in ("volunteer", "organizer", "vendor") else None
            user.roles.append(UserRole(role=role, hub_id=scoped))
        session.add(user)
    return user


def authenticate(phone: str, password: str) -> User | None:
    try:
        phone = normalize_vn_mobile(phone)
    except ValueError:
        return None
    user = find_by_phone(phone)
    return user if user and user.check_password(password) else None


def set_locale(user_id: int, locale: str) -> None:
    with write_transaction():
        user = db.session.get(User, user_id)
        if user:
            user.locale = locale
