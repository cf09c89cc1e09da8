"""In-app notifications. Helpers here only add/flush; the calling use-case commits."""
from flask_babel import force_locale
from sqlalchemy import func, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import Notification, User
from ..models.base import utcnow


def notify(user_id: int, message, link: str | None = None) -> None:
    """Store `message` (a lazy string) in the recipient's language."""
    locale = db.session.scalar(select(User.locale).where(User.id == user_id)) or "vi"
    with force_locale(locale):
        text = str(message)
    db.session.add(Notification(user_id=user_id, message=text[:500], link=link))


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ) or 0


def latest(user_id: int, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user_id)
        .order_by(Notification.id.desc()).limit(limit)
    ))


def mark_all_read(user_id: int) -> int:
    with write_transaction() as session:
        result = session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
        return result.rowcount
