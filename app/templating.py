"""Template filters and globals shared by every page."""
import hashlib
import os
from functools import lru_cache
from urllib.parse import quote

from flask import Flask, current_app, request, url_for
from flask_babel import format_date, format_datetime, format_percent, get_locale
from flask_login import current_user

from .forms import LOST_UPLOAD, error_summary, upload_lost
from .services import geo
from .services.formatting import format_vnd
from .services.phones import display_phone, national_digits

YEAR = 365 * 24 * 3600
# Pages where things cost money (start-up products, market events): their footer does not say that
# everything is free.
PAID_BLUEPRINTS = frozenset({"shop", "vendors", "market"})


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        vnd=format_vnd,
        phone=display_phone,
        phone_digits=national_digits,
        vdate=lambda d, fmt="EEEE, d/M/yyyy": format_date(d, fmt) if d else "",
        vdatetime=lambda d, fmt="HH:mm d/M/yyyy": format_datetime(d, fmt) if d else "",
        vspan=time_span,
        place=lambda obj: geo.place_label(obj.ward_code, obj.province_code),
        percent=lambda share: format_percent(share, "#,##0.0%"),  # vi 62,5%, en 62.5%
    )
    app.jinja_env.globals.update(static_url=static_url, error_summary=error_summary,
                                  upload_lost=upload_lost, lost_upload_message=LOST_UPLOAD)


    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.globals["post_tracking_url"] = post_tracking_url

    @app.after_request
    def cache_versioned_static(response):
        """A static URL carrying its file's hash never changes content: cache it for a year."""
        if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
        return response

    @app.context_processor
    def globals_():
        unread = 0
        if current_user.is_authenticated:
            from .services.notifications import unread_count
            unread = unread_count(current_user.id)
        return {
            "current_locale": str(get_locale()),
            "languages": current_app.config["LANGUAGES"],
            "unread_notifications": unread,
            "is_htmx": request.headers.get("HX-Request") == "true",
            "paid_page": request.blueprint in PAID_BLUEPRINTS,
        }


def time_span(start, end) -> str:
    """From `start` to `end` (UTC) in Vietnamese time: "Thứ Năm, 10/12/2026, 14:00–17:00" within a
    day, both dates when it spans days: "14:00 Thứ Năm, 10/12/2026 – 14:00 Thứ Sáu, 11/12/2026"."""
    def day(d):
        return format_datetime(d, "EEEE, d/M/yyyy")

    def hour(d):
        return format_datetime(d, "HH:mm")

    if day(start) == day(end):
        return f"{day(start)}, {hour(start)}–{hour(end)}"
    return f"{hour(start)} {day(start)} – {hour(end)} {day(end)}"


def post_tracking_url(number: str) -> str:
    """The post office's public tracking page of a parcel (config POST_TRACKING_URL)."""
    return current_app.config["POST_TRACKING_URL"].format(number=quote(number, safe=""))


def static_url(filename: str) -> str:
    """url_for("static") with ?v=<hash of the file>, so that a changed file gets a new URL."""
    path = os.path.join(current_app.static_folder, filename)
    try:
        version = _digest(path, os.stat(path).st_mtime_ns)
    except OSError:
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=version)


@lru_cache(maxsize=64)
def _digest(path: str, mtime_ns: int) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:12]
