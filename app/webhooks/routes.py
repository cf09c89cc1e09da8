"""Webhooks from outside services, authenticated by an HMAC signature (so not by a CSRF token).

POST /webhooks/bank: a bank-transaction service reports one transfer as JSON
{"id", "amount", "description", "account", "when"}, signed with X-Signature = hex HMAC-SHA256 of
the raw body under BANK_WEBHOOK_SECRET. 401 bad signature, 400 unusable body, else 200 with what
became of the transfer; the same transaction id again is a 200 that changes nothing.

POST /webhooks/sepay and POST /webhooks/casso take those services' own formats and authentication
(services.bank_feeds) onto the same matching path. Each is switched on by its secret
(SEPAY_API_KEY, CASSO_CHECKSUM_KEY): without it the route answers 404, as if it did not exist — an
instance that does not use a service offers nothing to probe. 401 bad key or signature (nothing
changed), 400 unusable body, 200 {"success": true, ...} otherwise, also for an outgoing transfer
(acknowledged, not recorded) and for a transaction id seen before (changes nothing).
"""
from flask import Blueprint, abort, current_app, jsonify, request
from flask_babel import gettext as _

from ..extensions import csrf, limiter
from ..services import bank_feeds, payments

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
# Every bank feed is limited alike (BANK_WEBHOOK_RATE_LIMIT), each route on its own count.
feed_limit = limiter.limit(lambda: current_app.config["BANK_WEBHOOK_RATE_LIMIT"])


@bp.post("/bank")
@csrf.exempt
@feed_limit
def bank():
    raw = request.get_data()
    if not payments.verify_signature(raw, request.headers.get("X-Signature"),
                                     current_app.config["BANK_WEBHOOK_SECRET"]):
        return jsonify(error=_("Chữ ký không hợp lệ."), status=401), 401
    try:
        payload = payments.parse_bank_payload(raw)
    except payments.PayloadError as exc:
        return jsonify(error=str(exc.message), status=400), 400
    tx, created = payments.record_bank_transaction(payload)
    return jsonify(id=tx.bank_ref, status=tx.status, reason=tx.reason,
                   order=tx.order.code if tx.order else None, duplicate=not created)


def _bad_key():
    return jsonify(success=False, error=_("Chữ ký không hợp lệ."), status=401), 401


def _recorded(payload: payments.BankPayload | None):
    """The answer SePay and Casso expect (2xx, success) with what became of the transfer."""
    if payload is None:
        return jsonify(success=True, status="ignored", reason="outgoing")
    tx, created = payments.record_bank_transaction(payload)
    return jsonify(success=True, id=tx.bank_ref, status=tx.status, reason=tx.reason,
                   order=tx.order.code if tx.order else None, duplicate=not created)


def _bad_body(exc: payments.PayloadError):
    return jsonify(success=False, error=str(exc.message), status=400), 400


@bp.post("/sepay")
@csrf.exempt
@feed_limit
def sepay():
    key = current_app.config["SEPAY_API_KEY"]
    if not key:
        abort(404)
    if not bank_feeds.sepay_authentic(request.headers.get("Authorization"), key):
        return _bad_key()
    try:
        payload = bank_feeds.parse_sepay(request.get_data())
    except payments.PayloadError as exc:
        return _bad_body(exc)
    return _recorded(payload)


@bp.post("/casso")
@csrf.exempt
@feed_limit
def casso():
    secret = current_app.config["CASSO_CHECKSUM_KEY"]
    if not secret:
        abort(404)
    try:  # the signature covers the parsed body, so a body that does not parse is not signed
        body = payments.json_object(request.get_data())
    except payments.PayloadError:
        return _bad_key()
    if not bank_feeds.casso_authentic(body, request.headers.get("X-Casso-Signature"), secret):
        return _bad_key()
    try:
        payload = bank_feeds.parse_casso(body)
    except payments.PayloadError as exc:
        return _bad_body(exc)
    return _recorded(payload)


# The message providers' delivery receipts live beside this module, on the same blueprint.
from . import receipts  # noqa: E402,F401
