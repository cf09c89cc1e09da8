"""Every redirect target that comes from user input stays on this site
(security.safe_redirect_target): a corpus of known open-redirect bypasses through every route that
takes one."""
from urllib.parse import quote, urlsplit

import pytest

from app.security import safe_redirect_target
from tests import factories

# Raw values as the route reads them (after the query string or form is decoded once).
BYPASSES = [
    "//evil.example", "///evil.example", "/\t/evil.example", "/\n/evil.example",
    "/\r\n/evil.example", "\t//evil.example", "/\\evil.example", "\\\\evil.example",
    "/\\/evil.example", " //evil.example", "/ /evil.example", "/\x00/evil.example",
    "/\u200b/evil.example", "/\u3000/evil.example", "/\u00a0/evil.example",
    "/\u202e/evil.example", "https://evil.example", "http:/evil.example", "javascript:alert(1)",
    "JaVaScRiPt:alert(1)", "evil.example", "", "@evil.example", "/\x7f/evil.example",
]
# Same-site paths, kept (non-ASCII percent-encoded as the Location header carries it).
KEPT = {
    "/do-tang": "/do-tang",
    "/do-tang?q=gi%C3%A0y&page=2": "/do-tang?q=gi%C3%A0y&page=2",
    "/do-tang?q=giày": "/do-tang?q=gi%C3%A0y",
    "/%2F%2Fevil.example": "/%2F%2Fevil.example",  # a path of this site, not a host
    "/\uff0f/evil.example": "/%EF%BC%8F/evil.example",  # a look-alike slash stays in the path
    "/tai-khoan/#top": "/tai-khoan/#top",
}


@pytest.mark.parametrize("value", BYPASSES)
def test_bypasses_fall_back_to_the_default(value):
    assert safe_redirect_target(value, "/home") == "/home"


@pytest.mark.parametrize("value, expected", KEPT.items())
def test_paths_of_this_site_are_kept(value, expected):
    assert safe_redirect_target(value, "/home") == expected


def where(resp) -> str:
    location = resp.headers["Location"]
    parts = urlsplit(location)
    assert resp.status_code == 303
    assert parts.netloc in ("", "localhost") and not location.startswith("//"), location
    return location


@pytest.mark.parametrize("nxt", [quote(v, safe="") for v in BYPASSES] + [
    "/%09/evil.example", "/%0A/evil.example", "/%0D%0A/evil.example", "%2F%2Fevil.example",
    "/%5Cevil.example", "/%E2%80%AE/evil.example"])  # as the requests wrote them
def test_login_and_register_never_send_a_user_elsewhere(client, db, nxt):
    user = factories.make_user()
    resp = client.post(f"/tai-khoan/dang-nhap?next={nxt}",
                       data={"phone": user.phone, "password": factories.PASSWORD})
    assert urlsplit(where(resp)).path == "/do-tang"
    client.post("/tai-khoan/dang-xuat")
    resp = client.post(f"/tai-khoan/dang-ky?next={nxt}", data={
        "name": "Lê Văn Bình", "phone": factories.unique_phone(),
        "password": factories.PASSWORD, "confirm": factories.PASSWORD})
    assert urlsplit(where(resp)).path == "/do-tang"


@pytest.mark.parametrize("value", BYPASSES)
def test_the_language_switch_never_sends_a_user_elsewhere(client, db, value):
    resp = client.post("/ngon-ngu", data={"lang": "en", "next": value})
    assert urlsplit(where(resp)).path == "/do-tang"


def test_a_same_site_next_is_followed(client, db):
    user = factories.make_user()
    resp = client.post("/tai-khoan/dang-nhap?next=/yeu-cau/",
                       data={"phone": user.phone, "password": factories.PASSWORD})
    assert urlsplit(where(resp)).path == "/yeu-cau/"
    resp = client.post("/ngon-ngu", data={"lang": "vi", "next": "/do-tang?q=giày"})
    assert where(resp).endswith("/do-tang?q=gi%C3%A0y")
