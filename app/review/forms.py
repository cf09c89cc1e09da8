"""The queue's filters (GET, no CSRF; bad values are ignored, never an error)."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from ..forms import BaseForm, choices, id_or_none
from ..models.request import METHODS
from ..services.requests import METHOD_LABELS
from ..services.review import QueueFilter


class QueueFilterForm(BaseForm):
    class Meta:
        csrf = False

    hub = SelectField(_l("Điểm phát"), coerce=id_or_none, validate_choice=False)
    method = SelectField(_l("Cách nhận"), validate_choice=False)
    ward = SelectField(_l("Phường/xã"), coerce=id_or_none, validate_choice=False)

    def set_choices(self, hubs, wards) -> None:
        self.hub.choices = choices((h.id, h.name) for h in hubs)
        self.method.choices = choices([("", _("Mọi cách nhận"))]
                                      + [(m, METHOD_LABELS[m]) for m in METHODS])
        self.ward.choices = choices([("", _("Mọi phường/xã")), *wards])

    def query(self) -> QueueFilter:
        method = self.method.data if self.method.data in METHODS else ""
        return QueueFilter(method, self.ward.data)

    def url_args(self, hub_id: int) -> dict:
        args = {"hub": hub_id, "method": self.query().method, "ward": self.ward.data}
        return {k: v for k, v in args.items() if v}
