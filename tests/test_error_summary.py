"""Every form that comes back with errors: a summary at the top of the page (a link per message
to its field, an id that exists), "Lỗi:" first in the title, the messages still by the fields.

The forms are walked through the security matrix's world and routes (tests/test_security_matrix):
every route that takes a form post is sent its valid body with each value blanked, as the first
role allowed; whatever comes back as a form with messages (a 400/422 page) must carry the summary.
"""
import re
from html import unescape

import pytest

from tests.test_security_matrix import MATRIX, ROLES, Roles, build_world, clean, url

_SUMMARY = re.compile(r'<div class="error-summary" id="error-summary"[^>]*>(.*?)</div>', re.DOTALL)
_LINK = re.compile(r'<li>(?:<a href="#([^"]+)">)?([^<]*)')
_ID = re.compile(r'\sid="([^"]+)"')
_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)

# Forms that must come back with a summary when every value is blanked (so the walk below
# cannot pass by finding no form at all).
MUST_REFUSE = {
    "accounts.login", "accounts.register", "accounts.change_name", "accounts.change_phone",
    "accounts.change_password", "accounts.reset", "accounts.create_code",
    "accounts.delete_account", "store.new_item", "store.edit_item", "requests.checkout",
    "requests.waitlist_join", "donations.offer", "shop.checkout", "vendors.apply",
    "vendors.new_product", "vendors.edit_product", "market.create", "market.join",
    "market.desk", "units.edit", "units.new", "delivery.post_result", "review.reject",
}
_ANONYMOUS_FORMS = {"accounts.login", "accounts.register", "accounts.reset"}


def summary_of(html: str) -> list[tuple[str | None, str]]:
    """The summary's (target id, message) lines; asserts the page's shape around it."""
    box = _SUMMARY.search(html)
    assert box, "no error summary"
    assert re.search(r'<main id="main"[^>]*>\s*<div class="error-summary"', html), "not on top"
    assert unescape(_TITLE.search(html).group(1)).strip().startswith("Lỗi:")
    lines = [(target or None, unescape(text).strip())
             for target, text in _LINK.findall(box.group(1))]
    assert lines and all(text for _, text in lines)
    ids = set(_ID.findall(html))
    for target, text in lines:
        assert target is None or target in ids, f"{text!r} links to #{target}, not in the page"
    return lines


KEPT = ("key", "idempotency_key", "ma")  # hidden values a page always sends back as it had them


def blanked(body: dict) -> dict:
    return {k: v if k in KEPT else "" for k, v in body.items() if not isinstance(v, list)}


@pytest.fixture(scope="module")
def world(app):
    world = build_world(app)
    yield world, Roles(app, world)
    clean(app)


def _is_form(endpoint: str) -> bool:
    """A route that takes a form of values (not a bare button, not a webhook or JSON body)."""
    rule = MATRIX[endpoint]
    return (rule.body is not None and not rule.json and not endpoint.startswith("webhooks.")
            and bool(rule.body(_NO_SIDE)))


class _Side:
    def __getattr__(self, name):
        return 1


_NO_SIDE = _Side()
# The world's post parcel is at the post office already: its page offers the result, not this.
NOT_SHOWN = {"delivery.post_sent"}
FORM_ROUTES = sorted(e for e in MATRIX if _is_form(e) and e not in NOT_SHOWN)


@pytest.mark.parametrize("endpoint", FORM_ROUTES)
def test_a_form_sent_blank_comes_back_with_a_summary(app, world, endpoint):
    world, roles = world
    rule = MATRIX[endpoint]
    signed_in = [r for r in ROLES if r in rule.who.own and r != "anonymous"]
    role = "anonymous" if endpoint in _ANONYMOUS_FORMS or not signed_in else signed_in[0]
    client = roles.client(role)
    if rule.basket:
        with client.session_transaction() as sess:
            sess["basket"] = [world.a.item]
    resp = client.post(url(app, endpoint, rule.args(world.a)), data=blanked(rule.body(world.a)))
    html = resp.get_data(as_text=True)
    if endpoint in MUST_REFUSE:
        assert resp.status_code in (400, 422), (resp.status_code, resp.location, role)
    if resp.status_code in (400, 422) and resp.mimetype == "text/html" and "<form" in html:
        for target, text in summary_of(html):  # by its field too, not only in the summary
            assert target is None or unescape(html).count(text) >= 2, text
    else:
        assert 'id="error-summary"' not in html


def test_a_page_without_errors_has_no_summary(client, db):
    html = client.get("/tai-khoan/dang-nhap").get_data(as_text=True)
    assert "error-summary" not in html
    assert not unescape(_TITLE.search(html).group(1)).startswith("Lỗi")
