"""The start-up shop: the "Sản phẩm khởi nghiệp" catalog, a product's page, ordering from one
vendor (account or guest), and the order's page with its VietQR, reached by an unguessable token."""
from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from ..extensions import db, limiter
from ..models import Product
from ..services import images, orders, payments, vendors, vietqr
from ..services.phones import display_phone
from ..services.requests import RequestError
from ..store.routes import render_page_or_fragment, wants_fragment
from .forms import ProductFilterForm, order_form

bp = Blueprint("shop", __name__)

order_limit = limiter.limit(lambda: current_app.config["REQUEST_RATE_LIMIT"], methods=["POST"])


@bp.context_processor
def _labels():
    return {"product_categories": vendors.PRODUCT_CATEGORIES,
            "order_statuses": orders.STATUS_LABELS, "order_methods": orders.METHOD_LABELS,
            "thumb_side": images.THUMB_SIDE, "link_host": vendors.link_host}


@bp.get("/san-pham", endpoint="catalog")
def catalog_page():
    form = ProductFilterForm(formdata=request.args)
    results = vendors.search(form.query(request.args.get("page", 1, type=int)),
                             current_app.config["CATALOG_PAGE_SIZE"])
    if not wants_fragment():
        form.set_choices(vendors.hubs_with_vendors())
    return render_page_or_fragment("shop/catalog.html", "shop/_results.html", form=form,
                                   results=results, page_args=form.url_args())


@bp.get("/san-pham/<int:product_id>")
def product(product_id: int):
    product = db.get_or_404(Product, product_id)
    if not product.is_listed or not product.vendor.is_approved:
        abort(404)
    return render_template("shop/product.html", product=product)


@bp.route("/dat-hang/<int:vendor_id>", methods=["GET", "POST"])
@order_limit
def checkout(vendor_id: int):
    vendor = vendors.public_vendor(vendor_id) or abort(404)
    products = vendors.products_of(vendor.id, listed_only=True)
    buyer = {"recipient_name": current_user.name, "phone": display_phone(current_user.phone)} \
        if current_user.is_authenticated else {}
    form = order_form(vendor.hub, products, request.args.get("sp", type=int), **buyer)
    if request.form.get("preview"):  # "Cập nhật tổng tiền" without JS: only the total changes
        pass
    elif form.validate_on_submit():
        try:
            order = orders.submit_order(
                vendor.id, form.quantities(), form.delivery(),
                current_user.id if current_user.is_authenticated else None, form.key)
        except (orders.OrderError, RequestError) as exc:
            form.show(exc)
        else:
            return redirect(url_for(".order", token=order.token), code=303)
    return render_template("shop/checkout.html", form=form, vendor=vendor, hub=vendor.hub,
                           products=products, quote=orders.quote(products, form.quantities())), \
        422 if form.errors else 200


@bp.get("/don-hang/<token>")
def order(token: str):
    order = orders.by_token(token) or abort(404)
    payment = payments.payment_for(order) if order.status == "awaiting_payment" else None
    response = make_response(render_template("shop/order.html", order=order, payment=payment))
    response.headers["Cache-Control"] = "no-store"  # the page holds the buyer's phone and address
    return response


@bp.get("/don-hang/<token>/vietqr.png")
def order_qr(token: str):
    """The order's VietQR as a PNG to save ("Lưu mã QR"): the same token as the page, and only while
    the order waits for its payment."""
    order = orders.by_token(token) or abort(404)
    if order.status != "awaiting_payment":
        abort(404)
    response = make_response(vietqr.qr_png(payments.payment_for(order).payload))
    response.mimetype = "image/png"
    response.headers["Content-Disposition"] = f'attachment; filename="vietqr-{order.code}.png"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/don-hang")
@login_required
def my_orders():
    return render_template("shop/mine.html", orders=orders.orders_of_buyer(current_user.id))
