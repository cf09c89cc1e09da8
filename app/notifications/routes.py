from flask import Blueprint, redirect, render_template, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from ..services import notifications

bp = Blueprint("notifications", __name__, url_prefix="/thong-bao")


@bp.get("/")
@login_required
def index():
    return render_template("notifications/index.html",
                           items=notifications.latest(current_user.id, str(get_locale())))


@bp.post("/da-doc")
@login_required
def mark_read():
    notifications.mark_all_read(current_user.id)
    return redirect(url_for("notifications.index"), code=303)
