"""Error pages in Vietnamese; JSON for JSON clients; a clear 503 when the database is away."""
from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .extensions import db, login_manager

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
