"""Delivery receipts (issue #13): eSMS's callback (its documented GET, authenticated by a secret
in the path since eSMS documents none) and Zalo's signed "user_received_message" event mark a
sent message delivered, or failed with the provider's reason; staff read it on the request's
page. A wrong secret or signature is a 401 that changes nothing; a route not configured is 404."""
import hashlib
import json

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.models import OutboundMessage
from app.services import requests as req_svc
from app.services.messages import providers, sender
from tests.factories import make_hub, make_item, make_user
from tests.fake_gateways import FakeEsms, FakeZns
from tests.test_messages import esms_provider, zns_provider
from tests.test_requests_service import PICKUP
from tests.test_vendors import text

SECRET = "cb-6f1e0d2a9b"
APP_ID = "360846524940903967"
OA_SECRET = "oa-secret-key-1"


@pytest.fixture
def esms():
    gateway = FakeEsms()
    yield gateway
    gateway.close()


@pytest.fixture
def zns():
    gateway = FakeZns()
    yield gateway
    gateway.close()


@pytest.fixture
def receipts_on(app):
    app.config.update(ESMS_CALLBACK_SECRET=SECRET, ZNS_APP_ID=APP_ID, ZNS_OA_SECRET_KEY=OA_SECRET)
    yield app
    app.config.update(ESMS_CALLBACK_SECRET="", ZNS_APP_ID="", ZNS_OA_SECRET_KEY="")


def approved_message(provider) -> tuple:
    """A request approved, its message sent through `provider`: (request, message)."""
    hub, student = make_hub(), make_user()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    req = req_svc.submit_request(student.id, hub.id, [make_item(hub).id], PICKUP)
    req_svc.change_status(volunteer.id, req.id, "approved")
    assert sender.send_due(provider).sent == 1
    return req, volunteer, current(req)


def current(req) -> OutboundMessage:
    _db.session.rollback()
    return _db.session.scalar(select(OutboundMessage).where(OutboundMessage.request_id == req.id))


def esms_callback(client, sms_id, secret=SECRET, **changes):
    """eSMS's documented sample callback for a customer-care SMS (SmsType 2), with `changes`."""
    query = {"SMSID": sms_id, "SendFailed": "2", "SendStatus": "5", "SendSuccess": "0",
             "TotalPrice": "0.0000", "TotalReceiver": "2", "TotalSent": "2", "RequestId": "",
             "TypeId": "2", "telcoid": "1", "phonenumber": "0901888484", "switchsmsid": ""}
    return client.get(f"/webhooks/esms/{secret}", query_string=query | changes)


def test_an_esms_receipt_marks_the_message_delivered_and_staff_see_it(client, receipts_on, esms,
                                                                      login_as):
    req, volunteer, m = approved_message(esms_provider(esms))
    assert (m.status, m.provider_id) == ("sent", "sms-1")
    resp = esms_callback(client, "sms-1", SendFailed="0", SendSuccess="1", TotalReceiver="1",
                         TotalSent="1")
    assert resp.status_code == 200 and resp.json == {"success": True, "matched": True,
                                                     "changed": True}
    m = current(req)
    assert m.status == "delivered" and m.delivered_at is not None
    again = esms_callback(client, "sms-1", SendFailed="0", SendSuccess="1")
    assert again.json["changed"] is False  # the same receipt twice: once
    login_as(user=volunteer)
    assert "Đã đến máy" in text(client.get(f"/yeu-cau/{req.id}"))


def test_an_esms_failure_receipt_keeps_the_reason_for_staff(client, receipts_on, esms, login_as):
    req, volunteer, _ = approved_message(esms_provider(esms))
    assert esms_callback(client, "sms-1").json["changed"] is True  # the sample: SendFailed 2
    m = current(req)
    assert m.status == "failed" and "không đến được máy" in m.last_error
    login_as(user=volunteer)
    page = text(client.get(f"/yeu-cau/{req.id}"))
    assert "Không gửi được" in page and "không đến được máy" in page


def test_esms_waiting_refused_and_unknown_ids(client, receipts_on, esms):
    req, _, _ = approved_message(esms_provider(esms))
    assert esms_callback(client, "sms-1", SendStatus="7").json == {
        "success": True, "matched": True, "changed": False}  # at the telco: not final yet
    assert current(req).status == "sent"
    assert esms_callback(client, "sms-999", SendStatus="4").json["matched"] is False
    assert esms_callback(client, "sms-1", SendStatus="4").json["changed"] is True
    assert "từ chối" in current(req).last_error


