"""Template filters and globals shared by every page."""
from flask import Flask, current_app, request
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from .services import geo
from .services.formatting import format_vnd
from .services.phones import display_phone


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        vnd=format_vnd,
        phone=display_phone,
        vdate=lambda d, fmt="EEEE, d/M/yyyy": format_date(d, fmt) if d else "",
        vdatetime=lambda d, fmt="HH:mm d/M/yyyy": format_datetime(d, fmt) if d else "",
        place=lambda obj: geo.place_label(obj.ward_code, obj.province_code),
    )

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
        }
