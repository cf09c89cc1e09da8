"""The weekly run for the hub's volunteers and organizers: the run page with its build button,
the printables (pick list, route sheets, post-office dispatch with labels and CSV, pickup list),
and the hand-over (scan page, confirm with the student's code, missed, post office)."""
import os

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ..extensions import db
from ..models import Hub, Route, RunStop
from ..services import geo, handover, jsonbody, runs
from ..services.formatting import local_today
from ..services.requests import METHOD_LABELS, STATUS_LABELS, acts_for_hub
from ..services.vietqr import qr_svg
from .forms import (
    BuildForm,
    ConfirmForm,
    DayForm,
    MissedForm,
    PostResultForm,
    ScanForm,
    TrackingForm,
)

bp = Blueprint("delivery", __name__, url_prefix="/giao-hang")


@bp.context_processor
def _helpers():
    return {"status_labels": STATUS_LABELS, "method_labels": METHOD_LABELS,
            "address": runs.address, "items_text": runs.items_text,
            "parcel_items": runs.parcel_items, "open_members": handover.open_members,
            "flag_label": runs.flag_label, "parcel_qr": _parcel_qr, "ward_name": geo.ward_name,
            "place_label": geo.place_label}


def _parcel_qr(req):
    """A parcel's QR code: the scan page of its hub with its code, for any phone camera."""
    return qr_svg(url_for("delivery.scan", hub_id=req.hub_id, ma=req.code, _external=True))


def _staff_hub(hub_id: int) -> Hub:
    hub = db.get_or_404(Hub, hub_id)
    return hub if acts_for_hub(current_user, hub.id) else abort(404)


def _run(run_id: int):
    return runs.get_run(run_id, current_user) or abort(404)


@bp.get("")
@login_required
def index():
    hubs = runs.staff_hubs(current_user) if current_user.is_staff else []
    if len(hubs) == 1:
        return redirect(url_for(".run_page", hub_id=hubs[0].id))
    return render_template("delivery/index.html", hubs=hubs) if hubs else abort(404)


def _render_run(hub: Hub, day, form: BuildForm, day_form: DayForm | None = None,
                status: int = 200):
    return render_template(
        "delivery/run.html", hub=hub, view=runs.overview(hub, day), form=form,
        day_form=day_form or DayForm(formdata=None, date=day.isoformat())), status


@bp.get("/<int:hub_id>")
@login_required
def run_page(hub_id: int):
    """The run of a day (default: the next delivery day); a past day shows its run, if any."""
    hub = _staff_hub(hub_id)
    day_form = DayForm(formdata=request.args if "date" in request.args else None)
    if "date" in request.args:
        day_form.validate()
    day = day_form.day or runs.next_delivery_date(hub, local_today())
    return _render_run(hub, day, BuildForm(formdata=None, date=day.isoformat()), day_form)


@bp.post("/<int:hub_id>/lap-chuyen")
@login_required
def build(hub_id: int):
    hub = _staff_hub(hub_id)
    form = BuildForm()
    if form.validate_on_submit():
        try:
            result = runs.build_run(hub.id, current_user.id, form.day)
        except runs.RunError as exc:
            form.show(exc)
        else:
            flash(ngettext("Đã lập chuyến %(day)s: thêm %(n)s bưu kiện.",
                           "Đã lập chuyến %(day)s: thêm %(n)s bưu kiện.", result.added,
                           n=result.added, day=format_date(result.date, "EEEE, d/M/yyyy"))
                  if result.added else
                  _("Chuyến %(day)s đã đủ: không có yêu cầu mới.",
                    day=format_date(result.date, "EEEE, d/M/yyyy")), "success")
            if result.late:
                flash(ngettext("%(n)s yêu cầu được duyệt sau hạn chốt sẽ đi chuyến sau.",
                               "%(n)s yêu cầu được duyệt sau hạn chốt sẽ đi chuyến sau.",
                               result.late, n=result.late))
            return redirect(url_for(".run_page", hub_id=hub.id, date=result.date.isoformat()),
                            code=303)
    return _render_run(hub, form.day or runs.next_delivery_date(hub, local_today()), form,
                       status=422)


# ---------------------------------------------------------------- printables

@bp.get("/chuyen/<int:run_id>/nhat-hang")
@login_required
def pick_list(run_id: int):
    run = _run(run_id)
    totals, sections = runs.pick_list(run)
    return render_template("delivery/pick_list.html", run=run, totals=totals, sections=sections)


