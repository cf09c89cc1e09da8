"""Every route that changes state refuses a request without a CSRF token (400, nothing done)."""
import re

from tests import factories

# Bank feeds: authenticated by an HMAC signature or an API key instead (tests/test_bank_feeds.py)
CSRF_EXEMPT = {"webhooks.bank", "webhooks.sepay", "webhooks.casso", "webhooks.zns_receipt"}


def _fill(rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)


def test_every_post_route_requires_csrf_token(csrf_app, db):
    user = factories.make_user(roles=("student", "volunteer", "admin"))
    client = csrf_app.test_client()
    with client.session_transaction() as sess:  # logged in, so login_required does not answer first
        sess["_user_id"] = factories.login_id(user)
        sess["_fresh"] = True
    checked = 0
    for rule in csrf_app.url_map.iter_rules():
        if not rule.methods & {"POST", "PUT", "PATCH", "DELETE"} or rule.endpoint in CSRF_EXEMPT:
            continue
        for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            resp = client.open(_fill(rule), method=method, data={"x": "1"})
            assert resp.status_code == 400, (rule.rule, method, resp.status_code)
            assert "CSRF" in resp.get_data(as_text=True)
            checked += 1
    assert checked >= 3