def test_esms_receipt_found_by_our_request_id_when_no_smsid(client, receipts_on, esms):
    req, _, m = approved_message(esms_provider(esms))
    resp = esms_callback(client, "", RequestId=m.idempotency_key, SendFailed="0",
                         SendSuccess="1")
    assert resp.json["changed"] is True and current(req).status == "delivered"


def test_esms_wrong_secret_is_401_and_no_secret_is_404(client, app, esms):
    req, _, _ = approved_message(esms_provider(esms))
    assert esms_callback(client, "sms-1", SendSuccess="1").status_code == 404  # not configured
    app.config["ESMS_CALLBACK_SECRET"] = SECRET
    try:
        assert esms_callback(client, "sms-1", secret="guess", SendSuccess="1").status_code == 401
    finally:
        app.config["ESMS_CALLBACK_SECRET"] = ""
    assert current(req).status == "sent"


def test_esms_is_given_the_callback_url_with_each_message(app, db, esms):
    provider = providers.EsmsProvider("k", "s", "GH0D", url=esms.url,
                                      callback_url=f"https://gh.example/webhooks/esms/{SECRET}")
    approved_message(provider)
    assert esms.requests[0]["body"]["CallbackUrl"] == f"https://gh.example/webhooks/esms/{SECRET}"


# ---------------------------------------------------------------- Zalo ZNS

def zns_event(msg_id, tracking_id="", event="user_received_message") -> bytes:
    """Zalo's "user_received_message" event of a ZNS message, as Zalo posts it."""
    return json.dumps({
        "event_name": event, "app_id": APP_ID, "sender": {"id": "579745863508352884"},
        "recipient": {"id": "8474620234588302932"}, "user_id_by_app": "552177279717587730",
        "message": {"delivery_time": "1764770123456", "msg_id": msg_id,
                    "tracking_id": tracking_id},
        "timestamp": "1764770123999"}).encode()


def post_zns(client, raw: bytes, secret=OA_SECRET, app_id=APP_ID):
    timestamp = json.loads(raw)["timestamp"]
    mac = hashlib.sha256(app_id.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()
    return client.post("/webhooks/zns", data=raw, content_type="application/json",
                       headers={"X-ZEvent-Signature": f"mac={mac}"})


def test_a_zns_receipt_marks_the_message_delivered_at_its_delivery_time(client, receipts_on, zns):
    req, _, m = approved_message(zns_provider(zns))
    assert m.provider_id == "zmsg-1"
    resp = post_zns(client, zns_event("zmsg-1"))
    assert resp.status_code == 200 and resp.json["changed"] is True
    m = current(req)
    assert m.status == "delivered"
    assert m.delivered_at.isoformat(timespec="milliseconds") == "2025-12-03T13:55:23.456"
    assert post_zns(client, zns_event("zmsg-1")).json["changed"] is False


def test_a_zns_receipt_settles_a_message_left_unknown(client, receipts_on, zns):
    req, _, m = approved_message(zns_provider(zns))
    m.status = "unknown"  # as a sender killed mid-call leaves it (test_messages)
    _db.session.commit()
    tracking = providers.short_key(m.idempotency_key, 48)
    assert post_zns(client, zns_event("", tracking_id=tracking)).json["changed"] is True
    assert current(req).status == "delivered"


def test_zns_bad_signature_other_events_and_not_configured(client, app, zns):
    req, _, _ = approved_message(zns_provider(zns))
    assert post_zns(client, zns_event("zmsg-1")).status_code == 404  # not configured
    app.config.update(ZNS_APP_ID=APP_ID, ZNS_OA_SECRET_KEY=OA_SECRET)
    try:
        assert post_zns(client, zns_event("zmsg-1"), secret="wrong").status_code == 401
        tampered = zns_event("zmsg-1")
        resp = client.post("/webhooks/zns", data=tampered, content_type="application/json")
        assert resp.status_code == 401  # no signature at all
        assert current(req).status == "sent"
        other = post_zns(client, zns_event("zmsg-1", event="user_seen_message"))
        assert other.status_code == 200 and other.json["changed"] is False
        assert current(req).status == "sent"
    finally:
        app.config.update(ZNS_APP_ID="", ZNS_OA_SECRET_KEY="")
