"""The store: the catalog of donated items (all hubs or one), an item's page, listing a new item."""
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
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import pagecache
from ..extensions import db
from ..models import Hub, Item
from ..services import catalog, images
from .forms import CatalogFilterForm, ItemForm

bp = Blueprint("store", __name__)


@bp.context_processor
def labels():
    return {"categories": catalog.CATEGORIES, "conditions": catalog.CONDITIONS,
            "thumb_side": images.THUMB_SIDE}


def wants_fragment() -> bool:
    """An htmx swap; htmx's history restore (back button, empty cache) needs the full page."""
    return request.headers.get("HX-Request") == "true" and \
        request.headers.get("HX-History-Restore-Request") != "true"


def render_page_or_fragment(page: str, fragment: str, **context):
    response = make_response(render_template(fragment if wants_fragment() else page, **context))
    response.vary.add("HX-Request")
    return response


def _catalog_page(slug: str | None):
    """The catalog of every hub, or of the hub `slug`; from the micro-cache for visitors who are
    not signed in (app/pagecache.py: its stock may be up to CATALOG_CACHE_SECONDS old)."""
    fragment = wants_fragment()

    def render_html(**context) -> str:
        hub = db.first_or_404(select(Hub).where(Hub.slug == slug)) if slug else None
        form = CatalogFilterForm(formdata=request.args)
        query = form.query(request.args.get("page", 1, type=int), hub_id=hub.id if hub else None)
        results = catalog.search(query, current_app.config["CATALOG_PAGE_SIZE"])
        page_args = form.url_args() | ({"slug": hub.slug} if hub else {})
        if not fragment:
            form.set_choices(pagecache.remembered("catalog sizes", catalog.sizes),
                             [] if hub else pagecache.remembered("hub names", catalog.hub_names))
        return render_template("store/_results.html" if fragment else "store/catalog.html",
                               form=form, results=results, hub=hub, page_args=page_args, **context)

    response = make_response(pagecache.render(render_html))
    response.vary.add("HX-Request")
    return response


@bp.get("/do-tang", endpoint="catalog")
def catalog_page():
    return _catalog_page(None)


@bp.get("/diem-phat/<string(maxlength=80):slug>")
def hub(slug: str):
    if not slug.replace("-", "").isalnum():
        abort(404)
    return _catalog_page(slug)


@bp.get("/do-tang/<int:item_id>")
def item(item_id: int):
    item = db.first_or_404(select(Item).where(Item.id == item_id, Item.is_listed.is_(True)))
    return render_template("store/item.html", item=item)


@bp.route("/quan-ly/mon-do/moi", methods=["GET", "POST"])
@login_required
def new_item():
    hubs = catalog.hubs(current_user.hub_ids_for("volunteer", "organizer"), stock_only=True)
    if not hubs:
        abort(403)
    form = ItemForm()
    form.set_hubs(hubs)
    if form.validate_on_submit():
        try:
            item = catalog.create_item(form.hub_id.data, current_user.id, form.fields(),
                                       form.photos.uploads())
        except images.ImageError as exc:
            form.photos.errors.append(str(exc.message))
        except catalog.CatalogError as exc:
            getattr(form, exc.field or "title").errors.append(str(exc.message))
        else:
            flash(_("Đã đăng “%(title)s”.", title=item.title), "success")
            return redirect(url_for("store.item", item_id=item.id), code=303)
    return render_template("store/item_form.html", form=form), \
        200 if request.method == "GET" else 422
