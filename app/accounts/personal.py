"""Personal-data rights (Decree 13/2023): download what the app holds, delete the account."""
import json

from flask import Response, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from ..services import personal_data
from .forms import DeleteForm
from .routes import bp


@bp.get("/du-lieu-cua-toi.json")
@login_required
def export_json():
    body = json.dumps(personal_data.export(current_user.id), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="du-lieu-cua-toi.json"',
        "Cache-Control": "no-store"})


@bp.get("/yeu-cau-cua-toi.csv")
@login_required
def export_csv():
    return Response(personal_data.requests_csv(current_user.id), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="yeu-cau-cua-toi.csv"',
        "Cache-Control": "no-store"})


@bp.route("/xoa-tai-khoan", methods=["GET", "POST"])
@login_required
def delete_account():
    """The confirm page says what will happen (and what must happen first); the POST asks for
    the password."""
    form = DeleteForm()
    blockers = personal_data.blockers(current_user)
    if form.validate_on_submit():
        try:
            personal_data.delete_account(current_user.id, form.password.data)
        except personal_data.DeletionRefused as exc:
            (form.password.errors if exc.field else form.form_errors).append(str(exc.message))
        else:
            logout_user()
            session.clear()
            flash(_("Tài khoản của bạn đã được xóa. Cảm ơn bạn đã đồng hành cùng "
                    "Gian hàng 0 đồng."), "success")
            return redirect(url_for("store.catalog"), code=303)
    return render_template("accounts/delete.html", form=form, blockers=blockers,
                           open_orders=personal_data.open_orders(current_user.id)), \
        422 if form.is_submitted() else 200
