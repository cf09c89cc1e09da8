from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import refill_on_rate_limit
from ..extensions import limiter
from ..security import safe_redirect_target
from ..services import accounts, people, phone_codes, sessions
from ..services.formatting import to_local
from ..services.phones import InvalidPhone, normalize_vn_mobile
from .forms import LoginForm, PhoneCodeForm, RegisterForm

bp = Blueprint("accounts", __name__, url_prefix="/tai-khoan")


def _safe_next(default: str) -> str:
    return safe_redirect_target(request.args.get("next"), default)


def _landing(user) -> str:
    """Where a fresh login goes: `next`, else the invitations waiting for the phone, else the
    catalog."""
    default = url_for("people.mine") if people.for_phone(user.phone) else \
        url_for("store.catalog")
    return _safe_next(default)


def _start_session(user) -> None:
    """Renew the session at login (no fixation), keeping only the basket and language; the new
    session is a row on the server that logout, a reset or "sign out everywhere" can end."""
    keep = {k: session[k] for k in ("basket", "lang") if k in session}
    session.clear()
    session.update(keep)
    user.session_token = sessions.start(user.id, request.headers.get("User-Agent", ""))
    login_user(user, remember=True)


def after_response(response, work, *args):
    """Run `work(*args)` once this answer has gone out to the browser (a one-time code's
    message: it reaches the phone within seconds, and the answer never waits for it, nor tells
    by its time what the work found)."""
    app = current_app._get_current_object()

    def run():
        with app.app_context():
            try:
                work(*args)
            except Exception:  # the answer is gone: log it (a queued message is still sent)
                app.logger.exception("work after the answer failed")
    response.call_on_close(run)
    return response


def too_many(page: str, exc: phone_codes.TooManyCodes, **context):
    """A refused code request: the page again with the reason and when to retry (429)."""
    return render_template(page, too_many=str(exc.message), **context), 429, \
        {"Retry-After": str(exc.retry_after)}


def _lang() -> str:
    return str(get_locale() or "vi")


def _phone_key() -> str:
    """The rate-limit key of a form's phone: one number, however it was typed."""
    raw = request.form.get("phone", "")
    try:
        return "phone:" + normalize_vn_mobile(raw)
    except InvalidPhone:
        return "phone:" + raw.strip()[:32]


@bp.route("/dang-ky", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["REGISTER_PHONE_RATE_LIMIT"], methods=["POST"],
               key_func=_phone_key)
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        if phone_codes.enabled():
            return _start_verification(form)
        try:
            user = accounts.register(form.name.data, form.phone.data, form.password.data)
        except accounts.AccountError as exc:
            getattr(form, exc.field or "phone").errors.append(str(exc.message))
        else:
            _start_session(user)
            flash(_("Chào mừng %(name)s! Tài khoản đã được tạo.", name=user.name), "success")
            return redirect(_landing(user), code=303)
    return render_template("accounts/register.html", form=form), 200 if request.method == "GET" \
        else 422


def _start_verification(form):
    """Registration with SMS codes on: the code goes to the phone, the account waits for it."""
    try:
        sent = accounts.start_registration(form.name.data, form.phone.data, form.password.data,
                                           request.remote_addr, _lang())
    except phone_codes.TooManyCodes as exc:
        return too_many("accounts/register.html", exc, form=form)
    except accounts.AccountError as exc:
        getattr(form, exc.field or "phone").errors.append(str(exc.message))
        return render_template("accounts/register.html", form=form), 422
    session["signup"] = {"phone": sent.phone, "expires": sent.expires_at.isoformat()}
    return after_response(redirect(url_for("accounts.verify_phone",
                                           next=request.args.get("next")), code=303),
                          phone_codes.send_now, sent.message_id)


def _verify_context(**context) -> dict:
    signup = session["signup"]
    return dict(phone=signup["phone"],
                expires=to_local(datetime.fromisoformat(signup["expires"])), **context)


@bp.route("/dang-ky/xac-minh", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"])
def verify_phone():
    """"Nhập mã 6 số gửi tới …": the account is created when the code is right."""
    if not phone_codes.enabled() or "signup" not in session:
        return redirect(url_for("accounts.register", next=request.args.get("next")), code=303)
    form = PhoneCodeForm()
    if form.validate_on_submit():
        try:
            user = accounts.finish_registration(session["signup"]["phone"], form.code.data)
        except accounts.AccountError as exc:
            form.code.errors.append(str(exc.message))
        else:
            session.pop("signup")
            _start_session(user)
            flash(_("Chào mừng %(name)s! Tài khoản đã được tạo.", name=user.name), "success")
            return redirect(_landing(user), code=303)
    return render_template("accounts/verify_phone.html", **_verify_context(form=form)), \
        422 if form.is_submitted() else 200


@bp.post("/dang-ky/gui-lai-ma")
def resend_code():
    """"Gửi lại mã": a new code (the old one is void), within the same limits."""
    if not phone_codes.enabled() or "signup" not in session:
        return redirect(url_for("accounts.register"), code=303)
    try:
        sent = accounts.resend_registration(session["signup"]["phone"], request.remote_addr,
                                            _lang())
    except phone_codes.TooManyCodes as exc:
        return too_many("accounts/verify_phone.html", exc,
                        **_verify_context(form=PhoneCodeForm(formdata=None)))
    except accounts.AccountError as exc:
        session.pop("signup")
        flash(str(exc.message), "error")
        return redirect(url_for("accounts.register"), code=303)
    session["signup"] = {"phone": sent.phone, "expires": sent.expires_at.isoformat()}
    flash(_("Đã gửi mã mới. Mã cũ không dùng được nữa."), "success")
    return after_response(redirect(url_for("accounts.verify_phone",
                                           next=request.args.get("next")), code=303),
                          phone_codes.send_now, sent.message_id)


@refill_on_rate_limit("accounts.register")
def _register_again(message: str) -> str:
    return render_template("accounts/register.html", form=RegisterForm(), too_many=message)


@bp.route("/dang-nhap", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.phone.data, form.password.data)
        except accounts.AccountLocked as exc:
            return render_template("accounts/login.html", form=form, too_many=str(exc.message)), \
                429, {"Retry-After": str(exc.retry_after)}
        if user:
            _start_session(user)
            return redirect(_landing(user), code=303)
        form.password.errors.append(_("Số điện thoại hoặc mật khẩu không đúng."))
    return render_template("accounts/login.html", form=form), 200 if request.method == "GET" \
        else 422


@refill_on_rate_limit("accounts.login")
def _login_again(message: str) -> str:
    return render_template("accounts/login.html", form=LoginForm(), too_many=message)


@bp.post("/dang-xuat")
@login_required
def logout():
    sessions.end(current_user.session_token)
    logout_user()
    session.clear()
    return redirect(url_for("store.catalog"), code=303)


# The profile, recovery and personal-data pages live beside this module, on the same blueprint.
from . import personal, profile, recovery  # noqa: E402,F401
