"""Small pieces shared by the features' forms, and the base class of every form of the app."""
import re

from flask import abort, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto  # FlaskForm's "read the request" default
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms import (
    FieldList,
    FileField,
    FormField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    TextAreaField,
)
from wtforms import Form as _Form
from wtforms.widgets import Select

from .services import jsonbody
from .services.text import clean_text

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
_KEY = re.compile(r"[0-9A-Za-z_-]{1,64}")


def idempotency_key(data) -> str | None:
    """A form's idempotency key as sent, if it looks like one (else the submit is not
    deduplicated)."""
    return data if isinstance(data, str) and _KEY.fullmatch(data) else None


class _CleanMeta:
    """Every value a form is sent is cleaned by services.text.clean_text before any field reads
    it — its data and the raw text it shows again on an error page alike: one line, or several
    for a TextAreaField. A PasswordField's value is left exactly as typed (the account service
    refuses a new password that holds hidden characters; User puts passwords in NFC itself).
    Values of a nested form (FormField, FieldList) are cleaned as several lines here, then by
    the nested form's own kind of field (the nested form is a SubForm)."""

    def wrap_formdata(self, form, formdata):
        if formdata is _Auto and form.is_submitted() and request.is_json:
            formdata = _json_formdata()
        formdata = super().wrap_formdata(form, formdata)
        if formdata is None:
            return None
        kinds = {f.name: f for f in form if not isinstance(f, (FormField, FieldList))}
        cleaned = MultiDict()
        for key, values in formdata.lists():
            field = kinds.get(key)
            if isinstance(field, PasswordField):
                cleaned.setlist(key, values)
            else:
                multiline = field is None or isinstance(field, TextAreaField)
                cleaned.setlist(key, [clean_text(v, multiline) for v in values])
        return cleaned


def _json_formdata() -> MultiDict:
    """A JSON object posted to a form (Flask-WTF accepts one), read like every JSON body the app
    reads (bounded in size and depth); values are strings, numbers, booleans or lists of them.
    Anything else answers 400."""
    try:
        data = jsonbody.loads(request.get_data(cache=True))
    except jsonbody.JSONBodyError:
        abort(400)
    if not isinstance(data, dict):
        abort(400)
    formdata = MultiDict()
    for key, value in data.items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, bool):
                v = "y" if v else "false"
            elif isinstance(v, int | float):
                v = str(v)
            elif not isinstance(v, str):
                abort(400)
            formdata.add(key, v)
    return formdata


class BaseForm(FlaskForm):
    """The base of every form of the app: what it is sent is cleaned (see _CleanMeta). Each form
    made while answering a request is remembered, so that the page's error summary (base.html,
    `error_summary`) lists the messages of every form that comes back with errors: a route only
    validates and puts a service's refusal in place with `ShowsErrors.show`."""

    class Meta(_CleanMeta):
        pass

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if has_request_context():
            _made("forms").append(self)


class SubForm(_Form):
    """The base of a form nested in another (FormField, FieldList): cleaned the same way."""

    class Meta(_CleanMeta):
        pass


class ShowsErrors:
    """A form mixin: `show(exc)` puts a service error's messages next to their fields, found by
    name (nested FormField fields too: "line0-quantity"), or at the top of the form. The error
    carries `errors` (field name → message) or one `field` and `message`."""

    def show(self, exc) -> None:
        fields = {f.name: f for f in _walk(self)}
        for name, message in getattr(exc, "errors", {exc.field: exc.message}).items():
            field = fields.get(self.field_name(name)) if name else None
            if field is None:
                self.form_errors.append(str(message))
            else:  # a field not validated yet holds an empty tuple
                field.errors = [*field.errors, str(message)]

    def field_name(self, name: str) -> str:
        """The form's field name for the service's `name`."""
        return f"{self._prefix}{name}"


def _walk(form):
    for f in form:
        if isinstance(f, FormField):
            yield from _walk(f.form)
        elif isinstance(f, FieldList):
            yield from _walk(f)
        else:
            yield f


def _made(kind: str) -> list:
    """This request's forms or page errors (kept with the request: `g` lives as long as the app
    context, which a test or a CLI command may share between requests)."""
    return request.environ.setdefault(f"gianhang0.{kind}", [])


def page_error(message, target: str | None = None) -> None:
    """A message that belongs to no form's field (an action on one row of a list) for the page's
    error summary, linked to the element of id `target` when the page shows one."""
    _made("page_errors").append((str(message), target))


def error_summary() -> list[tuple[str, str | None]]:
    """The messages of every form made for this request, in the forms' order: (message, the id
    of the control it belongs to, None for a message about the form as a whole). A radio
    group's message points at its first choice (the group itself has no focusable control)."""
    if not has_request_context():
        return []
    summary = list(_made("page_errors"))
    for form in _made("forms"):
        summary += [(str(m), None) for m in form.form_errors]
        for f in _walk(form):
            target = None if isinstance(f, HiddenField) else (
                f"{f.id}-0" if isinstance(f, RadioField) else f.id)
            summary += [(str(m), target) for m in f.errors]
    if summary:  # a photo chosen is not sent again by the browser: say so, by its field too
        summary += [(str(LOST_UPLOAD), f.id) for form in _made("forms")
                    for f in _walk(form) if upload_lost(f, summary)]
    return summary


LOST_UPLOAD = _l("Vì lý do bảo mật, trình duyệt không giữ ảnh đã chọn: vui lòng chọn lại ảnh "
                 "trước khi gửi.")


def upload_lost(field, summary=None) -> bool:
    """A file field that was sent a file, in a page whose forms come back with errors: the file
    is not kept (the form must be sent again with it), which the page says beside the field."""
    if not isinstance(field, FileField):
        return False
    files = field.data if isinstance(field.data, list) else [field.data]
    return any(getattr(f, "filename", None) for f in files) and bool(
        error_summary() if summary is None else summary)


def id_or_none(value) -> int | None:
    """A select's id (or a province/ward code): a positive database-sized integer, else None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms' choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class PlainSelect(Select):
    """WTForms' <select>, each plain <option> written by one format string: the same HTML, for the
    long lists (a province's wards, the catalog's hubs and sizes). WTForms' Select spends most of
    its time in html_params() per option: the catalog filter's three selects took 21 % of the
    page's CPU, 60 % less with this widget (cProfile, load.py's dataset)."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw or isinstance(choice.value, bool):
            return super().render_option(choice, **kwargs)
        return Markup('<option %svalue="%s">%s</option>' % (
            "selected " if choice.selected else "", escape(choice.value),
            escape(choice.label or choice.value)))
