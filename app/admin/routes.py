"""Admin pages: the audit log of what volunteers, organizers, vendors and admins did."""
from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from ..extensions import db
from ..services import audit, catalog
from ..store.forms import MAX_PAGE
from .forms import AuditFilterForm

bp = Blueprint("admin", __name__, url_prefix="/quan-tri")

PER_PAGE = 50


@bp.before_request
@login_required
def _admins_only():
    if not current_user.has_role("admin"):
        abort(403)


@bp.get("/nhat-ky")
def audit_log():
    form = AuditFilterForm(formdata=request.args)
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    entries = db.paginate(audit.entries(form.query()), page=page, per_page=PER_PAGE,
                          error_out=False)
    return render_template("admin/audit_log.html", form=form, entries=entries,
                           page_args=form.url_args(), labels=audit.LABELS,
                           hubs={h.id: h.name for h in catalog.hubs()},
                           action_labels=audit.ACTION_LABELS, describe=audit.describe)
