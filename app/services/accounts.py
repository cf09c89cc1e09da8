"""Accounts: registration, login, roles, the profile (name, phone, password) and the signed-in
devices.

Login guesses are limited per phone as well as per address (the route's limit): the wrong
passwords of one phone, typed from anywhere, are counted in the limiter's storage (shared by the
workers of a machine, or Redis across machines); past LOGIN_PHONE_FAILURE_LIMIT that phone waits
for the end of the window (at most 15 minutes by default), and a password reset or a right
password ends it. Every login checks one password hash — a dummy one when the phone has no
account — so a known phone and an unknown one take the same time.
"""
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from limits import parse
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import write_transaction
from ..extensions import db, limiter
from ..models import User, UserRole
from ..models.user import ROLES
from . import phone_codes, sessions
from .errors import ServiceError
from .formatting import local_today, to_local
from .messages import enqueue
from .phones import InvalidPhone, normalize_vn_mobile
from .text import clean_line, has_hidden


def new_password_problem(password: str):
    """Why a new password cannot be set, or None. A password is never cleaned like other text
    (a character taken out silently would make it another password): one holding a control,
    bidirectional or invisible character, a tab or a line break — which no keyboard types and
    which would be hard to type again — is refused with a message. User puts it in NFC."""
    if len(password) < 8:
        return _l("Mật khẩu cần ít nhất 8 ký tự.")
    if has_hidden(password):
        return _l("Mật khẩu không được chứa ký tự điều khiển, ký tự ẩn hay dấu xuống dòng.")
    return None


class AccountError(ServiceError):
    pass


class AccountLocked(AccountError):
    """Too many wrong passwords for this phone: no password is checked before `until` (UTC)."""

    def __init__(self, until: datetime):
        local = to_local(until)
        when = local.strftime("%H:%M") if local.date() == local_today() \
            else local.strftime("%H:%M %d/%m/%Y")
        super().__init__(_l("Số điện thoại này đã nhập sai mật khẩu quá nhiều lần. "
                            "Vui lòng thử lại sau %(time)s.", time=when), "password")
        self.until = until

    @property
    def retry_after(self) -> int:
        """Whole seconds until the phone may try again (the Retry-After header)."""
        return max(int((self.until - datetime.now(UTC).replace(tzinfo=None)).total_seconds()) + 1,
                   1)


def find_by_phone(phone: str) -> User | None:
    return db.session.scalar(select(User).where(User.phone == phone))


def _checked(name: str, phone: str, password: str) -> tuple[str, str]:
    """(name, phone) of a registration, cleaned and normalised; raises AccountError."""
    try:
        phone = normalize_vn_mobile(phone)
    except InvalidPhone as exc:
        raise AccountError(str(exc), "phone") from exc
    name = clean_line(name, 120)
    if not name:
        raise AccountError(_l("Vui lòng nhập họ tên."), "name")
    if problem := new_password_problem(password):
        raise AccountError(problem, "password")
    return name, phone


TAKEN = _l("Số điện thoại này đã có tài khoản. Hãy đăng nhập.")


def _add_user(session, name: str, phone: str, password_hash: str, roles=("student",),
              hub_id: int | None = None) -> User:
    """Inside the caller's unit of work: the new user (the caller turns an IntegrityError, the
    same phone at the same moment on PostgreSQL, into TAKEN)."""
    if find_by_phone(phone):
        raise AccountError(TAKEN, "phone")
    user = User(name=name, phone=phone, password_hash=password_hash)
    for role in roles:
        if role not in ROLES:
            raise AccountError(f"Unknown role {role}")
        scoped = hub_id if role in ("volunteer", "organizer", "vendor") else None
        user.roles.append(UserRole(role=role, hub_id=scoped))
    session.add(user)
    session.flush()
    return user


def register(name: str, phone: str, password: str, roles=("student",),
             hub_id: int | None = None) -> User:
    """Create a user; `phone` may be in any Vietnamese format. Raises AccountError."""
    name, phone = _checked(name, phone, password)
    try:
        with write_transaction() as session:
            user = _add_user(session, name, phone, User.hash_password(password), roles, hub_id)
    except IntegrityError as exc:  # the same phone at the same moment (PostgreSQL): UNIQUE
        raise AccountError(TAKEN, "phone") from exc
    return user


# ---------------------------------------------------------------- registration with an SMS code

@dataclass(frozen=True)
class CodeSent:
    phone: str  # E.164
    message_id: int  # to send right after the commit (phone_codes.send_now)
    expires_at: datetime


