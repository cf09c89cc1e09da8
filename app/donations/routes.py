"""Donations: the public offer form and the donor's page; the hub's intake (receive, inspect, list).

Staff reach only the donations of the hubs they act for; anything else is a 404.
"""
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from ..confirm import confirm_page, confirmed
from ..extensions import db, limiter
from ..models import DonationLine
from ..services import catalog
from ..services import donations as svc
from ..services.phones import display_phone
from ..services.requests import served_wards
from ..services.review import staff_hubs
from ..store.routes import render_page_or_fragment
from .forms import InspectForm, OfferForm, ReasonForm

bp = Blueprint("donations", __name__)

TABS = ("offered", "received", "closed", "cancelled")


@bp.context_processor
def _labels():
    return {"categories": catalog.CATEGORIES, "conditions": catalog.CONDITIONS,
            "handover_labels": svc.HANDOVER_LABELS, "donation_statuses": svc.STATUS_LABELS,
            "line_statuses": svc.LINE_STATUS_LABELS, "served_wards": served_wards}


def _donor_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


# ---------------------------------------------------------------- the donor

@bp.route("/tang-do", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("DONATION_RATE_LIMIT", "5 per minute;30 per hour"),
               key_func=_donor_key, methods=["POST"])
def offer():
    hubs = catalog.hubs(stock_only=True)
    prefill = {"hub_id": request.args.get("hub", type=int)}
    if current_user.is_authenticated:
        prefill |= {"donor_name": current_user.name, "phone": display_phone(current_user.phone)}
    form = OfferForm(hubs, **prefill)
    if form.validate_on_submit():
        donor_id = current_user.id if current_user.is_authenticated else None
        try:
            donation = svc.offer_donation(form.offer(), donor_id, form.key)
        except svc.DonationError as exc:
            form.show(exc)
        else:
            flash(_("Cảm ơn bạn! Đoàn đã nhận đề nghị tặng quà và sẽ liên hệ với bạn."), "success")
            return redirect(url_for(".track", token=donation.token), code=303)
    return render_template("donations/offer.html", form=form, hubs=hubs), \
        422 if request.method == "POST" else 200


@bp.get("/tang-do/theo-doi/<string(maxlength=64):token>")
def track(token: str):
    donation = svc.by_token(token) or abort(404)
    response = make_response(render_template("donations/track.html", donation=donation,
                                             reach=svc.reach(donation)))
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is the key to this page
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/tang-do/cua-toi")
@login_required
def mine():
    donations = svc.of_donor(current_user.id)
    return render_template("donations/mine.html",
                           rows=[(d, svc.reach(d)) for d in donations])


# ---------------------------------------------------------------- the hub's intake

def _hubs_or_403():
    return staff_hubs(current_user) or abort(403)


def _staff_donation(donation_id: int):
    return svc.get_for_staff(donation_id, current_user) or abort(404)


@bp.get("/quan-ly/tang-do")
@login_required
def intake():
    hubs = _hubs_or_403()
    hub_id = request.args.get("hub", type=int)
    if hub_id and hub_id not in {h.id for h in hubs}:
        abort(404)
    status = request.args.get("status") if request.args.get("status") in TABS else "offered"
    ids = {hub_id} if hub_id else {h.id for h in hubs}
    return render_page_or_fragment(
        "donations/intake.html", "donations/_intake_list.html", hubs=hubs, hub_id=hub_id,
        status=status, donations=svc.for_hubs(ids, status), counts=svc.counts_for_hubs(ids))


def _detail_page(donation, posted: dict | None = None, status: int = 200):
    """The donation with a form per line (the one just posted keeps its values and messages);
    for htmx only the lines."""
    forms = {line.id: (posted or {}).get(line.id) or InspectForm(line, formdata=None)
             for line in donation.lines}
    template = "donations/_lines.html" if _is_htmx() else "donations/detail.html"
    return render_template(template, donation=donation, forms=forms,
                           reason_form=ReasonForm(formdata=None)), status


@bp.get("/quan-ly/tang-do/<int:donation_id>")
@login_required
def detail(donation_id: int):
    return _detail_page(_staff_donation(donation_id))


def _act(donation_id: int, action, done_message: str):
    """Run one staff action on a donation, then back to its page with the outcome."""
    try:
        action()
    except LookupError:
        abort(404)
    except svc.DonationError as exc:
        flash(str(exc.message), "error")
    else:
        flash(done_message, "success")
    return redirect(url_for(".detail", donation_id=donation_id), code=303)


@bp.post("/quan-ly/tang-do/<int:donation_id>/da-nhan")
@login_required
def receive(donation_id: int):
    return _act(donation_id, lambda: svc.mark_received(current_user.id, donation_id),
                _("Đã đánh dấu đã nhận quà. Hãy kiểm từng món."))


@bp.post("/quan-ly/tang-do/<int:donation_id>/dong")
@login_required
def cancel(donation_id: int):
    form = ReasonForm()
    if (form.reason.data or "").strip() and not confirmed():  # a missing reason is told first
        donation = _staff_donation(donation_id)
        return confirm_page(
            _("Đóng đề nghị tặng quà của %(name)s?", name=donation.donor_name),
            [_("Đề nghị được đóng và không mở lại được; quà chưa nhận sẽ không được nhận nữa."),
             _("Người tặng được báo lý do: “%(reason)s”.", reason=form.reason.data.strip())],
            _("Xác nhận đóng đề nghị"), url_for(".detail", donation_id=donation.id),
            carry=("reason",))
    return _act(donation_id, lambda: svc.cancel(current_user.id, donation_id, form.reason.data),
                _("Đã đóng đề nghị tặng quà."))


@bp.post("/quan-ly/tang-do/<int:donation_id>/dang")
@login_required
def list_items(donation_id: int):
    return _act(donation_id, lambda: svc.list_accepted(current_user.id, donation_id),
                _("Đã đăng các món đạt lên gian hàng."))


@bp.post("/quan-ly/tang-do/mon/<int:line_id>")
@login_required
def inspect(line_id: int):
    line = db.get_or_404(DonationLine, line_id)
    donation = _staff_donation(line.donation_id)
    form = InspectForm(line)
    if form.validate_on_submit():
        try:
            svc.inspect_line(current_user.id, line.id, form.inspection())
        except LookupError:
            abort(404)
        except svc.DonationError as exc:
            form.show(exc)
        else:
            if _is_htmx():
                return _detail_page(donation)
            return redirect(url_for(".detail", donation_id=donation.id, _anchor=f"mon-{line.id}"),
                            code=303)
    return _detail_page(donation, {line.id: form}, 422)
