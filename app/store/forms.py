from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
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

from ..forms import BaseForm, PlainSelect, SubForm, choices, id_or_none
from ..services.catalog import (
    CATEGORIES,
    CONDITIONS,
    MAX_PHOTOS,
    MAX_QUANTITY,
    CatalogQuery,
    Facets,
    ItemFields,
)
from ..services.inventory import SHOW_CHOICES, StaffQuery

MAX_PAGE = 10_000


class CatalogFilterForm(BaseForm):
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

    def set_choices(self, facets: Facets, sizes: list[str], hubs) -> None:
        """The filters' options, each with how many items the current search would list with it
        ("Giày dép (124)"); every size and hub stays offered, with (0) when none matches."""
        def counted(label, n: int) -> str:
            return f"{label} ({n})"

        cats, by_size, by_hub = facets.categories, facets.sizes, facets.hubs
        self.category.choices = choices(
            [("", counted(_l("Mọi danh mục"), sum(cats.values())))]
            + [(k, counted(label, cats.get(k, 0))) for k, label in CATEGORIES.items()])
        self.size.choices = choices([("", counted(_l("Mọi cỡ"), sum(by_size.values())))]
                                    + [(s, counted(s, by_size.get(s, 0))) for s in sizes])
        self.hub.choices = choices([("", counted(_l("Tất cả điểm phát"), sum(by_hub.values())))]
                                   + [(h.id, counted(h.name, by_hub.get(h.id, 0))) for h in hubs])

    def query(self, page: int, within_hub: int | None = None) -> CatalogQuery:
        """The search; `within_hub`: a hub's own page (its items only, no hub filter)."""
        return CatalogQuery(
            q=(self.q.data or "")[:100], category=self.category.data or "",
            size=(self.size.data or "")[:32], hub_id=None if within_hub else self.hub.data,
            available_only=bool(self.available.data), page=min(max(page, 1), MAX_PAGE),
            within_hub=within_hub,
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


class PhotoEntry(SubForm):
    """One photo an item already has, on its edit form: where it goes, or that it goes."""
    photo_id = HiddenField(filters=[id_or_none])
    position = SelectField(_l("Thứ tự"), coerce=id_or_none, validate_choice=False,
                           choices=choices((n, str(n)) for n in range(1, MAX_PHOTOS + 1)))
    remove = BooleanField(_l("Bỏ ảnh này"))


class ItemForm(BaseForm):
    """Listing a new item, and editing one (`for_edit`: no hub, the item's photos to order)."""

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
    existing = FieldList(FormField(PhotoEntry), max_entries=MAX_PHOTOS * 2)

    @classmethod
    def for_edit(cls, item) -> "ItemForm":
        """The form filled with the item (a POST's values win); the hub is not changed here."""
        form = cls(data={
            "title": item.title, "category": item.category, "size": item.size,
            "condition": item.condition, "quantity": item.quantity,
            "description": item.description,
            "existing": [{"photo_id": p.id, "position": i + 1, "remove": False}
                         for i, p in enumerate(item.photos)]})
        del form.hub_id
        form.photos.label.text = _l("Thêm ảnh")
        return form

    def photo_order(self, photo_ids: list[int]) -> list[int]:
        """The ids of the item's photos to keep, in the chosen order (ties keep the old order);
        photos the form does not mention are kept, after the others."""
        entries = [(e.form.position.data or MAX_PHOTOS + 1, n, e.form.photo_id.data,
                    e.form.remove.data) for n, e in enumerate(self.existing)
                   if e.form.photo_id.data]
        mentioned = {photo_id for _pos, _n, photo_id, _remove in entries}
        kept = [photo_id for _pos, _n, photo_id, remove in sorted(entries) if not remove]
        return kept + [i for i in photo_ids if i not in mentioned]

    def set_hubs(self, hubs) -> None:
        self.hub_id.choices = choices((h.id, h.name) for h in hubs)

    def fields(self) -> ItemFields:
        return ItemFields(
            title=self.title.data, category=self.category.data, size=self.size.data or "",
            condition=self.condition.data, quantity=self.quantity.data,
            description=self.description.data or "",
        )


class StaffItemsForm(BaseForm):
    """The staff's list of a hub's items (GET, no CSRF; bad values are ignored)."""

    class Meta:
        csrf = False

    hub = SelectField(_l("Điểm phát"), coerce=id_or_none, validate_choice=False)
    q = SearchField(_l("Tìm theo tên"), render_kw={"autocomplete": "off", "maxlength": 100})
    show = SelectField(_l("Hiển thị"), validate_choice=False, choices=choices([
        ("all", _l("Tất cả")), ("listed", _l("Đang đăng")), ("unlisted", _l("Đã gỡ"))]))

    def set_choices(self, hubs) -> None:
        self.hub.choices = choices((h.id, h.name) for h in hubs)

    def query(self, hub_id: int, page: int) -> StaffQuery:
        show = self.show.data if self.show.data in SHOW_CHOICES else "all"
        return StaffQuery(hub_id, (self.q.data or "")[:100], show,
                          min(max(page, 1), MAX_PAGE))

    def url_args(self, hub_id: int) -> dict:
        args = {"hub": hub_id, "q": (self.q.data or "")[:100],
                "show": self.show.data if self.show.data in ("listed", "unlisted") else None}
        return {k: v for k, v in args.items() if v}
