"""Shell of the site: home, health, ping, language, uploaded media, the ward picker fragment."""
from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..security import safe_redirect_target
from ..services import accounts, geo

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    return redirect(url_for("store.catalog"))


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return jsonify(status="ok", database="ok")
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unavailable"), 503


@bp.get("/ping")
def ping():
    """The trivial route: the cost of the stack alone, the limit benchmarks/load.py measures
    against."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/ngon-ngu")
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            accounts.set_locale(current_user.id, lang)
    return redirect(safe_redirect_target(request.form.get("next"), url_for("store.catalog")),
                    code=303)


@bp.get("/media/<name>")
def media(name: str):
    if not name.replace("_", "").replace(".", "").replace("-", "").isalnum():
        abort(404)
    response = send_from_directory(current_app.config["UPLOAD_FOLDER"], name, max_age=31536000)
    return response


@bp.get("/dia-chi/phuong-xa")
def ward_options():
    """<option>s of the wards of a province, for the dependent dropdown (htmx)."""
    province = request.args.get("province_code", type=int)
    return render_template("main/_ward_options.html", wards=geo.wards_of(province),
                           selected=request.args.get("ward_code", type=int))


