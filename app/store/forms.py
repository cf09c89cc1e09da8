from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    IntegerField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
)

from ..forms import PlainSelect, choices, id_or_none
from ..services.catalog import (
    CATEGORIES,
    CONDITIONS,
    MAX_PHOTOS,
    MAX_QUANTITY,
    CatalogQuery,
    ItemFields,
)
from ..services.text import clean_line

MAX_PAGE = 10_000


class CatalogFilterForm(FlaskForm):
    """The catalog's search and filters (GET, no CSRF); bad values are ignored, never an error."""

    class Meta:
        csrf = False

    q = SearchField(_l("Tìm đồ"), render_kw={"placeholder": _l("Tìm: giày 38, vở, áo dài…"),
                                             "autocomplete": "off", "maxlength": 100})
    category = SelectField(_l("Danh mục"), validate_choice=False)
    size = SelectField(_l("Cỡ"), validate_choice=False, widget=PlainSelect())
    hub = SelectField(_l("Điểm phát"), coerce=id_or_none, validate_choice=False,
                      widget=PlainSelect())
    available = BooleanField(_l("Chỉ món còn hàng"))

    def set_choices(self, sizes: list[str], hubs) -> None:
        self.category.choices = choices([("", _l("Mọi danh mục")), *CATEGORIES.items()])
        self.size.choices = choices([("", _l("Mọi cỡ"))] + [(s, s) for s in sizes])
        self.hub.choices = choices([("", _l("Tất cả điểm phát"))] + [(h.id, h.name) for h in hubs])

    def query(self, page: int, hub_id: int | None = None) -> CatalogQuery:
        return CatalogQuery(
            q=clean_line(self.q.data, 100), category=self.category.data or "",
            size=clean_line(self.size.data, 32), hub_id=hub_id or self.hub.data,
            available_only=bool(self.available.data), page=min(max(page, 1), MAX_PAGE),
        )

    def url_args(self) -> dict:
        """The filters as query-string arguments (for pagination links), empty ones left out."""
        args = {"q": self.q.data, "category": self.category.data, "size": self.size.data,
                "hub": self.hub.data, "available": "y" if self.available.data else None}
        return {k: v for k, v in args.items() if v}


class PhotosField(MultipleFileField):
    def uploads(self) -> list:
        """The files actually chosen (browsers send one empty part when none is)."""
        return [f for f in self.data or [] if f and f.filename]


class ItemForm(FlaskForm):
    hub_id = SelectField(_l("Điểm phát"), coerce=int)
    title = StringField(_l("Tên món đồ"), validators=[
        DataRequired(_l("Vui lòng nhập tên món đồ.")),
        Length(max=160, message=_l("Tên quá dài (tối đa 160 ký tự)."))])
    category = SelectField(_l("Danh mục"), choices=choices(CATEGORIES.items()))
    size = StringField(_l("Cỡ"), validators=[Length(max=32, message=_l("Tối đa 32 ký tự."))])
    condition = SelectField(_l("Tình trạng"), choices=choices(CONDITIONS.items()),
                            default="good")
    quantity = IntegerField(_l("Số lượng"), default=1, validators=[
        InputRequired(_l("Vui lòng nhập số lượng.")),
        NumberRange(1, MAX_QUANTITY, _l("Số lượng từ 1 đến %(max)s."))],
        render_kw={"min": 1, "max": MAX_QUANTITY, "inputmode": "numeric"})
    description = TextAreaField(_l("Mô tả"), validators=[
        Length(max=4000, message=_l("Mô tả quá dài."))], render_kw={"rows": 4})
    photos = PhotosField(_l("Ảnh (tối đa %(n)s)", n=MAX_PHOTOS),
                         render_kw={"accept": "image/jpeg,image/png,image/webp"})

    def set_hubs(self, hubs) -> None:
        self.hub_id.choices = choices((h.id, h.name) for h in hubs)

    def fields(self) -> ItemFields:
        return ItemFields(
            title=self.title.data, category=self.category.data, size=self.size.data or "",
            condition=self.condition.data, quantity=self.quantity.data,
            description=self.description.data or "",
        )
