"""Security headers on every response (a strict CSP: no inline script, no eval, and friends), and
the one function that decides where a redirect taken from user input may go."""
import unicodedata
from urllib.parse import quote, urlsplit

from flask import Flask, request

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def register(app: Flask) -> None:
    @app.after_request
    def set_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


def safe_redirect_target(value, default: str) -> str:
    """`value` (a `next` parameter, a form field) when it is a path on this site, else `default`.

    Judged on what the Location header will carry: the header drops tabs and refuses newlines,
    and browsers read a backslash as a slash, so "/%09/evil.example" (a tab once decoded) would
    leave the site. Any
    control, format or space character and any backslash make the value unusable; other
    non-ASCII characters are percent-encoded here as the response would encode them (so a
    look-alike of "/" stays part of the path); what remains must be a path without a scheme or a
    host, and must not start with "//".
    """
    if not isinstance(value, str) or not value.startswith("/") or "\\" in value:
        return default
    if any(unicodedata.category(c)[0] in "CZ" for c in value):  # Cc Cf Cs Co Cn Zs Zl Zp
        return default
    target = quote(value, safe="".join(chr(c) for c in range(0x21, 0x7F)))
    parts = urlsplit(target)
    if target.startswith("//") or parts.scheme or parts.netloc:
        return default
    return target
