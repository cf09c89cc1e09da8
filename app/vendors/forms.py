"""Forms of the vendor's side: applying to sell, the organizer's decision, a product.

They carry the values; the rules (bank list, account number, price, stock, links) live in
services.vendors, whose messages are put next to the fields with `show`.
"""
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput, TextInput

from ..forms import BaseForm, ShowsErrors, choices, id_or_none
from ..services import vietqr
from ..services.formatting import parse_vnd
from ..services.vendors import PRODUCT_CATEGORIES, ProductFields, VendorFields
from ..store.forms import PhotosField

_WHOLE = re.compile(r"-?\d+", re.ASCII)
_IMAGE_TYPES = "image/jpeg,image/png,image/webp"


class WholeNumberField(IntegerField):
    """A whole number with a Vietnamese message when it is not one; `money`: an amount of đồng
    as people type it ("50.000", "50 000 ₫", "50k": services.formatting.parse_vnd), the one
    reading of every price and amount field."""

    def __init__(self, label=None, validators=None, money: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.money = money

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = valuelist[0]
        if self.money:
            self.data = parse_vnd(raw)
        else:
            self.data = int(raw) if _WHOLE.fullmatch(raw) else None
        if raw and self.data is None:
            raise ValueError(_("Vui lòng nhập số tiền bằng chữ số, ví dụ 50.000.") if self.money
                             else _("Vui lòng nhập một số nguyên, ví dụ 5."))



class VendorApplicationForm(ShowsErrors, BaseForm):
    hub_id = SelectField(_l("Điểm phát (cơ sở Đoàn) bạn bán cùng"), coerce=id_or_none,
                         validate_choice=False)
    business_name = StringField(_l("Tên cơ sở kinh doanh"), validators=[
        DataRequired(_l("Vui lòng nhập tên cơ sở kinh doanh.")),
        Length(max=160, message=_l("Tên quá dài (tối đa 160 ký tự)."))])
    story = TextAreaField(_l("Câu chuyện khởi nghiệp"), validators=[
        Length(max=4000, message=_l("Tối đa 4000 ký tự."))], render_kw={"rows": 5})
    photo = FileField(_l("Ảnh đại diện (không bắt buộc)"), render_kw={"accept": _IMAGE_TYPES})
    bank_bin = SelectField(_l("Ngân hàng nhận tiền"), validate_choice=False)
    account_number = StringField(_l("Số tài khoản"), render_kw={
        "inputmode": "numeric", "autocomplete": "off", "maxlength": 30})
    account_holder = StringField(_l("Tên chủ tài khoản"), render_kw={"maxlength": 120})

    def __init__(self, hubs, **kwargs):
        super().__init__(**kwargs)
        self.hub_id.choices = choices([("", _("— Chọn điểm phát —"))]
                                      + [(h.id, h.name) for h in hubs])
        self.bank_bin.choices = choices([("", _("— Chọn ngân hàng —"))] + [
            (b.bin, f"{b.short_name} — {b.name} ({b.bin})") for b in vietqr.banks()])

    def fields(self) -> VendorFields:
        return VendorFields(
            business_name=self.business_name.data or "", bank_bin=self.bank_bin.data or "",
            account_number=self.account_number.data or "",
            account_holder=self.account_holder.data or "", story=self.story.data or "")

    def upload(self):
        """The chosen photo, or None (browsers send an empty part when none is chosen)."""
        return self.photo.data if self.photo.data and self.photo.data.filename else None


class ReviewForm(BaseForm):
    decision = StringField()  # the button pressed: 'approve' or 'reject'
    reason = StringField(_l("Lý do từ chối"), validators=[
        Length(max=255, message=_l("Tối đa 255 ký tự."))])


class ProductForm(ShowsErrors, BaseForm):
    name = StringField(_l("Tên sản phẩm"), validators=[
        DataRequired(_l("Vui lòng nhập tên sản phẩm.")),
        Length(max=160, message=_l("Tên quá dài (tối đa 160 ký tự)."))])
    category = SelectField(_l("Danh mục"), choices=choices(PRODUCT_CATEGORIES.items()),
                           validate_choice=False)
    price = WholeNumberField(_l("Giá bán (đồng)"), money=True, widget=TextInput(), validators=[
        InputRequired(_l("Vui lòng nhập giá bán."))],
        render_kw={"inputmode": "numeric", "placeholder": "50.000"})
    stock = WholeNumberField(_l("Số lượng còn trong kho"), default=1, validators=[
        InputRequired(_l("Vui lòng nhập số lượng."))], render_kw={"inputmode": "numeric"})
    stock_seen = WholeNumberField(widget=HiddenInput(), default=0)
    description = TextAreaField(_l("Mô tả"), validators=[
        Length(max=4000, message=_l("Mô tả quá dài."))], render_kw={"rows": 4})
    links = TextAreaField(_l("Nơi khác cũng bán sản phẩm này (Postmart, Shopee, Lazada, ...)"),
                          render_kw={"rows": 3, "placeholder": "https://postmart.vn/..."})
    photos = PhotosField(_l("Ảnh"), render_kw={"accept": _IMAGE_TYPES})

    def fields(self) -> ProductFields:
        return ProductFields(
            name=self.name.data or "", category=self.category.data or "", price=self.price.data,
            stock=self.stock.data, description=self.description.data or "",
            links=tuple((self.links.data or "").splitlines()))
