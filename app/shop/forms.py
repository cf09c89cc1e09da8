"""The start-up catalog's filters and the order form.

The order form is the requests' delivery form (buyer's name, phone, the province/ward picker,
consent, idempotency key) with pickup or post only, plus one quantity per product of the vendor.
"""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SearchField, SelectField

from ..forms import BaseForm, choices, id_or_none
from ..requests.forms import DeliveryForm
from ..services.orders import MAX_QUANTITY, METHOD_LABELS, METHODS
from ..services.vendors import PRODUCT_CATEGORIES, ProductQuery
from ..store.forms import MAX_PAGE
from ..vendors.forms import WholeNumberField


class ProductFilterForm(BaseForm):
    """Search and filters of the start-up catalog (GET, no CSRF); bad values are ignored."""

    class Meta:
        csrf = False

    q = SearchField(_l("Tìm sản phẩm"), render_kw={
        "placeholder": _l("Ví dụ: mật ong, nón lá, cà phê"), "autocomplete": "off",
        "maxlength": 100})
    category = SelectField(_l("Danh mục"), validate_choice=False)
    hub = SelectField(_l("Điểm phát"), coerce=id_or_none, validate_choice=False)
    available = BooleanField(_l("Chỉ sản phẩm còn hàng"))

    def set_choices(self, hubs) -> None:
        self.category.choices = choices([("", _l("Tất cả")), *PRODUCT_CATEGORIES.items()])
        self.hub.choices = choices([("", _l("Tất cả điểm phát"))] + [(h.id, h.name) for h in hubs])

    def query(self, page: int) -> ProductQuery:
        category = self.category.data if self.category.data in PRODUCT_CATEGORIES else ""
        return ProductQuery(q=(self.q.data or "")[:100], category=category,
                            hub_id=self.hub.data, available_only=bool(self.available.data),
                            page=min(max(page, 1), MAX_PAGE))

    def url_args(self) -> dict:
        """The filters as query-string arguments (for pagination links), empty ones left out."""
        args = {"q": self.q.data, "category": self.category.data, "hub": self.hub.data,
                "available": "y" if self.available.data else None}
        return {k: v for k, v in args.items() if v}


class OrderForm(DeliveryForm):
    def __init__(self, hub, products, **kwargs):
        super().__init__(hub, **kwargs)
        self.products = products
        self.method.choices = choices((m, METHOD_LABELS[m]) for m in METHODS)
        self.method.label.text = _("Cách nhận hàng")
        self.consent.label.text = _(
            "Tôi đồng ý để người bán dùng họ tên, số điện thoại và địa chỉ trên chỉ để giao đơn "
            "hàng này, theo Nghị định 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân.")

    def quantity_field(self, product):
        return self[f"qty_{product.id}"]

    def quantities(self) -> dict[int, int]:
        return {p.id: self.quantity_field(p).data or 0 for p in self.products}


def order_form(hub, products, chosen: int | None = None, **kwargs) -> OrderForm:
    """An OrderForm with a quantity field `qty_<id>` for each product (1 for the chosen one)."""
    class _OrderForm(OrderForm):
        pass

    for p in products:
        setattr(_OrderForm, f"qty_{p.id}", WholeNumberField(
            p.name, default=1 if p.id == chosen else 0,
            render_kw={"inputmode": "numeric", "min": 0, "max": min(p.stock, MAX_QUANTITY)}))
    return _OrderForm(hub, products, **kwargs)
