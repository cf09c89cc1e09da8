"""Password recovery through the hub: someone who knows the student issues a one-time code.

There is no SMS provider yet, so a student who forgot their password calls or visits the union;
a volunteer of a hub the student has requested from, any organizer, or an admin checks who is
calling and issues a code (staff page). `issue_code` is the one function that makes a code and
returns it in plain text to its caller — the staff page shows it once; a later SMS sender can send
the same code. Only a hash is stored (OneTimeCode, purpose "reset"); a new code voids the older
ones; it is valid VALID_FOR, used once, and MAX_TRIES wrong tries void it. Issuing is limited per
staff member (ISSUES_PER_HOUR); every code is in the audit log (field names only, never the code).
"""
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import write_transaction
from ..extensions import db
from ..models import ItemRequest, OneTimeCode, User
from ..models.base import utcnow
from . import accounts, sessions
from .errors import ServiceError
from .phones import InvalidPhone, normalize_vn_mobile

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read out on the phone
LENGTH = 8
VALID_FOR = timedelta(minutes=30)
MAX_TRIES = 5  # wrong tries on a phone's code before the code is void
ISSUES_PER_HOUR = 20  # codes one staff member may issue in an hour
PURPOSE = "reset"
# The fast hash is enough: 31^8 codes, five tries, thirty minutes.
_HASH_METHOD = "pbkdf2:sha256:50000"


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


def clean_code(raw: str) -> str:
    """What a person typed: spaces and dashes dropped, upper case."""
    return "".join(ch for ch in (raw or "").upper() if ch not in " -")[:32]


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
    """Inside the caller's unit of work: a new code for `user` (older open ones are void);
    returns the plain code and its expiry. A later SMS sender calls this too."""
    now = utcnow()
    session.execute(update(OneTimeCode).where(
        OneTimeCode.phone == user.phone, OneTimeCode.purpose == purpose,
        OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session=False))
    code = new_code()
    expires_at = now + VALID_FOR
    session.add(OneTimeCode(purpose=purpose, phone=user.phone, user_id=user.id,
                            code_hash=generate_password_hash(code, _HASH_METHOD),
                            issued_by_id=issued_by_id, expires_at=expires_at))
    return code, expires_at


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
    """The student sets a new password with their code: every session of the account ends (the
    caller signs them in fresh), and so does a lock from wrong passwords. Returns the user id;
    raises ResetError, changing nothing but the count of wrong tries."""
    if problem := accounts.new_password_problem(new_password):
        raise ResetError(problem, "password")
    try:
        phone = normalize_vn_mobile(phone)
    except InvalidPhone as exc:
        raise ResetError(str(exc), "phone") from exc
    code = clean_code(code)
    wrong = False
    with write_transaction() as session:
        now = utcnow()
        row = session.scalar(select(OneTimeCode).where(
            OneTimeCode.phone == phone, OneTimeCode.purpose == PURPOSE,
            OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > now)
            .order_by(OneTimeCode.id.desc()).limit(1).with_for_update())
        user = session.get(User, row.user_id) if row is not None and row.user_id else None
        if row is None or user is None or user.deleted_at is not None or user.phone != phone:
            wrong = True
        elif not check_password_hash(row.code_hash, code):
            wrong = True
            row.tries += 1
            if row.tries >= MAX_TRIES:
                row.expires_at = now  # void: the next try needs a new code
        else:
            row.used_at = now
            user.set_password(new_password)
            sessions.end_all(session, user.id)
            user_id = user.id
    if wrong:
        raise ResetError(WRONG, "code")
    accounts.clear_login_failures(phone)  # a lock from wrong passwords ends with the reset
    return user_id
