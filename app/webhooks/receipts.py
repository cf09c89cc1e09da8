"""Delivery receipts of the message providers (services.messages.receipts).

GET /webhooks/esms/<secret>: eSMS's callback, by HTTP GET as eSMS documents it (it offers no
signature, so the secret in the path, ESMS_CALLBACK_SECRET, is the authentication; eSMS is given
the whole address as ESMS_CALLBACK_URL). POST /webhooks/zns: Zalo's OA webhook, signed by
X-ZEvent-Signature (ZNS_APP_ID, ZNS_OA_SECRET_KEY). Without its secret a route answers 404; a
wrong secret or signature 401, nothing changed; otherwise 200 (also for an event or a message
that is not ours: the provider must not retry it).
"""
import hmac

from flask import abort, current_app, jsonify, request
from flask_babel import gettext as _

from ..extensions import csrf
from ..services import payments
from ..services.messages import receipts
from .routes import bp, feed_limit


def _bad_key():
    return jsonify(error=_("Chữ ký không hợp lệ."), status=401), 401


def _answer(applied: receipts.Applied):
    return jsonify(success=True, matched=applied.matched, changed=applied.changed)


@bp.get("/esms/<secret>")
@feed_limit
def esms_receipt(secret: str):
    expected = current_app.config["ESMS_CALLBACK_SECRET"]
    if not expected:
        abort(404)
    if not hmac.compare_digest(secret.encode(), expected.encode()):
        return _bad_key()
    found, receipt = receipts.esms_receipt(request.args)
    return _answer(receipts.apply(found, receipt))


@bp.post("/zns")
@csrf.exempt
@feed_limit
def zns_receipt():
    secret = current_app.config["ZNS_OA_SECRET_KEY"]
    if not secret:
        abort(404)
    raw = request.get_data()
    try:  # the signature covers the timestamp inside the body
        body = payments.json_object(raw)
    except payments.PayloadError:
        return _bad_key()
    if not receipts.zns_authentic(raw, body, request.headers.get("X-ZEvent-Signature"),
                                  current_app.config["ZNS_APP_ID"], secret):
        return _bad_key()
    parsed = receipts.zns_receipt(body)
    if parsed is None:
        return jsonify(success=True, matched=False, changed=False)
    return _answer(receipts.apply(*parsed))
