"""Locale choice: the user's saved choice, then the session, then Vietnamese."""
from flask import current_app, session
from flask_login import current_user


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    chosen = session.get("lang")
    return chosen if chosen in langs else current_app.config["BABEL_DEFAULT_LOCALE"]
