"""Locale choice: the user's saved choice, then the session, then Vietnamese."""
from flask import current_app, has_request_context, session
from flask_babel import refresh
from flask_login import current_user


def select_locale() -> str:
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    langs = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    chosen = session.get("lang")
    return chosen if chosen in langs else default


def refresh_locale() -> None:
    refresh()
