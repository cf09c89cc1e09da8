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
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import refill_on_rate_limit
from ..extensions import limiter
from ..security import safe_redirect_target
from ..services import accounts, people, sessions
from ..services.phones import InvalidPhone, normalize_vn_mobile
from .forms import LoginForm, RegisterForm

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
