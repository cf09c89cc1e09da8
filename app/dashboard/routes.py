"""The numbers the union reports: one hub for its volunteers and organizers, all of an organizer's
hubs together (every hub for an admin); a server-drawn chart and a CSV export."""
from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from ..services import catalog, stats
from ..services.formatting import local_today
from ..services.requests import METHOD_LABELS
from ..services.review import staff_hubs

bp = Blueprint("dashboard", __name__, url_prefix="/quan-ly")

WEEK_CHOICES = (4, 8, 12, 26, 52)


def _scope():
    """(hubs counted, hubs the user may pick, chosen hub id or None for "all of mine")."""
    staff = staff_hubs(current_user) or abort(403)
    hub_id = request.args.get("hub", type=int)
    if hub_id:
        hub = next((h for h in staff if h.id == hub_id), None) or abort(404)
        return [hub], staff, hub.id
    organized = catalog.hubs(current_user.hub_ids_for("organizer"))
    return (organized, staff, None) if organized else (staff[:1], staff, staff[0].id)


def _weeks() -> int:
    weeks = request.args.get("weeks", type=int)
    return weeks if weeks in WEEK_CHOICES else stats.DEFAULT_WEEKS


@bp.get("/so-lieu")
@login_required
def index():
    hubs, choices, hub_id = _scope()
    numbers = stats.numbers(hubs, _weeks())
    return render_template(
        "dashboard/index.html", n=numbers, hubs=choices, hub_id=hub_id, weeks=_weeks(),
        week_choices=WEEK_CHOICES, groups=stats.chart(numbers.weeks),
        chart=(stats.CHART_WIDTH, stats.CHART_HEIGHT), series_labels=stats.SERIES_LABELS,
        method_labels=METHOD_LABELS, outcome_labels=stats.OUTCOME_LABELS,
        all_mine=bool(catalog.hubs(current_user.hub_ids_for("organizer"))))


@bp.get("/so-lieu.csv")
@login_required
def export():
    hubs, _choices, hub_id = _scope()
    name = f"so-lieu-{'diem-phat-' + str(hub_id) if hub_id else 'tong-hop'}-{local_today()}.csv"
    return Response(stats.to_csv(stats.numbers(hubs, _weeks())), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
