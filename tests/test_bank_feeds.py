"""SePay's and Casso's webhooks: their documented payloads and authentication, mapped onto the one
matching path (tests/test_payments.py): an order paid once per transaction id, money out ignored,
a bad key or signature refused with nothing changed."""
import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import BankTransaction, Order
from app.services import bank_feeds, orders
from app.services.requests import Delivery
from tests.test_payments import fresh
from tests.test_vendors import make_product, make_vendor

SEPAY_KEY = "sepay-key-9c1d"
# Casso's documented sample (developer.casso.vn, "Lập trình webhook"): checksum key, body, header.
CASSO_DOC_KEY = "mgExMrjj4i7a1p8Cs6LmFbpCd8lbw4sSX4LZXPag7TKazeIogtR90tvWYTkwQbvs"
CASSO_DOC_BODY = {"error": 0, "data": {
    "id": 0, "reference": "MA_GIAO_DICH_THU_NGHIEM", "description": "giao dich thu nghiem",
    "amount": 599000, "runningBalance": 25000000, "transactionDateTime": "2024-10-03 15:06:37",
    "accountNumber": "88888888", "bankName": "VPBank", "bankAbbreviation": "VPB",
    "virtualAccountNumber": "", "virtualAccountName": "", "counterAccountName": "NGUYEN VAN A",
    "counterAccountNumber": "8888888888", "counterAccountBankId": "970415",
    "counterAccountBankName": "VietinBank"}}
CASSO_DOC_SIGNATURE = (
    "t=1727948258788,v1=ed0a4bd2e826d5cb69988cdb141e6c1a080e21f3b57eb72cd78192220042b9e7dde0868"
    "fc667faea8e224900fa7904e7c88dfa098032fb2d6b6996856e8b7ff3")
# SePay's documented sample (developer.sepay.vn, "Quick Start").
SEPAY_DOC_BODY = {
    "id": 92704, "gateway": "Vietcombank", "transactionDate": "2023-03-25 14:02:37",
    "accountNumber": "0123499999", "code": None, "content": "chuyen tien mua iphone",
    "transferType": "in", "transferAmount": 2277000, "accumulated": 19077000, "subAccount": None,
    "referenceCode": "MBVCB.3278907687", "description": ""}


@pytest.fixture
def order(db):
    """An order of 300.000 ₫ to the shop's account 0123456789 (as in tests/test_payments.py)."""
    vendor = make_vendor()
    product = make_product(vendor, price=150_000, stock=50)
    return orders.submit_order(vendor.id, {product.id: 2}, Delivery(
        "pickup", "Phạm Thị Mua", "0912345678", consent=True))


@pytest.fixture
def keys(app, monkeypatch):
    monkeypatch.setitem(app.config, "SEPAY_API_KEY", SEPAY_KEY)
    monkeypatch.setitem(app.config, "CASSO_CHECKSUM_KEY", CASSO_DOC_KEY)


def sepay_body(order, **change) -> dict:
    return {**SEPAY_DOC_BODY, "accountNumber": "0123456789", "transferAmount": order.total,
            "content": f"MBVCB.3278907687.GH0D {order.code}.CT tu 0912345678", **change}


def casso_body(order, **change) -> dict:
    return {"error": 0, "data": {**CASSO_DOC_BODY["data"], "id": 1201, "accountNumber":
                                 "0123456789", "amount": order.total,
                                 "description": f"GH0D {order.code} chuyen khoan", **change}}


def to_sepay(client, body, authorization=f"Apikey {SEPAY_KEY}"):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/webhooks/sepay", data=raw, headers=headers)


def to_casso(client, body, signature="auto", key=CASSO_DOC_KEY):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        signature = bank_feeds.casso_sign(body, key, "1764770000000")
    if signature is not None:
        headers["X-Casso-Signature"] = signature
    return client.post("/webhooks/casso", data=raw, headers=headers)


def recorded() -> list[tuple]:
    _db.session.rollback()
    return [(t.bank_ref, t.status, t.reason, t.amount) for t in
            _db.session.scalars(select(BankTransaction).order_by(BankTransaction.id))]


# ---------------------------------------------------------------- the documented samples