@bp.get("/tuyen/<int:route_id>")
@login_required
def route_sheet(route_id: int):
    route = db.get_or_404(Route, route_id)
    _run(route.run_id)
    return render_template("delivery/route.html", route=route, run=route.run,
                           offline=_keeps_offline(route.id), missed_form=MissedForm(formdata=None),
                           max_attempts=handover.MAX_CODE_ATTEMPTS)


def _keeps_offline(route_id: int) -> bool:
    """The route is under way and the viewer may deliver it: the phone keeps it offline."""
    try:
        return handover.offline_bundle(current_user.id, route_id) is not None
    except LookupError:
        return False


# ---------------------------------------------------------------- the route offline (issue #15)

@bp.get("/tuyen/<int:route_id>/ngoai-tuyen")
@login_required
def offline_bundle(route_id: int):
    """What the volunteer's phone keeps of a route under way (static/js/offline.js), with a fresh
    CSRF token for the sync; {"gone": true} when there is nothing to keep (the phone deletes its
    copy) — a 200 all the same: the browser logs a 4xx as a console error."""
    try:
        bundle = handover.offline_bundle(current_user.id, route_id)
    except LookupError:
        abort(404)
    body = jsonify({**(bundle or {"route": route_id, "gone": True}),
                    "csrf_token": generate_csrf()})
    body.headers["Cache-Control"] = "no-store"
    return body


@bp.post("/tuyen/<int:route_id>/dong-bo")
@login_required
def offline_sync(route_id: int):
    """The phone's queue of hand-overs and missed deliveries: {"actions": [...]} (JSON, CSRF
    token in X-CSRFToken); the answer gives each action's result, in order."""
    try:
        data = jsonbody.loads(request.get_data())
        actions = data.get("actions") if isinstance(data, dict) else None
        results = handover.sync(current_user.id, route_id, actions)
    except LookupError:
        abort(404)
    except (jsonbody.JSONBodyError, handover.HandoverError):
        return jsonify(error=_("Dữ liệu đồng bộ không hợp lệ.")), 400
    return jsonify(results=[r.as_json() for r in results])