def _send_verify_code(phone: str, pending: dict | None, lang: str | None) -> CodeSent:
    """A new code for `phone`. A phone that already has an account gets a code too (never sent:
    nobody can type it) and a text saying so instead, so that the page, the tries and the limits
    are the same for a new and a known phone: registration tells nobody but the phone's owner
    whether the phone has an account."""
    code = phone_codes.new_code()
    with write_transaction() as session:
        taken = find_by_phone(phone) is not None
        row = phone_codes.replace(session, phone, phone_codes.VERIFY, code,
                                  pending=None if taken else pending)
        template = "code_phone_has_account" if taken else phone_codes.TEMPLATE[phone_codes.VERIFY]
        message = enqueue(session, phone, template, {"code": code}, lang, f"code:{row.id}")
        return CodeSent(phone, message.id, row.expires_at)


def start_registration(name: str, phone: str, password: str, address: str | None,
                       lang: str | None) -> CodeSent:
    """Registration when phones are verified: what was typed waits (with the password's hash
    only) for the 6-digit code sent to the phone. Raises AccountError, phone_codes.TooManyCodes."""
    name, phone = _checked(name, phone, password)
    pending = {"name": name, "password_hash": User.hash_password(password)}
    phone_codes.count_request(phone, address)
    return _send_verify_code(phone, pending, lang)


def resend_registration(phone: str, address: str | None, lang: str | None) -> CodeSent:
    """"Gửi lại mã": a new code (the old one is void) for the registration waiting on `phone`."""
    row = phone_codes.latest(db.session, phone, phone_codes.VERIFY)
    db.session.rollback()  # the lock of that read ends here; the write below starts fresh
    if row is None or (row.pending is None and find_by_phone(phone) is None):
        raise AccountError(_l("Phiên đăng ký đã hết hạn. Vui lòng điền lại thông tin đăng ký."),
                           "code")
    pending = row.pending
    phone_codes.count_request(phone, address)
    return _send_verify_code(phone, pending, lang)


CODE_PROBLEMS = {
    "wrong": lambda left: lazy_ngettext("Mã không đúng. Bạn còn %(num)d lần thử.",
                                        "Mã không đúng. Bạn còn %(num)d lần thử.", left),
    "expired": lambda _left: _l("Mã đã hết hạn. Bấm “Gửi lại mã” để nhận mã mới."),
    "dead": lambda _left: _l("Bạn đã nhập sai mã quá nhiều lần, mã này không dùng được nữa. "
                             "Bấm “Gửi lại mã” để nhận mã mới."),
}


def finish_registration(phone: str, code: str) -> User:
    """The code typed on the page: right, the account is created from what was typed (one unit of
    work); else AccountError saying why (wrong with the tries left, expired, dead after too many
    tries), having counted the wrong try."""
    user = None
    try:
        with write_transaction() as session:
            checked = phone_codes.check(session, phone, phone_codes.VERIFY, code)
            pending = checked.row.pending if checked.outcome == "right" else None
            if pending:
                checked.row.pending = None
                user = _add_user(session, pending["name"], phone, pending["password_hash"])
    except IntegrityError as exc:
        raise AccountError(TAKEN, "phone") from exc
    if user is None:
        problem = CODE_PROBLEMS.get(checked.outcome)
        raise AccountError(problem(checked.tries_left) if problem else
                           _l("Mã không đúng. Bấm “Gửi lại mã” để nhận mã mới."), "code")
    return user


@cache
def _dummy_hash() -> str:
    """A hash of no one's password, made like every user's (the same method and cost)."""
    return generate_password_hash(secrets.token_urlsafe(16))


def _failure_count(phone: str):
    """(strategy, item, identifiers) of the wrong passwords of `phone`; None while rate limits
    are off. A fixed window in the limiter's own storage, whatever strategy the routes use."""
    if not limiter.enabled:
        return None
    item = parse(current_app.config["LOGIN_PHONE_FAILURE_LIMIT"])
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return FixedWindowRateLimiter(limiter.storage), item, (prefix, "login-failures", phone)


def authenticate(phone: str, password: str) -> User | None:
    """The user of `phone` when `password` is theirs, else None; raises AccountLocked while the
    phone has had too many wrong passwords. A try is counted before its password is checked (so
    tries at the same moment in several workers never pass the last slot) and the count ends with
    a right password."""
    try:
        phone = normalize_vn_mobile(phone)
    except ValueError:
        phone = None
    count = _failure_count(phone) if phone else None
    if count is not None:
        strategy, item, ids = count
        if not strategy.hit(item, *ids):
            reset_at = strategy.get_window_stats(item, *ids).reset_time
            raise AccountLocked(datetime.fromtimestamp(reset_at, UTC).replace(tzinfo=None))
    user = find_by_phone(phone) if phone else None
    if user is None or user.deleted_at is not None:
        check_password_hash(_dummy_hash(), password)  # as long as a real check: no phone oracle
        return None
    if not check_password_hash(user.password_hash, unicodedata.normalize("NFC", password)):
        return None  # passwords are hashed in NFC (User.set_password)
    if count is not None:
        strategy.clear(item, *ids)
    return user


