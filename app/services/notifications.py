"""In-app notifications. Helpers here only add/flush; the calling use-case commits.

A notification is stored as a key of NOTICES and its parameters, and rendered in the reader's
current language each time it is shown (switching the UI to English shows it in English). A
parameter that is itself a translated label (a status, a role) is kept as its Vietnamese source
text and translated when shown. `message` keeps the text in the recipient's language at the time:
the fallback for rows from before keys (and for a key that no longer exists).
"""
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import func, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import Notification, User
from ..models.base import utcnow

# key → the text (a lazy string, or for a count a function of the parameters that picks the form).
NOTICES = {
    "market_invited": _l("Gian hàng “%(name)s” được mời tham gia “%(event)s”. "
                         "Hãy nhận lời để có số gian và mã QR."),
    "request_received": _l("Đã nhận yêu cầu %(code)s. Đoàn sẽ duyệt sớm."),
    "waitlist_skipped": _l("Chưa thể dành “%(title)s” cho bạn từ danh sách chờ: %(reason)s"),
    "waitlist_offered": _l("Tin vui: “%(title)s” đã có lại và được dành cho bạn "
                           "(yêu cầu %(code)s)."),
    "request_cancelled": _l("Bạn đã hủy yêu cầu %(code)s."),
    "request_missed_to_stock": _l("Yêu cầu %(code)s: giao chưa thành công (%(reason)s); món đồ "
                                  "đã được trả về điểm phát."),
    "request_missed": _l("Yêu cầu %(code)s: giao chưa thành công (%(reason)s). Đoàn sẽ giao lại "
                         "ở chuyến sau."),
    "request_status": _l("Yêu cầu %(code)s: %(status)s."),
    "vendor_applied": _l("Đăng ký gian hàng mới cần duyệt: “%(name)s”."),
    "vendor_approved": _l("Gian hàng “%(name)s” đã được duyệt. Bạn có thể đăng sản phẩm."),
    "vendor_rejected": _l("Đăng ký gian hàng “%(name)s” chưa được duyệt: %(reason)s"),
    "order_paid_buyer": _l("Người bán đã nhận được tiền của đơn %(code)s."),
    "order_paid_vendor": _l("Đã nhận %(amount)s cho đơn %(code)s qua ngân hàng."),
    "transfer_review": _l("Một khoản chuyển khoản %(amount)s cần bạn xem lại: %(reason)s."),
    "waitlist_closed": _l("“%(title)s” đã được gỡ khỏi danh mục nên bạn không còn trong danh "
                          "sách chờ món này."),
    "role_invited": _l("%(unit)s mời bạn làm %(role)s."),
    "role_revoked": _l("Vai trò %(role)s ở %(unit)s đã được thu hồi."),
    "donation_received": _l("Đoàn đã nhận quà bạn tặng %(hub)s. Cảm ơn bạn!"),
    "donation_closed": _l("Đề nghị tặng quà cho %(hub)s đã đóng: %(reason)s"),
    "donation_listed": lambda p: ngettext("%(n)s món bạn tặng đã lên gian hàng của %(hub)s.",
                                          "%(n)s món bạn tặng đã lên gian hàng của %(hub)s.",
                                          int(p["n"]), **p),
    "order_new": lambda p: ngettext("Đơn hàng mới %(code)s: %(n)s sản phẩm, chờ thanh toán.",
                                    "Đơn hàng mới %(code)s: %(n)s sản phẩm, chờ thanh toán.",
                                    int(p["n"]), **p),
    "order_placed": _l("Đã đặt đơn %(code)s. Hãy quét mã VietQR để chuyển khoản cho người bán."),
    "order_delivered": _l("Đơn %(code)s đã được giao."),
    "order_cancelled": _l("Đơn %(code)s đã bị hủy."),
}


def _stored(value):
    """A parameter as stored: plain text, or {"t": source text} for a label translated later."""
    if isinstance(value, LazyString):
        with force_locale("vi"):
            return {"t": str(value)}
    return str(value)


def _shown(value) -> str:
    if isinstance(value, dict):
        source = value.get("t", "")
        return gettext(source)
    return value


def render(key: str, params: dict) -> str:
    """The text of notice `key` in the current language."""
    shown = {name: _shown(value) for name, value in params.items()}
    notice = NOTICES[key]
    return notice(shown) if callable(notice) else str(notice) % shown


def notify(user_id: int, key: str, link: str | None = None, **params) -> None:
    """Tell user `user_id` notice `key` with `params` (shown in the reader's language)."""
    if key not in NOTICES:
        raise KeyError(key)
    stored = {name: _stored(value) for name, value in params.items()}
    locale = db.session.scalar(select(User.locale).where(User.id == user_id)) or "vi"
    with force_locale(locale):
        text = render(key, stored)
    db.session.add(Notification(user_id=user_id, key=key, params=stored, message=text[:500],
                                link=link))


@dataclass(frozen=True)
class Shown:
    text: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


def text_of(note: Notification, language: str) -> str:
    """The notification's text in `language` (the stored text for a row without a known key)."""
    if note.key not in NOTICES:
        return note.message
    with force_locale(language):
        return render(note.key, note.params or {})


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ) or 0


def latest(user_id: int, language: str, limit: int = 50) -> list[Shown]:
    """The newest notifications of `user_id`, in the reader's `language`."""
    return [Shown(text_of(n, language), n.link, n.created_at, n.read_at)
            for n in db.session.scalars(
                select(Notification).where(Notification.user_id == user_id)
                .order_by(Notification.id.desc()).limit(limit))]


def mark_all_read(user_id: int) -> int:
    with write_transaction() as session:
        result = session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
        return result.rowcount
