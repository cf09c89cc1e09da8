"""The start-up's side: apply to sell, the organizer's review, the storefront, products, the
dashboard and the orders (confirm a payment by hand, hand over, cancel, CSV).

Every object is checked on the server: a vendor reaches only their own products and orders, an
organizer only the applications of their hubs; anything else is a 404.
"""
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..confirm import confirm_page, confirmed
from ..extensions import db
from ..models import Vendor
from ..services import catalog, images, orders, payments, vietqr
from ..services import vendors as svc
from .forms import ProductForm, ReviewForm, VendorApplicationForm

bp = Blueprint("vendors", __name__, url_prefix="/gian-hang")


@bp.context_processor
def _labels():
    return {"product_categories": svc.PRODUCT_CATEGORIES, "order_statuses": orders.STATUS_LABELS,
            "order_methods": orders.METHOD_LABELS, "review_reasons": payments.REVIEW_REASONS,
            "thumb_side": images.THUMB_SIDE, "bank_by_bin": vietqr.bank_by_bin}


def _form_page(template: str, form, **context):
    """The form page; 422 when a post comes back with messages."""
    return render_template(template, form=form, **context), \
        200 if request.method == "GET" else 422


def _own_vendor(vendor_id: int):
    return svc.owned_vendor(current_user.id, vendor_id) or abort(404)


# ---------------------------------------------------------------- applying and the review

@bp.route("/dang-ky", methods=["GET", "POST"])
@login_required
def apply():
    form = VendorApplicationForm(catalog.hubs())
    if form.validate_on_submit():
        try:
            svc.apply(current_user.id, form.hub_id.data, form.fields(), form.upload())
        except images.ImageError as exc:
            form.photo.errors.append(str(exc.message))
        except svc.VendorError as exc:
            form.show(exc)
        else:
            flash(_("Đã gửi đăng ký. Cán bộ Đoàn của điểm phát sẽ duyệt và báo cho bạn."),
                  "success")
            return redirect(url_for(".mine"), code=303)
    return _form_page("vendors/apply.html", form)


@bp.get("/cua-toi")
@login_required
def mine():
    reviewing = current_user.has_role("organizer")
    return render_template("vendors/mine.html", vendors=svc.vendors_of(current_user.id),
                           pending=len(svc.pending_for(current_user)) if reviewing else None)


@bp.get("/duyet")
@login_required
def review():
    if not current_user.has_role("organizer"):
        abort(404)
    return render_template("vendors/review.html", applications=svc.pending_for(current_user),
                           form=ReviewForm())


@bp.post("/duyet/<int:vendor_id>")
@login_required
def decide(vendor_id: int):
    form = ReviewForm()
    if form.validate_on_submit():
        approve = form.decision.data == "approve"
        reason = (form.reason.data or "").strip()
        if not approve and reason and not confirmed():  # a missing reason is told first
            vendor = db.session.get(Vendor, vendor_id)
            if vendor is None or not current_user.has_role("organizer", vendor.hub_id):
                abort(404)
            return confirm_page(
                _("Từ chối “%(name)s”?", name=vendor.business_name),
                [_("Đơn đăng ký bị từ chối và không mở lại được; người đăng ký phải gửi đơn mới."),
                 _("Người đăng ký được báo lý do: “%(reason)s”.", reason=reason)],
                _("Xác nhận từ chối"), url_for(".review"), carry=("decision", "reason"))
        try:
            vendor = svc.review(current_user.id, vendor_id, approve, form.reason.data or "")
        except LookupError:
            abort(404)
        except svc.VendorError as exc:
            flash(str(exc.message), "error")
        else:
            flash(_("Đã duyệt “%(name)s”.", name=vendor.business_name) if approve else
                  _("Đã từ chối “%(name)s”.", name=vendor.business_name), "success")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for(".review"), code=303)


# ---------------------------------------------------------------- storefront and products

@bp.get("/<int:vendor_id>")
def storefront(vendor_id: int):
    vendor = svc.public_vendor(vendor_id) or abort(404)
    return render_template("vendors/storefront.html", vendor=vendor,
                           products=svc.products_of(vendor.id, listed_only=True))


@bp.route("/<int:vendor_id>/san-pham/moi", methods=["GET", "POST"])
@login_required
def new_product(vendor_id: int):
    vendor = _own_vendor(vendor_id)
    form = ProductForm()
    if form.validate_on_submit():
        try:
            svc.create_product(current_user.id, vendor.id, form.fields(), form.photos.uploads())
        except images.ImageError as exc:
            form.photos.errors.append(str(exc.message))
        except svc.VendorError as exc:
            form.show(exc)
        else:
            flash(_("Đã đăng sản phẩm."), "success")
            return redirect(url_for(".dashboard", vendor_id=vendor.id), code=303)
    return _form_page("vendors/product_form.html", form, vendor=vendor, product=None)


