"""A check every served page must pass, in the test client and the live browser server alike."""
import re
from collections import Counter
from contextlib import contextmanager

from flask import request, request_finished

_ID = re.compile(r'\sid="([^"]+)"')


@contextmanager
def unique_ids(app):
    """Fails at the end when an HTML page `app` served repeated an element id (a repeated id
    breaks labels and scripts, and htmx's settling copies attributes between namesakes: a
    repeated hidden csrf_token input got an inline style the CSP refused)."""
    repeated = []

    def check(sender, response, **extra):
        if response.mimetype == "text/html" and not response.is_streamed:
            ids = Counter(_ID.findall(response.get_data(as_text=True)))
            repeated.extend(f"{request.path} {name} ×{n}" for name, n in ids.items() if n > 1)

    request_finished.connect(check, app)
    try:
        yield
    finally:
        request_finished.disconnect(check, app)
    assert not repeated, f"repeated element ids: {sorted(set(repeated))}"
