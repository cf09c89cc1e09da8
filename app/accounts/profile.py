"""The profile: name, phone, password, language, and the signed-in devices."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..services import accounts, people, sessions
from .forms import ConfirmForm, NameForm, PasswordForm, PhoneForm, RemindersForm
from .routes import bp


def _page(status: int = 200, **forms):
    forms.setdefault("name_form", NameForm(prefix="name", name=current_user.name))
    forms.setdefault("phone_form", PhoneForm(prefix="phone", formdata=None))
    forms.setdefault("password_form", PasswordForm(prefix="password", formdata=None))
    forms.setdefault("reminders_form", RemindersForm(prefix="reminders",
                                                     wanted=not current_user.reminders_off))
    token = current_user.session_token
    devices = [(row, accounts.device_label(row.user_agent), sessions.is_current(row, token))
               for row in sessions.open_sessions(current_user.id)]
    return render_template("accounts/profile.html", user=current_user, devices=devices,
                           roles=accounts.role_labels(current_user),
                           invitations=len(people.for_phone(current_user.phone)), **forms), status


def _done(message: str):
    flash(message, "success")
    return redirect(url_for("accounts.profile"), code=303)


@bp.get("/")
@login_required
def profile():
    return _page()


@bp.post("/ten")
@login_required
def change_name():
    form = NameForm(prefix="name")
    if form.validate_on_submit():
        try:
            accounts.change_name(current_user.id, form.name.data)
        except accounts.AccountError as exc:
            form.name.errors.append(str(exc.message))
        else:
            return _done(_("Đã lưu họ tên."))
    return _page(422, name_form=form)


@bp.post("/so-dien-thoai")
@login_required
def change_phone():
    form = PhoneForm(prefix="phone")
    if form.validate_on_submit():
        try:
            accounts.change_phone(current_user.id, form.phone.data, current_user.session_token)
        except accounts.AccountError as exc:
            form.phone.errors.append(str(exc.message))
        else:
            return _done(_("Đã đổi số điện thoại. Các thiết bị khác đã được đăng xuất."))
    return _page(422, phone_form=form)


@bp.post("/mat-khau")
@login_required
def change_password():
    form = PasswordForm(prefix="password")
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user.id, form.old_password.data,
                                     form.password.data, current_user.session_token)
        except accounts.AccountError as exc:
            getattr(form, exc.field or "password").errors.append(str(exc.message))
        else:
            return _done(_("Đã đổi mật khẩu. Các thiết bị khác đã được đăng xuất."))
    return _page(422, password_form=form)


@bp.post("/nhac-lich")
@login_required
def change_reminders():
    form = RemindersForm(prefix="reminders")
    if form.validate_on_submit():
        accounts.set_reminders(current_user.id, form.wanted.data)
        return _done(_("Đã lưu: bạn sẽ nhận tin nhắc lịch.") if form.wanted.data
                     else _("Đã lưu: bạn sẽ không nhận tin nhắc lịch nữa."))
    return _page(422, reminders_form=form)


@bp.route("/thiet-bi/dang-xuat-khac", methods=["GET", "POST"])
@login_required
def sign_out_others():
    """A confirm page, then the POST that ends every session but this one."""
    form = ConfirmForm()
    if form.validate_on_submit():
        n = accounts.end_other_sessions(current_user.id, current_user.session_token)
        return _done(ngettext("Đã đăng xuất %(num)d thiết bị khác.",
                              "Đã đăng xuất %(num)d thiết bị khác.", n))
    others = len(sessions.open_sessions(current_user.id)) - 1
    return render_template("accounts/sign_out_others.html", form=form, others=max(others, 0))