@bp.route("/san-pham/<int:product_id>/sua", methods=["GET", "POST"])
@login_required
def edit_product(product_id: int):
    product = svc.owned_product(current_user.id, product_id) or abort(404)
    form = ProductForm(data={
        "name": product.name, "category": product.category, "price": product.price,
        "stock": product.stock, "stock_seen": product.stock, "description": product.description,
        "links": "\n".join(product.links)})
    if form.validate_on_submit():
        try:
            svc.update_product(current_user.id, product.id, form.fields(),
                               form.stock_seen.data or 0, form.photos.uploads())
        except images.ImageError as exc:
            form.photos.errors.append(str(exc.message))
        except svc.VendorError as exc:
            form.show(exc)
        else:
            flash(_("Đã lưu sản phẩm."), "success")
            return redirect(url_for(".dashboard", vendor_id=product.vendor_id), code=303)
    return _form_page("vendors/product_form.html", form, vendor=product.vendor, product=product)


@bp.post("/san-pham/<int:product_id>/hien-thi")
@login_required
def set_listed(product_id: int):
    try:
        product = svc.set_listed(current_user.id, product_id, request.form.get("listed") == "1")
    except LookupError:
        abort(404)
    flash(_("Sản phẩm đang được bày bán.") if product.is_listed else
          _("Đã ẩn sản phẩm khỏi cửa hàng."), "success")
    return redirect(url_for(".dashboard", vendor_id=product.vendor_id), code=303)


# ---------------------------------------------------------------- dashboard and orders

@bp.get("/<int:vendor_id>/quan-ly")
@login_required
def dashboard(vendor_id: int):
    vendor = _own_vendor(vendor_id)
    sales = orders.sales_by_day(vendor.id)
    return render_template(
        "vendors/dashboard.html", vendor=vendor, products=svc.products_of(vendor.id),
        to_prepare=orders.orders_of(vendor.id, ("paid",)),
        awaiting=orders.orders_of(vendor.id, ("awaiting_payment",)),
        reviews=payments.review_list(vendor.id), sales=sales, bars=orders.chart_bars(sales),
        chart=(orders.CHART_WIDTH, orders.CHART_HEIGHT))


@bp.get("/<int:vendor_id>/don-hang", endpoint="orders")
@login_required
def orders_page(vendor_id: int):
    vendor = _own_vendor(vendor_id)
    status = request.args.get("trang-thai", "")
    chosen = (status,) if status in orders.STATUS_LABELS else None
    return render_template("vendors/orders.html", vendor=vendor, status=status,
                           orders=orders.orders_of(vendor.id, chosen),
                           reviews=payments.review_list(vendor.id))


@bp.get("/<int:vendor_id>/don-hang.csv")
@login_required
def orders_csv(vendor_id: int):
    vendor = _own_vendor(vendor_id)
    return Response(orders.orders_csv(vendor.id), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="don-hang-gian-hang-{vendor.id}.csv"'})


def _order_action(action, order_id: int, done):
    """Run a vendor's action on their order; back to the order list with what happened."""
    try:
        order = action(current_user.id, order_id)
    except LookupError:
        abort(404)
    except orders.OrderError as exc:
        flash(str(exc.message), "error")
        order = orders.owned_order(current_user.id, order_id)
    else:
        flash(done(order.code), "success")
    return redirect(url_for(".orders", vendor_id=order.vendor_id), code=303)


@bp.post("/don-hang/<int:order_id>/da-nhan-tien")
@login_required
def confirm_payment(order_id: int):
    return _order_action(payments.confirm_payment, order_id, lambda code: _(
        "Đã ghi nhận bạn nhận đủ tiền của đơn %(code)s.", code=code))


@bp.post("/don-hang/<int:order_id>/da-giao")
@login_required
def mark_delivered(order_id: int):
    return _order_action(orders.mark_delivered, order_id,
                         lambda code: _("Đơn %(code)s đã giao.", code=code))


@bp.post("/don-hang/<int:order_id>/huy")
@login_required
def cancel_order(order_id: int):
    if not confirmed():
        order = orders.owned_order(current_user.id, order_id) or abort(404)
        return confirm_page(
            _("Hủy đơn %(code)s?", code=order.code),
            [_("Đơn bị hủy và không khôi phục được; hàng trong đơn trở lại kho."),
             _("Nếu người mua đã chuyển khoản, bạn tự trả lại tiền cho họ.")],
            _("Xác nhận hủy đơn"), url_for(".orders", vendor_id=order.vendor_id))
    return _order_action(orders.cancel_order, order_id,
                         lambda code: _("Đã hủy đơn %(code)s, hàng đã trả lại kho.", code=code))


@bp.post("/giao-dich/<int:transaction_id>/da-xem")
@login_required
def mark_reviewed(transaction_id: int):
    try:
        tx = payments.mark_reviewed(current_user.id, transaction_id)
    except LookupError:
        abort(404)
    flash(_("Đã đánh dấu khoản chuyển khoản là đã xử lý."), "success")
    return redirect(url_for(".orders", vendor_id=tx.vendor_id), code=303)