@bp.get("/sw.js")
def service_worker():
    """The service worker, served under /giao-hang/ so that its scope covers the route sheets."""
    resp = send_file(os.path.join(current_app.static_folder, "js", "sw.js"),
                     mimetype="text/javascript", max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/chuyen/<int:run_id>/buu-dien")
@login_required
def dispatch(run_id: int):
    return _render_dispatch(_run(run_id))


def _render_dispatch(run, errors: dict | None = None, status: int = 200):
    """The dispatch page; `errors` maps a stop id to the form that came back with messages."""
    return render_template("delivery/dispatch.html", run=run, stops=runs.stops_of(run, "post"),
                           errors=errors or {}, tracking_form=TrackingForm(formdata=None),
                           result_form=PostResultForm(formdata=None)), status


@bp.get("/chuyen/<int:run_id>/buu-dien.csv")
@login_required
def dispatch_csv(run_id: int):
    run = _run(run_id)
    name = f"buu-dien-{run.hub.slug}-{run.date.isoformat()}.csv"
    return Response(runs.dispatch_csv(run), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/chuyen/<int:run_id>/nhan-tai-diem-phat")
@login_required
def pickup_list(run_id: int):
    run = _run(run_id)
    return render_template("delivery/pickup.html", run=run, stops=runs.stops_of(run, "pickup"))


# ---------------------------------------------------------------- moving parcels on

@bp.post("/tuyen/<int:route_id>/xuat-phat")
@login_required
def start_route(route_id: int):
    try:
        moved = handover.start_route(current_user.id, route_id)
    except LookupError:
        abort(404)
    flash(ngettext("Tuyến đã xuất phát: %(n)s bưu kiện đang được giao.",
                   "Tuyến đã xuất phát: %(n)s bưu kiện đang được giao.", moved, n=moved),
          "success")
    return redirect(url_for(".route_sheet", route_id=route_id), code=303)


@bp.post("/chuyen/<int:run_id>/san-sang")
@login_required
def ready_pickups(run_id: int):
    try:
        moved = handover.ready_pickups(current_user.id, run_id)
    except LookupError:
        abort(404)
    flash(ngettext("%(n)s bưu kiện đã sẵn sàng; các bạn nhận đã được báo.",
                   "%(n)s bưu kiện đã sẵn sàng; các bạn nhận đã được báo.", moved, n=moved),
          "success")
    return redirect(url_for(".pickup_list", run_id=run_id), code=303)


def _post_action(stop_id: int, form, act):
    """Run a post-office action on a dispatch row; its errors come back next to that row
    (whose fields carry the stop's id in theirs, as the page writes them)."""
    stop = db.get_or_404(RunStop, stop_id)
    run = _run(stop.run_id)
    for f in form:
        f.id = f"{f.name}-{stop.id}"
    if form.validate_on_submit():
        try:
            act()
        except LookupError:
            abort(404)
        except handover.HandoverError as exc:
            form.show(exc)
        else:
            return redirect(url_for(".dispatch", run_id=run.id, _anchor=f"p{stop.id}"), code=303)
    return _render_dispatch(run, {stop.id: form}, 422)


@bp.post("/buu-kien/<int:stop_id>/buu-gui")
@login_required
def post_sent(stop_id: int):
    form = TrackingForm()
    return _post_action(stop_id, form, lambda: handover.post_sent(
        current_user.id, stop_id, form.tracking_number.data))


@bp.post("/buu-kien/<int:stop_id>/ket-qua")
@login_required
def post_result(stop_id: int):
    form = PostResultForm()
    return _post_action(stop_id, form, lambda: handover.post_result(
        current_user.id, stop_id, form.result.data == "delivered", form.reason.data))


# ---------------------------------------------------------------- the scan page

def _render_scan(hub: Hub, code: str = "", scan_form=None, confirm_form=None, missed_form=None,
                 status: int = 200):
    """The scan page, showing the parcel of `code` when there is one to hand over."""
    scan_form = scan_form or ScanForm(formdata=None, ma=code)
    stop = None
    if code and not scan_form.errors:
        try:
            stop = handover.lookup(current_user.id, hub.id, code)
        except handover.HandoverError as exc:
            scan_form.show(exc)
    if stop:
        scan_form.ma.data = stop.request.code  # as printed, whatever was typed or scanned
        confirm_form = confirm_form or ConfirmForm(formdata=None, ma=stop.request.code)
        missed_form = missed_form or MissedForm(formdata=None, ma=stop.request.code)
    return render_template("delivery/scan.html", hub=hub, stop=stop, scan_form=scan_form,
                           confirm_form=confirm_form, missed_form=missed_form,
                           max_attempts=handover.MAX_CODE_ATTEMPTS), status


@bp.get("/<int:hub_id>/quet")
@login_required
def scan(hub_id: int):
    hub = _staff_hub(hub_id)
    form = ScanForm(formdata=request.args if "ma" in request.args else None)
    return _render_scan(hub, form.ma.data or "", form)


@bp.post("/<int:hub_id>/quet/xac-nhan")
@login_required
def confirm(hub_id: int):
    hub = _staff_hub(hub_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            stop = handover.confirm(current_user.id, hub.id, form.ma.data, form.student_code.data)
        except handover.HandoverError as exc:
            if exc.field != "student_code":  # the parcel itself: say so at the top
                flash(str(exc.message), "error")
                return redirect(url_for(".scan", hub_id=hub.id), code=303)
            form.show(exc)
        else:
            flash(_("Đã giao bưu kiện %(code)s cho %(name)s.", code=stop.request.code,
                    name=stop.request.recipient_name), "success")
            return redirect(url_for(".scan", hub_id=hub.id), code=303)
    return _render_scan(hub, form.ma.data, confirm_form=form, status=422)


@bp.post("/<int:hub_id>/quet/khong-thanh-cong")
@login_required
def missed(hub_id: int):
    hub = _staff_hub(hub_id)
    form = MissedForm()
    if form.validate_on_submit():
        try:
            stop = handover.missed(current_user.id, hub.id, form.ma.data, form.reason.data,
                                   to_stock=form.then.data == "stock")
        except handover.HandoverError as exc:
            if exc.field != "reason":
                flash(str(exc.message), "error")
                return redirect(url_for(".scan", hub_id=hub.id), code=303)
            form.show(exc)
        else:
            flash(_("Đã ghi bưu kiện %(code)s giao chưa thành công.", code=stop.request.code),
                  "success")
            return redirect(url_for(".scan", hub_id=hub.id), code=303)
    return _render_scan(hub, form.ma.data, missed_form=form, status=422)
