"""Union units in the browser (issue #11): an organizer sees the units of their subtree as a tree,
creates a unit below one of them, edits a unit's settings and the wards its volunteers deliver to.

Organizers of a unit or of a unit above it, and admins: anyone else gets a 403, a unit outside the
user's subtree a 404."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..services import geo
from ..services import hubs as svc
from ..services.text import clean_line, fold
from .forms import NewUnitForm, UnitForm, WardsForm

bp = Blueprint("units", __name__, url_prefix="/quan-ly/don-vi")


@bp.context_processor
def _labels():
    return {"level_labels": svc.LEVEL_LABELS, "weekdays": svc.WEEKDAYS}


@bp.before_request
@login_required
def _organizers_only():
    if svc.organized_ids(current_user) == set():
        abort(403)


def _unit(hub_id: int):
    return svc.unit_for(current_user, hub_id) or abort(404)


@bp.get("")
def index():
    return render_template("units/index.html",
                           tree=svc.tree(svc.organized_units(current_user)))


@bp.get("/<int:hub_id>")
def detail(hub_id: int):
    hub = _unit(hub_id)
    return render_template("units/detail.html", hub=hub, children=svc.children_of(hub.id),
                           wards=sorted((geo.ward_name(c) for c in hub.delivery_ward_codes),
                                        key=fold))


@bp.route("/<int:hub_id>/sua", methods=["GET", "POST"])
def edit(hub_id: int):
    hub = _unit(hub_id)
    form = UnitForm.for_settings(svc.settings_of(hub))
    if form.validate_on_submit():
        try:
            svc.update_hub(current_user.id, hub.id, form.settings())
        except LookupError:
            abort(404)
        except svc.HubError as exc:
            form.show(exc)
        else:
            flash(_("Đã lưu cài đặt của %(name)s.", name=form.name.data), "success")
            return redirect(url_for(".detail", hub_id=hub.id), code=303)
    return render_template("units/edit.html", form=form, hub=hub), \
        200 if request.method == "GET" else 422


@bp.route("/<int:hub_id>/phuong-xa", methods=["GET", "POST"])
def wards(hub_id: int):
    """The ward picker: the province's wards as checkboxes, those chosen first; `tim` filters the
    others by name (a plain GET form; static/js/filter.js filters as one types)."""
    hub = _unit(hub_id)
    form = WardsForm()
    chosen = set(form.codes()) if request.method == "POST" else hub.delivery_ward_codes
    if form.validate_on_submit():
        try:
            svc.set_delivery_wards(current_user.id, hub.id, form.codes())
        except LookupError:
            abort(404)
        except svc.HubError as exc:
            form.show(exc)
            chosen = hub.delivery_ward_codes
        else:
            flash(_("Đã lưu các phường/xã giao hàng."), "success")
            return redirect(url_for(".detail", hub_id=hub.id), code=303)
    term = clean_line(request.args.get("tim", ""), 60)
    options = geo.wards_of(hub.province_code)
    shown = [w for w in options if w[0] in chosen] + \
        [w for w in options if w[0] not in chosen and fold(term) in fold(w[1])]
    return render_template("units/wards.html", form=form, hub=hub, wards=shown, chosen=chosen,
                           term=term, total=len(options)), \
        200 if request.method == "GET" else 422


@bp.route("/moi", methods=["GET", "POST"])
def new():
    parents = svc.organized_units(current_user)
    form = NewUnitForm()
    wanted = form.parent_id.data if request.method == "POST" else \
        request.args.get("cha", type=int)
    parent = next((h for h in parents if h.id == wanted), None) if wanted else \
        next(iter(parents), None)
    if parent is None:
        abort(404)  # a unit outside the user's subtree
    form.parent_id.data = parent.id
    form.set_choices(parents, parent)
    if request.method == "POST" and not wanted:
        form.validate()
        form.parent_id.errors = [_("Vui lòng chọn đơn vị cấp trên.")]
    elif form.validate_on_submit():
        try:
            hub = svc.create_hub(form.spec(), actor_id=current_user.id)
        except LookupError:
            abort(404)
        except svc.HubError as exc:
            form.show(exc)
        else:
            flash(_("Đã tạo %(name)s.", name=hub.name), "success")
            return redirect(url_for(".detail", hub_id=hub.id), code=303)
    return render_template("units/new.html", form=form, parent=parent,
                           province=geo.province_name(parent.province_code)), \
        200 if request.method == "GET" else 422


@bp.get("/phuong-xa")
def ward_options():
    """<option>s of the wards of a parent unit's province (htmx, when the parent changes)."""
    parent = _unit(request.args.get("parent_id", type=int) or 0)
    return render_template("main/_ward_options.html", wards=geo.wards_of(parent.province_code),
                           selected=request.args.get("ward_code", type=int))
