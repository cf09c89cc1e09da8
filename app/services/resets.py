"""Password recovery: a one-time code, issued by someone who knows the student or sent by SMS.

A student who forgot their password calls or visits the union; a volunteer of a hub the student
has requested from, any organizer, or an admin checks who is calling and issues a code (staff
page): 8 characters, VALID_FOR, shown once. With SMS codes on (phone_codes.enabled), the student
can also have a 6-digit code sent to the account's phone (`send_code`, 10 minutes). Both are the
same kind of code (phone_codes: purpose "reset", only a keyed hash stored, a new code voids the
older ones, used once, MAX_TRIES wrong tries void it) and both are redeemed on the same page by
`redeem`. Issuing is limited per staff member (ISSUES_PER_HOUR), sending per phone and address;
every code is in the audit log (field names only, never the code).
"""
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..database import write_transaction
from ..extensions import db
from ..models import ItemRequest, OneTimeCode, User
from ..models.base import utcnow
from . import accounts, phone_codes, sessions
from .errors import ServiceError
from .messages import enqueue
from .phones import InvalidPhone, normalize_vn_mobile

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read out on the phone
LENGTH = 8
VALID_FOR = timedelta(minutes=30)
MAX_TRIES = phone_codes.MAX_TRIES  # wrong tries on a phone's code before the code is void
ISSUES_PER_HOUR = 20  # codes one staff member may issue in an hour
PURPOSE = "reset"


class ResetError(ServiceError):
    pass


class NotAllowed(ResetError):
    """The staff member does not act for any hub the student used (the route answers 403)."""


@dataclass(frozen=True)
class Issued:
    code: str  # plain: shown once, never stored
    expires_at: datetime
    user_id: int
    name: str


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def find_account(phone: str) -> User | None:
    try:
        phone = normalize_vn_mobile(phone)
    except InvalidPhone:
        return None
    return db.session.scalar(select(User).where(User.phone == phone, User.deleted_at.is_(None)))


def may_issue(staff: User, student: User) -> bool:
    """An admin, any organizer, or a volunteer of a hub the student has requested from."""
    if staff.has_role("organizer"):  # an admin holds every role
        return True
    if not staff.has_role("volunteer"):
        return False
    hub_ids = db.session.scalars(select(ItemRequest.hub_id).where(
        ItemRequest.user_id == student.id).distinct())
    return any(staff.has_role("volunteer", hub_id) for hub_id in hub_ids)


def issue_code(session, user: User, issued_by_id: int | None = None,
               purpose: str = PURPOSE) -> tuple[str, datetime]:
    """Inside the caller's unit of work: a new volunteer-issued code for `user` (older open ones,
    an SMS code too, are void); returns the plain code and its expiry."""
    code = new_code()
    row = phone_codes.replace(session, user.phone, purpose, code, VALID_FOR, user_id=user.id,
                              issued_by_id=issued_by_id)
    return code, row.expires_at


def issued_recently(staff_id: int, now: datetime | None = None) -> int:
    since = (now or utcnow()) - timedelta(hours=1)
    return db.session.scalar(select(func.count()).select_from(OneTimeCode).where(
        OneTimeCode.issued_by_id == staff_id, OneTimeCode.purpose == PURPOSE,
        OneTimeCode.created_at > since))


def issue_for(staff_id: int, phone: str) -> Issued:
    """The staff page: a reset code for the account of `phone`. Raises ResetError (NotAllowed)."""
    with write_transaction() as session:
        staff = session.get(User, staff_id)
        user = find_account(phone)
        if user is None:
            raise ResetError(_l("Không tìm thấy tài khoản với số điện thoại này."), "phone")
        if not may_issue(staff, user):
            raise NotAllowed(_l("Bạn chỉ cấp mã cho học sinh đã nhận đồ ở điểm phát của bạn. "
                                "Hãy nhờ cán bộ Đoàn."))
        if issued_recently(staff_id) >= ISSUES_PER_HOUR:
            raise ResetError(_l("Bạn đã cấp quá nhiều mã trong một giờ. Vui lòng thử lại sau."),
                             "phone")
        code, expires_at = issue_code(session, user, issued_by_id=staff_id)
        issued = Issued(code, expires_at, user.id, user.name)
    return issued


WRONG = _l("Mã khôi phục không đúng, đã hết hạn hoặc đã được dùng. Hãy nhờ Đoàn cấp mã mới.")


def redeem(phone: str, code: str, new_password: str) -> int:
    """The student sets a new password with their code (the volunteer's or the SMS one): every
    session of the account ends (the caller signs them in fresh), and so does a lock from wrong
    passwords. Returns the user id; raises ResetError, changing nothing but the count of wrong
    tries."""
    if problem := accounts.new_password_problem(new_password):
        raise ResetError(problem, "password")
    try:
        phone = normalize_vn_mobile(phone)
    except InvalidPhone as exc:
        raise ResetError(str(exc), "phone") from exc
    user_id = None
    with write_transaction() as session:
        checked = phone_codes.check(session, phone, PURPOSE, code)
        row = checked.row
        user = session.get(User, row.user_id) if row is not None and row.user_id else None
        if checked.outcome == "right" and user is not None and user.deleted_at is None \
                and user.phone == phone:
            user.set_password(new_password)
            sessions.end_all(session, user.id)
            user_id = user.id
        elif checked.outcome == "right":
            raise ResetError(WRONG, "code")  # the account is gone: the code stays unused
    if user_id is None:
        raise ResetError(WRONG, "code")
    accounts.clear_login_failures(phone)  # a lock from wrong passwords ends with the reset
    return user_id


SENT = _l("Nếu số này có tài khoản, chúng tôi vừa gửi tới số đó một mã 6 số qua SMS, dùng trong "
          "10 phút. Nhập mã và mật khẩu mới bên dưới.")


def ask_code(phone: str, address: str | None) -> str:
    """"Gửi mã qua SMS", the part the answer waits for: the phone normalised and counted against
    the limits (phone_codes.TooManyCodes), whether it has an account or not — nothing here looks
    for the account, so the answer and its time cannot tell. Raises ResetError for a phone that
    is not one."""
    try:
        phone = normalize_vn_mobile(phone)
    except InvalidPhone as exc:
        raise ResetError(str(exc), "phone") from exc
    phone_codes.count_request(phone, address)
    return phone


def send_code(phone: str, lang: str | None) -> None:
    """After the answer has gone out (see ask_code): a 6-digit reset code for the account of
    `phone` (E.164), queued in the outbox and sent at once; nothing for a phone without an
    account."""
    code = phone_codes.new_code()
    with write_transaction() as session:
        user = find_account(phone)
        if user is None:
            return
        row = phone_codes.replace(session, phone, PURPOSE, code, user_id=user.id)
        message_id = enqueue(session, phone, phone_codes.TEMPLATE[PURPOSE], {"code": code},
                             lang or user.locale, f"code:{row.id}").id
    phone_codes.send_now(message_id)
