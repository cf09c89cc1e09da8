"""A forgotten password: the explanation, the staff page that issues a code, the reset page."""
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..errors import refill_on_rate_limit
from ..extensions import db, limiter
from ..models import Hub, User
from ..services import resets
from ..services.formatting import to_local
from .forms import IssueCodeForm, ResetForm
from .routes import _start_session, bp


@bp.get("/quen-mat-khau")
def forgot():
    hubs = list(db.session.scalars(select(Hub).where(Hub.contact_phone.is_not(None))
                                   .order_by(Hub.name).limit(50)))
    return render_template("accounts/forgot.html", hubs=hubs)


@bp.route("/dat-lai-mat-khau", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT"], methods=["POST"])
def reset():
    form = ResetForm()
    if form.validate_on_submit():
        try:
            user_id = resets.redeem(form.phone.data, form.code.data, form.password.data)
        except resets.ResetError as exc:
            getattr(form, exc.field or "code").errors.append(str(exc.message))
        else:
            _start_session(db.session.get(User, user_id))
            flash(_("Đã đặt mật khẩu mới. Mọi thiết bị khác đã được đăng xuất."), "success")
            return redirect(url_for("accounts.profile"), code=303)
    return render_template("accounts/reset.html", form=form), 422 if form.is_submitted() else 200


@refill_on_rate_limit("accounts.reset")
def _reset_again(message: str) -> str:
    return render_template("accounts/reset.html", form=ResetForm(), too_many=message)


def _staff_only():
    if not current_user.is_staff:
        abort(403)


@bp.get("/ma-khoi-phuc")
@login_required
def issue_code():
    """Staff: the form that finds an account by phone."""
    _staff_only()
    return render_template("accounts/issue_code.html", form=IssueCodeForm())


@bp.post("/ma-khoi-phuc/cap")
@login_required
def create_code():
    """Staff: issue a one-time reset code. The code is shown once, in the answer to this POST
    (never stored, never in a URL), so this POST renders instead of redirecting, uncached."""
    _staff_only()
    form = IssueCodeForm()
    if form.validate_on_submit():
        try:
            issued = resets.issue_for(current_user.id, form.phone.data)
        except resets.NotAllowed:
            abort(403)
        except resets.ResetError as exc:
            form.phone.errors.append(str(exc.message))
        else:
            page = render_template("accounts/code_issued.html", issued=issued,
                                   expires=to_local(issued.expires_at),
                                   minutes=int(resets.VALID_FOR.total_seconds() // 60))
            return page, 200, {"Cache-Control": "no-store"}
    return render_template("accounts/issue_code.html", form=form), 422
