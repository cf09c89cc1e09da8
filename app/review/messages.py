"""The messages of the staff member's units that did not arrive, and "Gửi lại" (send again)."""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..services.messages import trouble
from .routes import bp


@bp.get("/tin-nhan")
def failed_messages():
    return render_template("review/messages.html",
                           messages=trouble.troubled(current_user, str(get_locale())))


@bp.post("/tin-nhan/<int:message_id>/gui-lai")
def resend_message(message_id: int):
    """Harmless, so asked nothing: only a failed or unknown message goes back in the queue."""
    try:
        queued = trouble.resend(current_user.id, message_id)
    except LookupError:
        abort(404)
    if queued:
        flash(_("Đã xếp tin nhắn vào hàng chờ gửi lại."), "success")
    else:
        flash(_("Tin nhắn này đã được gửi lại hoặc đã gửi đi: không gửi thêm lần nữa."), "info")
    return redirect(url_for("review.failed_messages"), code=303)
