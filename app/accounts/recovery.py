"""A forgotten password: the explanation, the staff page that issues a code, the reset page."""
from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..errors import refill_on_rate_limit
from ..extensions import db, limiter
from ..models import Hub, User
from ..services import phone_codes, resets
from ..services.formatting import to_local
from ..services.phones import display_phone
from .forms import IssueCodeForm, ResetForm, SendCodeForm
from .routes import _lang, _start_session, after_response, bp, too_many


def _forgot_context(form=None) -> dict:
    hubs = list(db.session.scalars(select(Hub).where(Hub.contact_phone.is_not(None))
                                   .order_by(Hub.name).limit(50)))
    sms = phone_codes.enabled()
    return dict(hubs=hubs, sms=sms, form=form or (SendCodeForm() if sms else None))


@bp.get("/quen-mat-khau")
def forgot():
    return render_template("accounts/forgot.html", **_forgot_context())


@bp.post("/quen-mat-khau/gui-ma")
def send_reset_code():
    """"Gửi mã qua SMS": the same answer, in the same time, whether the phone has an account or
    not: the account is looked for, and its code made and sent, after the answer has gone out."""
    if not phone_codes.enabled():
        abort(404)
    form = SendCodeForm()
    if form.validate_on_submit():
        try:
            phone = resets.ask_code(form.phone.data, request.remote_addr)
        except phone_codes.TooManyCodes as exc:
            return too_many("accounts/forgot.html", exc, **_forgot_context(form))
        except resets.ResetError as exc:
            form.phone.errors.append(str(exc.message))
        else:
            session["reset_phone"] = phone
            flash(str(resets.SENT), "success")
            return after_response(redirect(url_for("accounts.reset"), code=303),
                                  resets.send_code, phone, _lang())
    return render_template("accounts/forgot.html", **_forgot_context(form)), 422


@bp.route("/dat-lai-mat-khau", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT"], methods=["POST"])
def reset():
    form = ResetForm()
    if request.method == "GET" and session.get("reset_phone"):
        form.phone.data = display_phone(session["reset_phone"])  # the phone the code went to
    if form.validate_on_submit():
        try:
            user_id = resets.redeem(form.phone.data, form.code.data, form.password.data)
        except resets.ResetError as exc:
            getattr(form, exc.field or "code").errors.append(str(exc.message))
        else:
            session.pop("reset_phone", None)
            _start_session(db.session.get(User, user_id))
            flash(_("Đã đặt mật khẩu mới. Mọi thiết bị khác đã được đăng xuất."), "success")
            return redirect(url_for("accounts.profile"), code=303)
    return render_template("accounts/reset.html", form=form, sms=phone_codes.enabled()), \
        422 if form.is_submitted() else 200


@refill_on_rate_limit("accounts.reset")
def _reset_again(message: str) -> str:
    return render_template("accounts/reset.html", form=ResetForm(), too_many=message,
                           sms=phone_codes.enabled())


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
