"""Real-browser harness: the app served by werkzeug in a thread, headless Debian Chromium via
Playwright.

Set REQUIRE_BROWSER=1 (CI does) to fail instead of skip when Chromium is missing.
"""
import os
import shutil
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.html import unique_ids

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 390, "height": 844}


def require_chromium():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")


@contextmanager
def live_server(database_url: str, upload_folder: str):
    """The real app (CSRF on, rate limits off) on a free loopback port."""
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_FOLDER": upload_folder,
        "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False,
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with unique_ids(app):
            yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        with app.app_context():
            from app.extensions import db
            db.engine.dispose()


@contextmanager
def phone_browser():
    with phones() as new_phone:
        yield new_phone()


@contextmanager
def phones():
    """A headless Chromium; `new_phone()` opens a phone-sized page in a fresh context (its own
    cookies): one per person of a journey."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        contexts = []

        def new_phone():
            context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                          has_touch=True, locale="vi-VN", accept_downloads=True)
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(15000)
            return page

        try:
            yield new_phone
        finally:
            for context in contexts:
                context.close()
            browser.close()
