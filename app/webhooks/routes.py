"""Webhooks from outside services, authenticated by an HMAC signature (so not by a CSRF token).

POST /webhooks/bank: a bank-transaction service reports one transfer as JSON
{"id", "amount", "description", "account", "when"}, signed with X-Signature = hex HMAC-SHA256 of
the raw body under BANK_WEBHOOK_SECRET. 401 bad signature, 400 unusable body, else 200 with what
became of the transfer; the same transaction id again is a 200 that changes nothing.
"""
from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _

from ..extensions import csrf, limiter
from ..services import payments

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

@bp.post("/bank")
@csrf.exempt
@limiter.limit(lambda: current_app.config["BANK_WEBHOOK_RATE_LIMIT"])
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
