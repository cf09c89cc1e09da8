"""A micro-cache of the public catalog for visitors who are not signed in (issue #6).

Like a reverse proxy's micro-cache, in the app: a page rendered for one anonymous visitor is served
to the next ones for CATALOG_CACHE_SECONDS (default 10; 0 turns it off). In memory, per worker
process, at most MAX_ENTRIES pages (the least recently used goes first), kept on the app
(`app.extensions`).

Only "shared" visitors get a cached copy: not signed in, no basket in the session, no flashed
message waiting. Everyone else — students, volunteers, staff — always gets a page rendered for
them. The stock a cached page shows may thus be up to CATALOG_CACHE_SECONDS old; availability is
always checked live where it matters (item page, basket, submitting a request: services/stock).

The one per-visitor thing on such a page is the CSRF token (`hx-headers`, the header's forms). The
shared copy is rendered with a placeholder instead — a random string of this process, unknown to
anyone who writes content — and each visitor's own `generate_csrf()` token is put in on every
serve, so CSRF protection is exactly what it was. Everything else a page depends on is in the key:
the path (with the prefix the app is mounted at, which its links carry) and the query string as sent
(the language form echoes it), the locale, and the htmx headers (page or fragment).
"""
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

MAX_ENTRIES = 256
_MISSING = object()


class TTLCache:
    """Values by key, each kept `seconds` after it was stored, at most `size` of them (LRU).
    Thread-safe for gthread workers; two threads missing the same key both compute it (harmless)."""

    def __init__(self, size: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic):
        self.size = size
        self.clock = clock  # tests move time on by replacing it
        self.placeholder = "csrf-placeholder-" + secrets.token_hex(16)
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default=None):
        with self._lock:
            expires, value = self._entries.get(key, (0.0, default))
            if expires <= self.clock():
                self._entries.pop(key, None)
                return default
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value, seconds: float) -> None:
        with self._lock:
            self._entries[key] = (self.clock() + seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def seconds() -> int:
    return current_app.config["CATALOG_CACHE_SECONDS"]


def cache() -> TTLCache:
    """This app's cache (one per worker process)."""
    found = current_app.extensions.get("pagecache")
    if found is None:
        found = current_app.extensions.setdefault("pagecache", TTLCache())
    return found


def remembered(key: Hashable, compute: Callable[[], Any]):
    """compute(), or its value stored less than CATALOG_CACHE_SECONDS ago (for every visitor)."""
    if seconds() <= 0:
        return compute()
    value = cache().get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache().put(key, value, seconds())
    return value


def is_shared_visitor() -> bool:
    """Nothing on the page is this visitor's own but the CSRF token."""
    return not current_user.is_authenticated and not session.get("basket") \
        and "_flashes" not in session


def render(render_html: Callable[..., str]) -> str:
    """render_html() for a visitor of their own; for a shared visitor, the copy rendered by
    render_html(csrf_token=<placeholder>) in the last CATALOG_CACHE_SECONDS, with their own
    token put in."""
    if seconds() <= 0 or not is_shared_visitor():
        return render_html()
    pages = cache()
    htmx = tuple(request.headers.get(h) == "true"
                 for h in ("HX-Request", "HX-History-Restore-Request"))
    key = ("page", request.script_root, request.path, request.query_string, str(get_locale()),
           htmx)
    html = pages.get(key)
    if html is None:
        html = render_html(csrf_token=lambda: pages.placeholder)
        pages.put(key, html, seconds())
    if pages.placeholder in html:
        html = html.replace(pages.placeholder, generate_csrf())
    return html
