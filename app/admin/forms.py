"""The audit log's filters (GET, no CSRF; bad values are ignored, never an error)."""
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import SearchField, SelectField, StringField

from ..forms import BaseForm, choices
from ..services.audit import ACTION_LABELS, LABELS, LogFilter


def _day(value) -> date | None:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


class AuditFilterForm(BaseForm):
    class Meta:
        csrf = False

    actor = SearchField(_l("Người thao tác"), render_kw={
        "placeholder": _l("Tên hoặc số điện thoại"), "maxlength": 120, "autocomplete": "off"})
    action = SelectField(_l("Thao tác"), validate_choice=False, choices=choices(
        [("", _l("Mọi thao tác")), *ACTION_LABELS.items()]))
    target = SelectField(_l("Đối tượng"), validate_choice=False, choices=choices(
        [("", _l("Mọi đối tượng")), *LABELS.items()]))
    since = StringField(_l("Từ ngày"), render_kw={"type": "date"})
    until = StringField(_l("Đến ngày"), render_kw={"type": "date"})

    def query(self) -> LogFilter:
        return LogFilter(actor=(self.actor.data or "")[:120], action=self.action.data or "",
                         target_type=self.target.data or "", since=_day(self.since.data),
                         until=_day(self.until.data))

    def url_args(self) -> dict:
        """The filters as query-string arguments (for pagination links), empty ones left out."""
        f = self.query()
        args = {"actor": f.actor, "action": f.action, "target": f.target_type,
                "since": f.since and f.since.isoformat(), "until": f.until and f.until.isoformat()}
        return {k: v for k, v in args.items() if v}
