"""The hub's desk: the queue of new requests (approve one or many, reject with a reason) and the
delivery days volunteers sign up for. Volunteers and organizers of the hub only: a user who acts for
no hub gets a 403, a hub or request they do not act for a 404."""
from datetime import date

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..confirm import confirm_page, confirmed
from ..extensions import db
from ..forms import MAX_ID, page_error
from ..models import ItemRequest
from ..services import requests as reqs
from ..services import review as svc
from ..store.routes import render_page_or_fragment, wants_fragment
from .forms import QueueFilterForm

bp = Blueprint("review", __name__, url_prefix="/quan-ly")


@bp.context_processor
def _labels():
    return {"method_labels": reqs.METHOD_LABELS}


@bp.before_request
@login_required
def _staff_only():
    """Every page here needs a login and a hub the user acts for."""
    if not svc.staff_hubs(current_user):
        abort(403)


def _pick_hub(hub_id: int | None):
    hubs = svc.staff_hubs(current_user)
    if hub_id is None:
        return hubs[0], hubs
    return next((h for h in hubs if h.id == hub_id), None) or abort(404), hubs


# ---------------------------------------------------------------- the queue

def _queue_page(form: QueueFilterForm, errors: dict | None = None, status: int = 200):
    hub, hubs = _pick_hub(form.hub.data)
    form.set_choices(hubs, svc.queue_wards(hub.id))
    form.hub.data = hub.id
    queue = svc.queue(hub.id, form.query())
    shown = {req.id for req in queue}
    for request_id, message in (errors or {}).items():
        page_error(message, f"ly-do-{request_id}" if request_id in shown else None)
    response = render_page_or_fragment(
        "review/queue.html", "review/_queue.html", form=form, hub=hub, queue=queue,
        total=svc.queue_size(hub.id), errors=errors or {})
    response.status_code = status
    return response


def _after_action(form: QueueFilterForm, errors: dict | None = None):
    """htmx: the queue again (422 with the messages); without it: back to the queue page."""
    if errors or wants_fragment():
        return _queue_page(form, errors, 422 if errors else 200)
    return redirect(url_for(".queue", **form.url_args(form.hub.data)), code=303)


@bp.get("/yeu-cau")
def queue():
    return _queue_page(QueueFilterForm(formdata=request.args))


@bp.post("/yeu-cau/<int:request_id>/duyet")
def approve(request_id: int):
    form = QueueFilterForm(formdata=request.form)
    try:
        req = reqs.change_status(current_user.id, request_id, "approved")
    except LookupError:
        abort(404)
    except reqs.RequestError as exc:
        return _after_action(form, {request_id: exc.message})
    flash(_("Đã duyệt yêu cầu %(code)s.", code=req.code), "success")
    return _after_action(form)


@bp.post("/yeu-cau/<int:request_id>/tu-choi")
def reject(request_id: int):
    form = QueueFilterForm(formdata=request.form)
    req = db.session.get(ItemRequest, request_id)
    if req is None or not reqs.acts_for_hub(current_user, req.hub_id):
        abort(404)
    reason = request.form.get("reason", "")
    if reason.strip() and not confirmed():  # a missing reason is told on the queue first
        return confirm_page(
            _("Từ chối yêu cầu %(code)s?", code=req.code),
            [_("Yêu cầu bị từ chối và không mở lại được; các món đồ trở lại gian hàng."),
             _("Người gửi yêu cầu được báo lý do: “%(reason)s”.", reason=reason.strip())],
            _("Xác nhận từ chối"), url_for(".queue", **form.url_args(req.hub_id)),
            carry=("reason", "hub", "method", "ward"))
    try:
        req = reqs.change_status(current_user.id, request_id, "rejected",
                                 request.form.get("reason", ""))
    except LookupError:
        abort(404)
    except reqs.RequestError as exc:
        return _after_action(form, {request_id: exc.message})
    flash(_("Đã từ chối yêu cầu %(code)s; món đồ đã trở lại gian hàng.", code=req.code),
          "success")
    return _after_action(form)


@bp.post("/yeu-cau/duyet-nhieu")
def approve_many():
    form = QueueFilterForm(formdata=request.form)
    hub, _hubs = _pick_hub(form.hub.data)
    ids = [i for i in request.form.getlist("request_ids", type=int) if 0 < i <= MAX_ID]
    try:
        done = svc.approve_many(current_user.id, hub.id, ids)
    except LookupError:
        abort(404)
    except reqs.RequestError as exc:
        return _after_action(form, {None: exc.message})
    flash(ngettext("Đã duyệt %(n)s yêu cầu.", "Đã duyệt %(n)s yêu cầu.", len(done.codes),
                   n=len(done.codes)), "success")
    if done.skipped:
        flash(_("Bỏ qua %(codes)s: đã được xử lý trước đó.", codes=", ".join(done.skipped)),
              "error")
    return _after_action(form)


# ---------------------------------------------------------------- delivery days

@bp.get("/lich-giao")
def signups():
    hub, hubs = _pick_hub(request.args.get("hub", type=int))
    days = svc.delivery_days(hub)
    return render_template("review/signups.html", hub=hub, hubs=hubs,
                           signups=svc.signups(hub.id, days))


@bp.post("/lich-giao/<int:hub_id>/<day>")
def signup(hub_id: int, day: str):
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    available = request.form.get("available") == "1"
    try:
        svc.set_signup(current_user.id, hub_id, when, available)
    except LookupError:
        abort(404)
    except reqs.RequestError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for(".signups", hub=hub_id), code=303)
    if wants_fragment():
        hub, _hubs = _pick_hub(hub_id)
        return render_template("review/_signup_row.html", hub=hub, day=when,
                               people=svc.signups(hub_id, [when])[when])
    return redirect(url_for(".signups", hub=hub_id), code=303)


# The failed messages of the staff member's units live beside this module, on the same blueprint.
from . import messages  # noqa: E402,F401
