"""The store: the catalog of donated items (all hubs or one), an item's page, listing a new item,
and the hub staff's side of its stock: their list of items, editing, unlisting and relisting one."""
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
from ..services import catalog, images, inventory
from ..services.requests import acts_for_hub, allowance_of
from ..services.review import staff_hubs
from .forms import CatalogFilterForm, ItemForm, StaffItemsForm

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
        query = form.query(request.args.get("page", 1, type=int), hub.id if hub else None)
        results = catalog.search(query, current_app.config["CATALOG_PAGE_SIZE"],
                                 pagecache.remembered)
        page_args = form.url_args() | ({"slug": hub.slug} if hub else {})
        form.set_choices(results.facets, pagecache.remembered("catalog sizes", catalog.sizes),
                         [] if hub else pagecache.remembered("hub names", catalog.hub_names))
        return render_template("store/_results.html" if fragment else "store/catalog.html",
                               form=form, results=results, hub=hub, page_args=page_args,
                               fragment=fragment, **context)

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
    """A listed item's page; an unlisted one only for its hub's staff, with their actions."""
    item = db.get_or_404(Item, item_id)
    staff = current_user.is_authenticated and acts_for_hub(current_user, item.hub_id)
    if not item.is_listed and not staff:
        abort(404)
    return render_template("store/item.html", item=item, staff=staff,
                           held=inventory.held(item) if staff else 0,
                           allowance=allowance_of(current_user, item.hub))


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


# ---------------------------------------------------------------- the hub staff's stock

def _staff_item(item_id: int) -> Item:
    """An item the user acts for: 403 for a user who acts for no hub, 404 for another hub's."""
    if not current_user.is_staff:
        abort(403)
    return inventory.manageable(current_user, item_id) or abort(404)


@bp.get("/quan-ly/mon-do")
@login_required
def manage():
    hubs = staff_hubs(current_user) or abort(403)
    form = StaffItemsForm(formdata=request.args)
    hub = next((h for h in hubs if h.id == form.hub.data), None) if form.hub.data else hubs[0]
    if hub is None:
        abort(404)
    form.set_choices(hubs)
    form.hub.data = hub.id
    items = inventory.staff_items(form.query(hub.id, request.args.get("page", 1, type=int)),
                                  current_app.config["CATALOG_PAGE_SIZE"])
    return render_template("store/manage.html", form=form, hub=hub, items=items,
                           page_args=form.url_args(hub.id))


@bp.route("/quan-ly/mon-do/<int:item_id>/sua", methods=["GET", "POST"])
@login_required
def edit_item(item_id: int):
    item = _staff_item(item_id)
    form = ItemForm.for_edit(item)
    if form.validate_on_submit():
        try:
            inventory.edit_item(current_user.id, item.id, form.fields(),
                                form.photo_order([p.id for p in item.photos]),
                                form.photos.uploads())
        except LookupError:
            abort(404)
        except images.ImageError as exc:
            form.photos.errors.append(str(exc.message))
        except catalog.CatalogError as exc:
            getattr(form, exc.field or "title").errors.append(str(exc.message))
        else:
            flash(_("Đã lưu “%(title)s”.", title=form.title.data.strip()), "success")
            return redirect(url_for("store.item", item_id=item_id), code=303)
        db.session.rollback()  # the page shows the item as it is now
    photos = {p.id: p for p in item.photos}
    return render_template("store/item_form.html", form=form, item=item, photos=photos,
                           held=inventory.held(item)), \
        200 if request.method == "GET" else 422


@bp.route("/quan-ly/mon-do/<int:item_id>/go", methods=["GET", "POST"])
@login_required
def unlist_item(item_id: int):
    """GET: what unlisting does, and the button; POST: unlist (works without JavaScript)."""
    item = _staff_item(item_id)
    if request.method == "GET":
        return render_template("store/unlist.html", item=item,
                               effects=inventory.unlisting(item))
    return _set_listed(item, False, _("Đã gỡ “%(title)s” khỏi danh mục.", title=item.title))


@bp.post("/quan-ly/mon-do/<int:item_id>/dang-lai")
@login_required
def relist_item(item_id: int):
    item = _staff_item(item_id)
    return _set_listed(item, True, _("Đã đăng lại “%(title)s”.", title=item.title))


def _set_listed(item: Item, listed: bool, done: str):
    try:
        inventory.set_listed(current_user.id, item.id, listed)
    except LookupError:
        abort(404)
    flash(done, "success")
    return redirect(url_for("store.item", item_id=item.id), code=303)
