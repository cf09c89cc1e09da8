"""Small pieces shared by the features' forms."""
import re

from markupsafe import Markup, escape
from wtforms import FormField, SelectChoice
from wtforms.widgets import Select

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
_KEY = re.compile(r"[0-9A-Za-z_-]{1,64}")


def idempotency_key(data) -> str | None:
    """A form's idempotency key as sent, if it looks like one (else the submit is not
    deduplicated)."""
    return data if isinstance(data, str) and _KEY.fullmatch(data) else None


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
        else:
            yield f


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
