"""Gian hàng 0 đồng — application factory."""
import os

from flask import Flask
from werkzeug.routing import IntegerConverter

from .config import BASE_DIR, TestConfig, config_for_env
from .forms import MAX_ID


class IdConverter(IntegerConverter):
    """`<int:...>` of every route: a number beyond a database id is a 404 like any unknown id,
    never a database error (an overflow on SQLite, "integer out of range" on PostgreSQL)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def create_app(config: type | dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(BASE_DIR / "instance"),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_object(config_for_env())
    if isinstance(config, dict):
        if config.get("TESTING"):
            app.config.from_object(TestConfig)
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)

    os.makedirs(app.instance_path, exist_ok=True)  # the default SQLite file and uploads live here
    register_extensions(app)
    app.url_map.converters["int"] = IdConverter
    register_blueprints(app)
    from . import admin, errors, security, templating
    admin.register(app)  # the audit log's actor of each request (issue #6)
    errors.register(app)
    security.register(app)
    templating.register(app)
    from .cli import register as register_cli
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import (
        database,  # noqa: F401  (engine events)
        models,  # noqa: F401  (every table known to Alembic)
    )
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .i18n import refresh_locale, select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(BASE_DIR / "app" / "translations"))
    limiter.init_app(app)
    login_manager.init_app(app)
    # Babel caches the locale on the app context, which an outer context (tests, CLI) may share
    # between requests: choose it afresh for every request.
    app.before_request(refresh_locale)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.unauthorized_handler
    def login_first():
        """To the login page; htmx gets HX-Redirect, not a login page swapped into a fragment."""
        from flask import redirect, request
        from flask_login import login_url
        if request.headers.get("HX-Request") != "true":
            return redirect(login_url(login_manager.login_view, request.url))
        back = request.headers.get("HX-Current-URL") or request.url
        return "", 401, {"HX-Redirect": login_url(login_manager.login_view, back)}

    @login_manager.user_loader
    def load_user(login_id: str):
        from .services import sessions
        return sessions.load(login_id)


def register_blueprints(app: Flask) -> None:
    from .accounts.routes import bp as accounts_bp
    from .admin.routes import bp as admin_bp
    from .dashboard.routes import bp as dashboard_bp
    from .delivery.routes import bp as delivery_bp
    from .donations.routes import bp as donations_bp
    from .main.routes import bp as main_bp
    from .market.routes import bp as market_bp
    from .notifications.routes import bp as notifications_bp
    from .people.routes import bp as people_bp
    from .requests.routes import bp as requests_bp
    from .review.routes import bp as review_bp
    from .shop.routes import bp as shop_bp
    from .store.routes import bp as store_bp
    from .units.routes import bp as units_bp
    from .vendors.routes import bp as vendors_bp
    from .webhooks.routes import bp as webhooks_bp

    for bp in (main_bp, accounts_bp, store_bp, requests_bp, notifications_bp):
        app.register_blueprint(bp)
    app.register_blueprint(delivery_bp)  # the weekly run (issue #3)
    for bp in (donations_bp, review_bp, dashboard_bp):  # donations in, the hub's desk (issue #3)
        app.register_blueprint(bp)
    for bp in (shop_bp, vendors_bp, webhooks_bp):  # youth start-ups (issue #4)
        app.register_blueprint(bp)
    app.register_blueprint(market_bp)  # Phiên chợ 4.0 (issue #5)
    app.register_blueprint(admin_bp)  # the audit log (issue #6)
    app.register_blueprint(units_bp)  # union units in the browser (issue #11)
    app.register_blueprint(people_bp)  # their people and invitations (issue #11)