def test_the_casso_documented_signature_verifies_and_nothing_else_does():
    assert bank_feeds.casso_authentic(CASSO_DOC_BODY, CASSO_DOC_SIGNATURE, CASSO_DOC_KEY)
    assert bank_feeds.casso_sign(CASSO_DOC_BODY, CASSO_DOC_KEY, "1727948258788") == \
        CASSO_DOC_SIGNATURE
    changed = {**CASSO_DOC_BODY, "data": {**CASSO_DOC_BODY["data"], "amount": 599001}}
    assert not bank_feeds.casso_authentic(changed, CASSO_DOC_SIGNATURE, CASSO_DOC_KEY)
    assert not bank_feeds.casso_authentic(CASSO_DOC_BODY, CASSO_DOC_SIGNATURE, "other")
    assert not bank_feeds.casso_authentic(
        CASSO_DOC_BODY, CASSO_DOC_SIGNATURE.replace("t=1727948258788", "t=1727948258789"),
        CASSO_DOC_KEY)


def test_a_signature_over_non_ascii_text_verifies_in_either_json_spelling():
    body = {"error": 0, "data": {"description": "Chuyển tiền đơn DH/1", "id": 5}}
    key, t = "k", "1"
    for text in (json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                 json.dumps(body, sort_keys=True, separators=(",", ":")).replace("/", "\\/")):
        v1 = hmac.new(key.encode(), f"{t}.{text}".encode(), hashlib.sha512).hexdigest()
        assert bank_feeds.casso_authentic(body, f"t={t},v1={v1}", key)


def test_the_documented_samples_are_accepted_and_kept_for_review(client, db, keys):
    """Neither sample names an order: both are recorded for review, under their own namespace."""
    raw = json.dumps(CASSO_DOC_BODY).encode()
    resp = client.post("/webhooks/casso", data=raw, headers={
        "Content-Type": "application/json", "X-Casso-Signature": CASSO_DOC_SIGNATURE})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["success"] is True
    resp = to_sepay(client, SEPAY_DOC_BODY)
    assert resp.status_code == 200 and resp.get_json()["success"] is True
    assert recorded() == [("casso:0", "review", "no_code", 599000),
                          ("sepay:92704", "review", "no_code", 2277000)]


# ---------------------------------------------------------------- paying an order

@pytest.mark.parametrize("service", ["sepay", "casso"])
def test_a_matching_transfer_pays_the_order_once(client, order, keys, service):
    deliver = (lambda **c: to_sepay(client, sepay_body(order, **c))) if service == "sepay" else \
        (lambda **c: to_casso(client, casso_body(order, **c)))
    first = deliver()
    assert first.status_code == 200, first.get_json()
    ref = "sepay:92704" if service == "sepay" else "casso:1201"
    assert first.get_json() == {"success": True, "id": ref, "status": "applied", "reason": None,
                                "order": order.code, "duplicate": False}
    paid = fresh(Order, order.id)
    assert (paid.status, paid.paid_via) == ("paid", "bank")
    again = deliver()  # the service retries the same transaction
    assert again.status_code == 200
    assert again.get_json() == {**first.get_json(), "duplicate": True}
    assert recorded() == [(ref, "applied", None, 300_000)]
    assert fresh(Order, order.id).paid_at == paid.paid_at


def test_the_same_id_from_two_services_is_two_transactions(client, order, keys):
    to_sepay(client, sepay_body(order, id=1201))
    resp = to_casso(client, casso_body(order, id=1201))
    assert (resp.get_json()["status"], resp.get_json()["reason"]) == ("review", "already_paid")
    assert [r[0] for r in recorded()] == ["sepay:1201", "casso:1201"]


@pytest.mark.parametrize("service", ["sepay", "casso"])
def test_a_transfer_that_does_not_match_waits_for_the_vendor(client, order, keys,
                                                             service):
    if service == "sepay":
        resp = to_sepay(client, sepay_body(order, transferAmount=299_000))
    else:
        resp = to_casso(client, casso_body(order, amount=299_000))
    assert (resp.get_json()["status"], resp.get_json()["reason"]) == ("review", "amount_mismatch")
    assert fresh(Order, order.id).status == "awaiting_payment"


def test_money_out_is_acknowledged_and_not_recorded(client, order, keys):
    resp = to_sepay(client, sepay_body(order, transferType="out"))
    assert resp.status_code == 200
    assert resp.get_json() == {"success": True, "status": "ignored", "reason": "outgoing"}
    resp = to_casso(client, casso_body(order, amount=-order.total))
    assert resp.status_code == 200 and resp.get_json()["status"] == "ignored"
    assert recorded() == [] and fresh(Order, order.id).status == "awaiting_payment"


