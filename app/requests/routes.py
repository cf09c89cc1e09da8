"""The student's side of a request: basket, checkout, tracking, cancel, the waitlist."""
from flask import (
    Blueprint,
    abort,
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
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from ..confirm import confirm_page, confirmed
from ..extensions import db, limiter
from ..models import Hub, Item, ItemRequest
from ..services import basket
from ..services import requests as svc
from ..services.messages import outbox
from ..services.phones import display_phone
from .forms import DeliveryForm

bp = Blueprint("requests", __name__)


@bp.context_processor
def _helpers():
    return {"pickup_day": svc.next_pickup_day, "served_wards": svc.served_wards,
            "status_labels": svc.STATUS_LABELS, "method_labels": svc.METHOD_LABELS}


def _rate_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


# One budget for everything that creates a request or a waitlist entry.
creation_limit = limiter.shared_limit(lambda: current_app.config["REQUEST_RATE_LIMIT"],
                                      scope="request-create", key_func=_rate_key,
                                      methods=["POST"])


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _basket_ids() -> list[int]:
    return session.get("basket", [])


def _listed_item(item_id: int) -> Item:
    item = db.get_or_404(Item, item_id)
    if not item.is_listed:
        abort(404)
    return item


def _delivery_form(hub: Hub) -> DeliveryForm:
    """The delivery form; shown afresh, it holds the student's last address (to keep or change)."""
    last = svc.last_address(current_user.id)
    if last is None:
        form = DeliveryForm(hub, recipient_name=current_user.name,
                            phone=display_phone(current_user.phone))
    else:
        form = DeliveryForm(hub, recipient_name=last.recipient_name,
                            phone=display_phone(last.phone or current_user.phone),
                            province_code=last.province_code, ward_code=last.ward_code,
                            street=last.street)
    form.remembered = last is not None and not form.is_submitted()
    return form


def _form_page(template: str, form: DeliveryForm, **context):
    """The form page; 422 when it comes back with messages."""
    return render_template(template, form=form, **context), 422 if form.errors else 200


def _basket_answer():
    """After a change to the basket: its fragment for htmx, else a 303 to the page."""
    if _is_htmx():
        groups = basket.groups(_basket_ids())
        response = current_app.make_response(render_template(
            "requests/_basket.html", groups=groups,
            allowances={g.hub.id: svc.allowance_of(current_user, g.hub) for g in groups}))
        response.vary.add("HX-Request")
        return response
    return redirect(url_for(".basket"), code=303)


@bp.post("/gio/them/<int:item_id>")
def basket_add(item_id: int):
    item = _listed_item(item_id)
    session["basket"] = basket.add(_basket_ids(), item.id)
    added = item.id in session["basket"]
    if _is_htmx():
        response = current_app.make_response(render_template("requests/_added.html", added=added))
        response.vary.add("HX-Request")
        return response
    if not added:
        flash(_("Giỏ đã đầy (tối đa %(n)s món). Hãy gửi yêu cầu trước khi thêm món khác.",
                n=basket.MAX_ITEMS), "error")
    return redirect(url_for(".basket"), code=303)


@bp.post("/gio/bo/<int:item_id>")
def basket_remove(item_id: int):
    session["basket"] = basket.remove(_basket_ids(), item_id)
    return _basket_answer()


@bp.get("/gio", endpoint="basket")
def basket_page():
    for item in basket.unlisted(_basket_ids()):
        flash(basket.left_out_message(item), "error")
    groups = basket.groups(_basket_ids())
    session["basket"] = [i for g in groups for i in g.item_ids]  # drop items gone from the store
    return render_template("requests/basket.html", groups=groups,
                           allowances={g.hub.id: svc.allowance_of(current_user, g.hub)
                                       for g in groups})


@bp.route("/gio/gui/<int:hub_id>", methods=["GET", "POST"])
@login_required
@creation_limit
def checkout(hub_id: int):
    hub = db.get_or_404(Hub, hub_id)
    group = basket.group_for(_basket_ids(), hub.id)
    form = _delivery_form(hub)
    if form.validate_on_submit():
        try:
            done = basket.checkout(current_user.id, hub.id, _basket_ids(), form.delivery(),
                                   form.key)
        except svc.RequestError as exc:
            form.show(exc)
        else:
            session["basket"] = done.basket
            if done.request is None:  # all of it sold out or unlisted: said at the top
                form.form_errors.extend(str(m) for m in done.messages)
            else:
                for message in done.messages:
                    flash(message, "error")
                return redirect(url_for(".detail", request_id=done.request.id), code=303)
    elif not (group and group.items) and request.method == "GET":
        flash(_("Giỏ của bạn chưa có món nào của điểm phát này."), "error")
        return redirect(url_for(".basket"), code=303)
    return _form_page("requests/checkout.html", form, hub=hub, group=group,
                      allowance=svc.weekly_allowance(current_user.id, hub))


@bp.get("/yeu-cau")
@login_required
def mine():
    return render_template("requests/mine.html", reqs=svc.list_for_user(current_user.id))


@bp.get("/yeu-cau/<int:request_id>")
@login_required
def detail(request_id: int):
    req = svc.get_visible(request_id, current_user) or abort(404)
    sent = (outbox.for_request(db.session, req.id, get_locale().language)
            if svc.acts_for_hub(current_user, req.hub_id) else None)  # staff only
    return render_template("requests/detail.html", req=req, steps=svc.timeline(req),
                           personal=svc.can_see_personal_data(current_user, req), sent=sent,
                           handed_out_on=svc.pickup_day_of(req))


@bp.post("/yeu-cau/<int:request_id>/huy")
@login_required
def cancel(request_id: int):
    req = db.session.get(ItemRequest, request_id)
    if req is None or req.user_id != current_user.id:
        abort(404)
    if not confirmed():
        return confirm_page(
            _("Hủy yêu cầu %(code)s?", code=req.code),
            [_("Yêu cầu sẽ bị hủy và không khôi phục được: các món đồ được trả lại cho điểm "
               "phát để bạn khác nhận."),
             _("Muốn nhận lại, bạn phải gửi yêu cầu mới, nếu món vẫn còn.")],
            _("Xác nhận hủy yêu cầu"), url_for(".detail", request_id=req.id))
    try:
        svc.cancel_request(current_user.id, request_id)
    except LookupError:
        abort(404)
    except svc.RequestError as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("Đã hủy yêu cầu. Món đồ đã được trả lại cho điểm phát."), "success")
    return redirect(url_for(".detail", request_id=request_id), code=303)


@bp.route("/do-tang/<int:item_id>/cho", methods=["GET", "POST"])
@login_required
@creation_limit
def waitlist_join(item_id: int):
    item = _listed_item(item_id)
    form = _delivery_form(item.hub)
    if form.validate_on_submit():
        try:
            svc.join_waitlist(current_user.id, item.id, form.delivery())
        except svc.RequestError as exc:
            form.show(exc)
        else:
            return redirect(url_for(".waitlist_join", item_id=item.id), code=303)
    return _form_page("requests/waitlist.html", form, item=item, hub=item.hub,
                      allowance=svc.weekly_allowance(current_user.id, item.hub),
                      position=svc.waitlist_position(current_user.id, item.id))


@bp.post("/do-tang/<int:item_id>/cho/roi")
@login_required
def waitlist_leave(item_id: int):
    item = _listed_item(item_id)
    svc.leave_waitlist(current_user.id, item.id)
    flash(_("Bạn đã rời danh sách chờ."), "success")
    return redirect(url_for(".waitlist_join", item_id=item.id), code=303)