def clear_login_failures(phone: str) -> None:
    """A password reset: the phone's wrong passwords are forgotten (it may log in at once)."""
    if (count := _failure_count(phone)) is not None:
        strategy, item, ids = count
        strategy.clear(item, *ids)


def set_locale(user_id: int, locale: str) -> None:
    with write_transaction():
        user = db.session.get(User, user_id)
        if user:
            user.locale = locale


# ---------------------------------------------------------------- the profile

ROLE_LABELS = {
    "student": _l("Học sinh, sinh viên"),
    "volunteer": _l("Tình nguyện viên"),
    "vendor": _l("Thanh niên khởi nghiệp"),
    "organizer": _l("Cán bộ Đoàn"),
    "admin": _l("Quản trị viên"),
}


def role_labels(user: User) -> list[str]:
    """The roles in words with their unit: "Tình nguyện viên — Đoàn trường THPT ..."."""
    order = {role: k for k, role in enumerate(ROLES)}
    out = []
    for r in sorted(user.roles, key=lambda r: (order.get(r.role, 99), r.hub_id or 0)):
        label = str(ROLE_LABELS.get(r.role, r.role))
        out.append(f"{label} — {r.hub.name}" if r.hub is not None else label)
    return out


def _active_user(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise LookupError(user_id)
    return user


def change_name(user_id: int, name: str) -> None:
    name = clean_line(name, 120)
    if not name:
        raise AccountError(_l("Vui lòng nhập họ tên."), "name")
    with write_transaction() as session:
        _active_user(session, user_id).name = name


def set_reminders(user_id: int, wanted: bool) -> None:
    """Whether the person gets a reminder the evening before a pickup, a delivery or a route."""
    with write_transaction() as session:
        _active_user(session, user_id).reminders_off = not wanted


def change_phone(user_id: int, phone: str, keep_token: str | None) -> None:
    """A new login phone, free of any other account; the user's other sessions end."""
    try:
        phone = normalize_vn_mobile(phone)
    except InvalidPhone as exc:
        raise AccountError(str(exc), "phone") from exc
    taken = AccountError(_l("Số điện thoại này đã có tài khoản."), "phone")
    try:
        with write_transaction() as session:
            user = _active_user(session, user_id)
            if user.phone == phone:
                return
            if find_by_phone(phone):
                raise taken
            user.phone = phone
            sessions.end_all(session, user_id, keep_token=keep_token)
    except IntegrityError as exc:  # taken by a registration at the same moment (PostgreSQL)
        raise taken from exc


def change_password(user_id: int, old: str, new: str, keep_token: str | None) -> None:
    """The old password first; the user's other sessions end, this one stays."""
    if problem := new_password_problem(new):
        raise AccountError(problem, "password")
    with write_transaction() as session:
        user = _active_user(session, user_id)
        if not user.check_password(old):
            raise AccountError(_l("Mật khẩu hiện tại không đúng."), "old_password")
        user.set_password(new)
        sessions.end_all(session, user_id, keep_token=keep_token)


def end_other_sessions(user_id: int, keep_token: str | None) -> int:
    """"Đăng xuất khỏi mọi thiết bị khác": how many sessions were ended."""
    with write_transaction() as session:
        return sessions.end_all(session, user_id, keep_token=keep_token)


# ---------------------------------------------------------------- signed-in devices

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("CocCoc", "Cốc Cốc"), ("Zalo", "Zalo"),
             ("FBAN", "Facebook"), ("SamsungBrowser", "Samsung Internet"), ("Firefox", "Firefox"),
             ("CriOS", "Chrome"), ("Chrome", "Chrome"), ("Safari", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("Windows", "Windows"), ("Mac OS X", "Mac"), ("CrOS", "Chromebook"),
            ("Linux", "Linux"))


def device_label(user_agent: str) -> str:
    """"Chrome trên Android" from a User-Agent header; "Thiết bị không rõ" when it says nothing."""
    ua = user_agent or ""
    browser = next((name for key, name in _BROWSERS if key in ua), None)
    system = next((name for key, name in _SYSTEMS if key in ua), None)
    if browser and system:
        return str(_l("%(browser)s trên %(system)s", browser=browser, system=system))
    return browser or system or str(_l("Thiết bị không rõ"))