def test_concurrent_retries_of_one_transaction_pay_once(app, order, keys):
    body = json.dumps(sepay_body(order)).encode()

    def post(_):
        resp = app.test_client().post("/webhooks/sepay", data=body, headers={
            "Content-Type": "application/json", "Authorization": f"Apikey {SEPAY_KEY}"})
        return resp.status_code, resp.get_json()["duplicate"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(16)))
    assert sorted(answers) == [(200, False)] + [(200, True)] * 15
    assert recorded() == [("sepay:92704", "applied", None, 300_000)]


# ---------------------------------------------------------------- refused

@pytest.mark.parametrize("authorization", [
    None, "", f"Bearer {SEPAY_KEY}", "Apikey wrong", f"Apikey {SEPAY_KEY}x", SEPAY_KEY,
    f"Apikey {SEPAY_KEY.upper()}",
])
def test_sepay_bad_key_is_401_and_changes_nothing(client, order, keys,
                                                  authorization):
    resp = to_sepay(client, sepay_body(order), authorization=authorization)
    assert resp.status_code == 401 and resp.get_json()["success"] is False
    assert recorded() == [] and fresh(Order, order.id).status == "awaiting_payment"


def test_sepay_accepts_the_scheme_in_any_case(client, order, keys):
    assert to_sepay(client, sepay_body(order), f"apikey {SEPAY_KEY}").status_code == 200


@pytest.mark.parametrize("case", ["missing", "wrong key", "other body", "garbage", "v0 only",
                                  "not json"])
def test_casso_bad_signature_is_401_and_changes_nothing(client, order, keys,
                                                        case):
    body = casso_body(order)
    signature = {
        "missing": None, "wrong key": bank_feeds.casso_sign(body, "guess", "1"),
        "other body": bank_feeds.casso_sign(casso_body(order, amount=1), CASSO_DOC_KEY, "1"),
        "garbage": "t=1,v1=zz", "not json": bank_feeds.casso_sign(body, CASSO_DOC_KEY, "1"),
        "v0 only": bank_feeds.casso_sign(body, CASSO_DOC_KEY, "1").replace("v1=", "v0="),
    }[case]
    resp = to_casso(client, b'{"error": 0, "data": ' if case == "not json" else body,
                    signature=signature)
    assert resp.status_code == 401 and resp.get_json()["success"] is False
    assert recorded() == [] and fresh(Order, order.id).status == "awaiting_payment"


@pytest.mark.parametrize("path", ["/webhooks/sepay", "/webhooks/casso"])
def test_a_service_without_its_key_is_not_there(client, order, path):
    resp = client.post(path, json=sepay_body(order), headers={"Authorization": "Apikey "})
    assert resp.status_code == 404
    assert recorded() == []


@pytest.mark.parametrize("change, word", [
    ({"transferType": "sideways"}, "transferType"),
    ({"transferType": None}, "transferType"),
    ({"transferAmount": "300000"}, "transferAmount"),
    ({"transferAmount": 0}, "transferAmount"),
    ({"id": None}, "id"),
    ({"transactionDate": "hôm qua"}, "transactionDate"),
    ({"content": 5}, "content"),
])
def test_sepay_unusable_bodies_are_400(client, order, keys, change, word):
    resp = to_sepay(client, sepay_body(order, **change))
    assert resp.status_code == 400 and word in resp.get_json()["error"]
    assert recorded() == []


def test_sepay_oversized_or_deep_bodies_are_400(client, order, keys):
    for raw in (b"[" * 5000 + b"]" * 5000, json.dumps(sepay_body(order, content="x" * 70_000))
                .encode(), b"not json"):
        resp = to_sepay(client, raw)
        assert resp.status_code == 400 and "JSON" in resp.get_json()["error"]
    assert recorded() == []


@pytest.mark.parametrize("body, word", [
    ({"error": 0, "data": [1]}, "data"),
    ({"error": 0}, "data"),
    ({"error": 0, "data": {"id": 7, "amount": 0}}, "amount"),
    ({"error": 0, "data": {"id": 7, "amount": 5, "accountNumber": "1",
                           "transactionDateTime": "x"}}, "transactionDateTime"),
])
def test_casso_unusable_signed_bodies_are_400(client, db, keys, body, word):
    resp = to_casso(client, body)
    assert resp.status_code == 400 and word in resp.get_json()["error"]
    assert _db.session.scalar(select(func.count()).select_from(BankTransaction)) == 0
