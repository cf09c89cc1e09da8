"""Delivery receipts: the provider tells us whether a message reached the phone.

- eSMS calls the CallbackUrl given with each message (ESMS_CALLBACK_URL) by HTTP GET once the
  real status is known (https://developers.esms.vn/en/esms-api/callback-url), with SMSID (the id
  its send answer gave), RequestId (ours), SendStatus (1 waiting for approval, 2 waiting to send,
  4 refused, 5 sent, 7 at the telco waiting for its report), SendSuccess and SendFailed (counts of
  recipients), phonenumber, ... eSMS documents no authentication of the callback, so the route
  carries a secret of ours in its path (ESMS_CALLBACK_SECRET).
- Zalo posts the OA's webhook event "user_received_message" when a ZNS message reaches the
  user's device: {"event_name", "app_id", "sender": {"id": OA}, "recipient": {"id"}, "message":
  {"msg_id", "delivery_time", "tracking_id"}, "timestamp"}, signed in the header
  X-ZEvent-Signature = "mac=" + hex SHA-256 of app_id + the raw body + timestamp + the OA secret
  key (ZNS_APP_ID, ZNS_OA_SECRET_KEY). Zalo sends no event for a message that did not arrive.

A receipt marks a sent message (or one left "unknown" by a sender that stopped mid-call: the
receipt settles it) "delivered", or "failed" with the provider's reason; a receipt again, or one
for a message we do not know, changes nothing.
"""
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select

from ...database import write_transaction
from ...models import OutboundMessage
from ...models.base import utcnow

SETTLED_BY_RECEIPT = ("sent", "unknown")


@dataclass(frozen=True)
class Receipt:
    delivered: bool | None  # None: not final yet (waiting at the provider or the telco)
    reason: str | None = None
    at: datetime | None = None  # UTC


@dataclass(frozen=True)
class Applied:
    matched: bool  # a message of ours
    changed: bool  # its status moved


def esms_receipt(query: Mapping[str, str]) -> tuple[dict, Receipt]:
    """(how to find the message, what eSMS says) from the callback's query string."""
    def count(name: str) -> int:
        value = (query.get(name) or "").strip()
        return int(value) if value.isdigit() else 0
    status = (query.get("SendStatus") or "").strip()
    found = {"provider": "esms", "provider_id": (query.get("SMSID") or "").strip(),
             "request_id": (query.get("RequestId") or "").strip()}
    if status == "4":
        return found, Receipt(False, "eSMS: tin bị từ chối (SendStatus 4)")
    if status == "5" and count("SendSuccess") > 0:
        return found, Receipt(True)
    if status == "5" and count("SendFailed") > 0:
        return found, Receipt(False, "eSMS: nhà mạng báo không đến được máy "
                                     f"(SendFailed {count('SendFailed')})")
    return found, Receipt(None)


def zns_authentic(raw: bytes, body: dict, signature: str | None, app_id: str,
                  secret: str) -> bool:
    """Zalo's webhook MAC: sha256(app_id + raw body + timestamp + OA secret key)."""
    if not signature or not secret:
        return False
    supplied = signature.strip()
    supplied = supplied[4:] if supplied.lower().startswith("mac=") else supplied
    timestamp = str(body.get("timestamp") or "")
    signed = app_id.encode() + raw + timestamp.encode() + secret.encode()
    return hmac.compare_digest(supplied.lower(), hashlib.sha256(signed).hexdigest())


def zns_receipt(body: dict) -> tuple[dict, Receipt] | None:
    """(how to find the message, what Zalo says), or None for any other event of the OA."""
    message = body.get("message")
    if body.get("event_name") != "user_received_message" or not isinstance(message, dict):
        return None
    when = str(message.get("delivery_time") or "")
    at = datetime.fromtimestamp(int(when) / 1000, UTC).replace(tzinfo=None) \
        if when.isdigit() else None
    return ({"provider": "zns", "provider_id": str(message.get("msg_id") or ""),
             "request_id": str(message.get("tracking_id") or "")}, Receipt(True, at=at))


def apply(found: dict, receipt: Receipt, now: datetime | None = None) -> Applied:
    """Settle the message `found` names (its provider id, else our own id sent with it)."""
    with write_transaction() as session:
        clauses = []
        if found["provider_id"]:
            clauses.append(OutboundMessage.provider_id == found["provider_id"])
        if found["request_id"]:  # our key as we sent it (keys longer than the provider's id
            # field went as a hash: those are found by the provider's id alone)
            clauses.append(OutboundMessage.idempotency_key == found["request_id"])
        if not clauses:
            return Applied(False, False)
        candidates = session.scalars(select(OutboundMessage).where(
            OutboundMessage.provider == found["provider"], or_(*clauses))).all()
        if not candidates:
            return Applied(False, False)
        m = candidates[0]
        if receipt.delivered is None or m.status not in SETTLED_BY_RECEIPT:
            return Applied(True, False)
        if receipt.delivered:
            m.status, m.delivered_at = "delivered", receipt.at or now or utcnow()
            if m.sent_at is None:  # an "unknown" message: it did go out
                m.sent_at = m.delivered_at
        else:
            m.status, m.last_error = "failed", (receipt.reason or "")[:300]
        return Applied(True, True)
