"""Error pages in Vietnamese; JSON for JSON clients; a clear 503 when the database is away; a
429 that says when to try again and, for the forms in REFILL, shows the form again as it was typed
(passwords excepted)."""
import math
import time
from collections.abc import Callable

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .extensions import db, limiter, login_manager

# endpoint -> a function(message) that renders that endpoint's form again from request.form
REFILL: dict[str, Callable[[str], str]] = {}


def refill_on_rate_limit(endpoint: str):
    """Decorator: the 429 of `endpoint` is its own page, filled with what was typed."""
    def register(fn):
        REFILL[endpoint] = fn
        return fn
    return register


def retry_message() -> str:
    """"Vui lòng thử lại sau 3 phút." from the reset time of the limit that was hit."""
    limit = limiter.current_limit
    seconds = max(int(limit.reset_at - time.time()), 1) if limit is not None else 60
    minutes = math.ceil(seconds / 60)
    return ngettext("Bạn đã thử quá nhiều lần. Vui lòng thử lại sau %(num)d phút.",
                    "Bạn đã thử quá nhiều lần. Vui lòng thử lại sau %(num)d phút.", minutes)

MESSAGES = {
    400: _l("Yêu cầu không hợp lệ."),
    401: _l("Bạn cần đăng nhập."),
    403: _l("Bạn không có quyền xem trang này."),
    404: _l("Không tìm thấy trang hoặc mục bạn tìm."),
    405: _l("Thao tác không được hỗ trợ."),
    413: _l("Tệp tải lên quá lớn."),
    429: _l("Bạn thao tác quá nhanh. Vui lòng đợi một lát rồi thử lại."),
    500: _l("Đã có lỗi xảy ra. Chúng tôi sẽ khắc phục sớm."),
    503: _l("Hệ thống tạm thời gián đoạn. Vui lòng thử lại sau ít phút."),
}


def _answer(status: int, message: str | None = None):
    message = message or str(MESSAGES.get(status, MESSAGES[500]))
    if request.accept_mimetypes.best == "application/json" or request.is_json:
        return jsonify(error=message, status=status), status
    return render_template("errors/error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        return _answer(400, _("Phiên làm việc đã hết hạn hoặc thiếu mã bảo mật (CSRF). "
                              "Vui lòng tải lại trang và thử lại."))

    @app.errorhandler(429)
    def too_many(_e):
        message = retry_message()
        refill = REFILL.get(request.endpoint or "")
        if refill is None or request.is_json or request.method != "POST":
            return _answer(429, message)
        return refill(message), 429

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return _answer(e.code or 500)

    @app.errorhandler(OperationalError)
    def db_down(_e):
        db.session.rollback()
        # The page is shown as to a visitor: the header's per-user parts (the user, the unread
        # count) would ask the database again and fail while rendering the error page itself.
        g._login_user = login_manager.anonymous_user()
        return _answer(503)

    @app.errorhandler(Exception)
    def unexpected(e):
        app.logger.exception("Unhandled error: %s", e)
        db.session.rollback()
        return _answer(500)
