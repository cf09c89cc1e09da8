from flask import Blueprint

bp = Blueprint("store", __name__)


@bp.get("/do-tang")
def catalog():
    return "catalog"
