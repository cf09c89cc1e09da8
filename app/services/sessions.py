"""Signed-in devices (OWASP ASVS V3.3): every login opens a UserSession row, and the cookies
carry its random token, so that the server can end a session — one (logout) or all of a user's
(a password reset or change, a phone change, an account deletion, a revoked role).

The token travels inside Flask-Login's user id ("<user id>:<token>"), so the session cookie and
the remember-me cookie both stop working when the row is ended. Only the token's SHA-256 is stored.
"""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..database import write_transaction
from ..extensions import db
from ..models import User, UserSession
from ..models.base import utcnow

SEEN_EVERY = timedelta(minutes=10)  # last_seen_at is refreshed at most this often (one write)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user_id: int, user_agent: str = "") -> str:
    """Open a session for `user_id`; returns the token that the cookies carry."""
    token = secrets.token_urlsafe(32)
    with write_transaction() as session:
        session.add(UserSession(user_id=user_id, token_hash=_hash(token),
                                user_agent=(user_agent or "")[:200]))
    return token


def load(login_id: str) -> User | None:
    """The user of a cookie's "<user id>:<token>" while that session is open, else None."""
    user_id, _, token = (login_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    row = db.session.scalar(select(UserSession).where(
        UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None)))
    if row is None or row.user_id != int(user_id):
        return None
    now = utcnow()
    if now - row.last_seen_at > SEEN_EVERY:
        with write_transaction() as session:
            session.execute(update(UserSession).where(UserSession.id == row.id)
                            .values(last_seen_at=now))
    user = db.session.get(User, int(user_id))
    if user is not None:
        user.session_token = token
    return user


def end(token: str | None) -> None:
    """End one session (logout)."""
    if token:
        with write_transaction() as session:
            session.execute(update(UserSession).where(
                UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
                .values(ended_at=utcnow()))


def end_all(session, user_id: int, keep_token: str | None = None) -> int:
    """Inside the caller's unit of work: end every open session of `user_id` (but `keep_token`'s,
    the device that asked). Returns how many were ended."""
    stmt = update(UserSession).where(UserSession.user_id == user_id,
                                     UserSession.ended_at.is_(None))
    if keep_token:
        stmt = stmt.where(UserSession.token_hash != _hash(keep_token))
    return session.execute(stmt.values(ended_at=utcnow())
                           .execution_options(synchronize_session=False)).rowcount


def open_sessions(user_id: int) -> list[UserSession]:
    """The user's signed-in devices, most recently seen first."""
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())))


def is_current(row: UserSession, token: str | None) -> bool:
    return bool(token) and row.token_hash == _hash(token)
