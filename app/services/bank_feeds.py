"""The bank-transaction services that Vietnamese vendors really use: SePay and Casso.

Each adapter checks that service's own authentication and maps its documented JSON onto the one
matching path, `payments.record_bank_transaction` (the order or sale code in the transfer content,
the amount, the account, once per transaction id). Transaction ids are namespaced per service
("sepay:92704", "casso:0"), so two services (or the generic /webhooks/bank) never collide.
Outgoing transfers are not payments: they are acknowledged and not recorded.

SePay — https://developer.sepay.vn/en/sepay-webhooks/bat-dau-nhanh (payload) and
https://developer.sepay.vn/en/sepay-webhooks/tao-webhook (authentication "API Key"): a POST of
  {"id": 92704, "gateway": "Vietcombank", "transactionDate": "2023-03-25 14:02:37",
   "accountNumber": "0123499999", "code": null, "content": "...", "transferType": "in",
   "transferAmount": 2277000, "accumulated": 19077000, "subAccount": null,
   "referenceCode": "MBVCB.3278907687", "description": ""}
with the header `Authorization: Apikey <key>`; the answer it expects is 2xx {"success": true}
(anything else is retried, up to 7 times). transactionDate is Vietnamese local time.

Casso (webhook v2) — https://developer.casso.vn/webhook/thiet-lap-webhook-thu-cong ("Cấu trúc dữ
liệu gửi qua Webhook", "Lập trình webhook"): a POST of
  {"error": 0, "data": {"id": 0, "reference": "...", "description": "...", "amount": 599000,
   "runningBalance": 25000000, "transactionDateTime": "2024-10-03 15:06:37",
   "accountNumber": "88888888", "bankName": "VPBank", ...}}
(a negative amount is money out) signed with `X-Casso-Signature: t=<ms timestamp>,v1=<hex>`, where
v1 = hex HMAC-SHA512 under the webhook's checksum key of "<t>." + the JSON body with the keys of
every object sorted, written without spaces. The docs' sample (key, body and header) verifies with
this computation (tests/test_bank_feeds.py). Casso's reference code is JavaScript
(JSON.stringify: non-ASCII as is); its PHP sample uses json_encode (non-ASCII as \\uXXXX, "/" as
"\\/"): both spellings are accepted, both need the key. A replayed delivery can only repeat a
transaction id, which changes nothing, so the timestamp is not held to a window.
"""
import hashlib
import hmac
import json
import re

from flask_babel import lazy_gettext as _l

from . import payments
from .payments import PayloadError

SEPAY_PREFIX, CASSO_PREFIX = "sepay:", "casso:"
_CASSO_SIGNATURE = re.compile(r"^\s*t=(\d{1,20}),\s*v1=([0-9a-fA-F]{128})\s*$")


# ---------------------------------------------------------------- SePay

def sepay_authentic(authorization: str | None, api_key: str) -> bool:
    """`Authorization: Apikey <key>` (the scheme's case does not matter; the key's does)."""
    if not api_key or not authorization:
        return False
    scheme, _, key = authorization.strip().partition(" ")
    return scheme.lower() == "apikey" and hmac.compare_digest(key.strip().encode(),
                                                              api_key.encode())


def parse_sepay(raw: bytes) -> payments.BankPayload | None:
    """SePay's JSON → BankPayload; None for an outgoing transfer. Raises PayloadError."""
    data = payments.json_object(raw)
    direction = data.get("transferType")
    if direction == "out":
        return None
    if direction != "in":
        raise PayloadError(_l("Trường “%(key)s” phải là “in” hoặc “out”.", key="transferType"))
    if data.get("content") is None:
        data = {**data, "content": ""}
    return payments.bank_payload(data, ref="id", amount="transferAmount", description="content",
                                 account="accountNumber", when="transactionDate",
                                 ref_prefix=SEPAY_PREFIX)


# ---------------------------------------------------------------- Casso

def _casso_messages(timestamp: str, body) -> list[bytes]:
    js = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    php = json.dumps(body, sort_keys=True, separators=(",", ":")).replace("/", "\\/")
    return [f"{timestamp}.{text}".encode() for text in dict.fromkeys((js, php))]


def casso_sign(body, secret: str, timestamp: str) -> str:
    """The X-Casso-Signature header Casso sends for this body (for tests and tools)."""
    digest = hmac.new(secret.encode(), _casso_messages(timestamp, body)[0], hashlib.sha512)
    return f"t={timestamp},v1={digest.hexdigest()}"


def casso_authentic(body, header: str | None, secret: str) -> bool:
    if not secret or not header or not (match := _CASSO_SIGNATURE.match(header)):
        return False
    timestamp, given = match[1], match[2].lower().encode()
    return any(hmac.compare_digest(
        hmac.new(secret.encode(), message, hashlib.sha512).hexdigest().encode(), given)
        for message in _casso_messages(timestamp, body))


def parse_casso(body: dict) -> payments.BankPayload | None:
    """Casso's parsed JSON → BankPayload; None for money out. Raises PayloadError."""
    data = body.get("data")
    if not isinstance(data, dict):
        raise PayloadError(_l("Trường “%(key)s” phải là một đối tượng JSON.", key="data"))
    amount = data.get("amount")
    if type(amount) is int and amount < 0:
        return None
    if data.get("description") is None:
        data = {**data, "description": ""}
    return payments.bank_payload(data, ref="id", amount="amount", description="description",
                                 account="accountNumber", when="transactionDateTime",
                                 ref_prefix=CASSO_PREFIX)
