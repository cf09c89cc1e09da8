"""Admin pages (the audit log) and the request hook that tells the audit log who acts."""
from flask import Flask, g, session
from flask_login import current_user

from ..services import audit


def register(app: Flask) -> None:
    """Per request: the logged-in user is the actor when they hold a staff, vendor or admin role."""
    @app.before_request
    def _set_actor():
        if "_user_id" in session and current_user.is_authenticated \
                and any(r.role in audit.ACTOR_ROLES for r in current_user.roles):
            g.audit_token = audit.current_actor.set(current_user.id)

    @app.teardown_request
    def _clear_actor(_exc):
        token = g.pop("audit_token", None)
        if token is not None:
            audit.current_actor.reset(token)
