from flask import Blueprint

bp = Blueprint("requests", __name__)


@bp.get("/gio")
def basket():
    return "basket"


@bp.get("/yeu-cau")
def mine():
    return "mine"
