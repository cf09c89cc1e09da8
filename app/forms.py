"""Small pieces shared by the features' forms."""
from markupsafe import Markup, escape
from wtforms import SelectChoice
from wtforms.widgets import Select

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database


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
