"""Knowing that a payment arrived: the signed bank webhook pays an order exactly once, keeps what
does not match for the vendor's review, and survives 200 concurrent (and repeated) deliveries."""
import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import BankTransaction, Notification, Order
from app.services import orders, payments
from app.services.requests import Delivery
from tests.test_vendors import make_product, make_vendor, text

SECRET = "whsec-test-5f2c"
URL = "/webhooks/bank"


@pytest.fixture
def secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_WEBHOOK_SECRET", SECRET)
    return SECRET


def sign(raw: bytes, key: str = SECRET) -> str:
    return hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()


def deliver(client, body, signature: str | None = "auto"):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        signature = sign(raw)
    if signature is not None:
        headers["X-Signature"] = signature
    return client.post(URL, data=raw, headers=headers)


def transfer(order, ref="FT25183000001", amount=None, description=None, account="0123456789",
             when="2025-07-02T09:15:00+07:00") -> dict:
    return {"id": ref, "amount": order.total if amount is None else amount,
            "description": description or f"MBVCB.9912345.GH0D {order.code}.CT tu 0912345678",
            "account": account, "when": when}


@pytest.fixture
def order(db):
    vendor = make_vendor()
    product = make_product(vendor, price=150_000, stock=50)
    return orders.submit_order(vendor.id, {product.id: 2}, Delivery(
        "pickup", "Phạm Thị Mua", "0912345678", consent=True))


def fresh(model, id_):
    _db.session.rollback()
    _db.session.expire_all()
    return _db.session.get(model, id_)


def tx_count() -> int:
    _db.session.rollback()
    return _db.session.scalar(select(func.count()).select_from(BankTransaction))


# ---------------------------------------------------------------- the happy path

def test_a_matching_transfer_pays_the_order(client, order, secret):
    resp = deliver(client, transfer(order))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"id": "FT25183000001", "status": "applied", "reason": None,
                               "order": order.code, "duplicate": False}
    paid = fresh(Order, order.id)
    assert (paid.status, paid.paid_via, paid.confirmed_by_id) == ("paid", "bank", None)
    tx = _db.session.scalar(select(BankTransaction))
    assert (tx.order_id, tx.amount, tx.status, tx.account) == (order.id, 300_000, "applied",
                                                              "0123456789")
    assert tx.occurred_at == datetime(2025, 7, 2, 2, 15)  # stored in UTC
    assert "300.000 ₫" in _db.session.scalar(select(Notification.message).where(
        Notification.user_id == paid.vendor.user_id).order_by(Notification.id.desc()))
    assert "Người bán đã nhận được 300.000 ₫" in text(client.get(f"/don-hang/{order.token}"))


@pytest.mark.parametrize("description", [
    "GH0D {code}", "gh0d {lower}", "CHUYEN TIEN {dashed} CAM ON", "IBFT.{spaced}.Thanh toán",
    "Nguyễn Văn A chuyển khoản đơn {code}", "{code}ABC123",
])
def test_the_code_is_found_however_the_bank_writes_it(client, order, secret, description):
    code = order.code
    description = description.format(code=code, lower=code.lower(), dashed=f"DH-{code[2:]}",
                                     spaced=f"DH {code[2:5]} {code[5:]}")
    # First in the text; letters after it may look like another code (e.g. "…DHK2M" + "THANH"):
    # only codes of real orders and sales count (the delivery below).
    assert payments.codes_in(description)[0] == code
    resp = deliver(client, transfer(order, description=description))
    assert resp.get_json()["status"] == "applied"


def test_a_code_looking_like_a_second_one_in_the_text_is_still_applied(client, order, secret):
    order.code = "DH3DHK2M"  # "…DHK2M" + "THANH" also reads as a code: no order has it
    _db.session.commit()
    assert payments.codes_in("IBFT DH3DHK2M THANH TOAN") == ["DH3DHK2M", "DHK2MTHA"]
    resp = deliver(client, transfer(order, description="IBFT DH3DHK2M THANH TOAN"))
    assert resp.get_json()["status"] == "applied"


def test_a_naive_time_is_vietnamese_local_time():
    raw = json.dumps({"id": 7, "amount": 1000, "description": "x", "account": "123 456",
                      "when": "2025-07-02 09:15:00"}).encode()
    p = payments.parse_bank_payload(raw)
    assert (p.bank_ref, p.account, p.occurred_at) == ("7", "123456", datetime(2025, 7, 2, 2, 15))


# ---------------------------------------------------------------- refused deliveries

@pytest.mark.parametrize("case", ["missing", "wrong key", "other body", "garbage", "unset"])
def test_bad_or_missing_signature_is_401_and_changes_nothing(client, order, secret, monkeypatch,
                                                             app, case):
    body = transfer(order)
    raw = json.dumps(body).encode()
    signature = {"missing": None, "wrong key": sign(raw, "guess"), "unset": sign(raw, ""),
                 "other body": sign(json.dumps({**body, "amount": 1}).encode()),
                 "garbage": "ÿ not hex"}[case]
    if case == "unset":
        monkeypatch.setitem(app.config, "BANK_WEBHOOK_SECRET", "")
    resp = deliver(client, raw, signature=signature)
    assert resp.status_code == 401 and resp.is_json and resp.get_json()["error"]
    assert tx_count() == 0 and fresh(Order, order.id).status == "awaiting_payment"


GOOD = {"id": "1", "amount": 5000, "description": "x", "account": "1", "when": "2025-07-02"}


def without(key: str) -> bytes:
    return json.dumps({k: v for k, v in GOOD.items() if k != key}).encode()


def having(**change) -> bytes:
    return json.dumps({**GOOD, **change}).encode()


@pytest.mark.parametrize("raw, word", [
    (b'{"id": "1", "amount": 5', "JSON"),
    (b"\xff\xfe not utf-8", "JSON"),
    (b"", "JSON"),
    (b"[1, 2]", "đối tượng"),
    (without("id"), "id"),
    (having(id=""), "id"),
    (having(amount="5000"), "amount"),
    (having(amount=0), "amount"),
    (having(amount=-5), "amount"),
    (having(amount=1.5), "amount"),
    (having(amount=True), "amount"),
    (having(amount=10**13), "amount"),
    (having(description=5), "description"),
    (having(id="FT\x00"), "id"),
    (without("account"), "account"),
    (having(when="hôm qua"), "when"),
    (having(when=None), "when"),
    # Dates at the ends of the calendar overflow when turned into UTC; others are out of range.
    (having(when="0001-01-01T00:00:00"), "when"),
    (having(when="0001-01-01T00:00:00+14:00"), "when"),
    (having(when="9999-12-31T23:59:59-23:59"), "when"),
    (having(when="1970-01-01T00:00:00Z"), "when"),
    # Nested deeper than a parser's recursion (a RecursionError, a 500 before), or too big.
    (b'{"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON"),
    (having(description="x" * 70_000), "JSON"),
])
def test_malformed_bodies_are_400_with_a_json_error(client, order, secret, raw, word):
    resp = deliver(client, raw)
    assert resp.status_code == 400 and resp.is_json
    assert word in resp.get_json()["error"]
    assert tx_count() == 0 and fresh(Order, order.id).status == "awaiting_payment"


def test_the_description_is_cleaned_like_typed_text_and_stored(client, order, secret):
    """NUL (PostgreSQL refuses it), a right-to-left override and a lone surrogate (a JSON escape
    no database stores: a 500 before) go; the transfer pays the order."""
    body = transfer(order, description=f"\u202eGH0D {order.code}\x00 CT\ud800  tu\u200b An\r\n")
    resp = deliver(client, json.dumps(body).encode())  # ASCII JSON: "\ud800" as an escape
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert fresh(Order, order.id).status == "paid"
    assert _db.session.scalar(select(BankTransaction.description)) == f"GH0D {order.code} CT tu An"


def test_brackets_inside_strings_do_not_count_as_nesting(client, order, secret):
    resp = deliver(client, transfer(order, description=f"GH0D {order.code} " + "[[[[{{{{" * 10))
    assert resp.status_code == 200 and fresh(Order, order.id).status == "paid"


def test_the_webhook_needs_no_csrf_token_but_its_signature(csrf_app, order, secret):
    client = csrf_app.test_client()
    assert deliver(client, transfer(order)).status_code == 200
    assert deliver(client, transfer(order, ref="2"), signature=None).status_code == 401


# ---------------------------------------------------------------- idempotency and review

def test_the_same_transaction_again_changes_nothing(client, order, secret):
    first = deliver(client, transfer(order)).get_json()
    paid_at = fresh(Order, order.id).paid_at
    again = deliver(client, transfer(order, amount=1, description="changed"))  # same bank id
    assert again.status_code == 200
    assert again.get_json() == {**first, "duplicate": True}
    assert tx_count() == 1 and fresh(Order, order.id).paid_at == paid_at
    assert _db.session.scalar(select(BankTransaction.amount)) == 300_000


@pytest.mark.parametrize("change, reason", [
    ({"amount": 299_000}, "amount_mismatch"),
    ({"amount": 3_000_000}, "amount_mismatch"),
    ({"account": "9999999999"}, "account_mismatch"),
    ({"description": "CHUYEN TIEN MUA MAT ONG"}, "no_code"),
    ({"description": "GH0D DH000000 DH111111"}, "no_code"),  # codes of no order
])
def test_a_transfer_that_does_not_match_waits_for_the_vendor(client, order, secret, login_as,
                                                             change, reason):
    resp = deliver(client, transfer(order, **change))
    assert resp.status_code == 200
    assert (resp.get_json()["status"], resp.get_json()["reason"]) == ("review", reason)
    assert fresh(Order, order.id).status == "awaiting_payment"  # never applied silently
    tx = _db.session.scalar(select(BankTransaction))
    assert tx.vendor_id == order.vendor_id  # by the code, or by the account it went to
    vendor = order.vendor
    login_as(user=vendor.user)
    dashboard = text(client.get(f"/gian-hang/{vendor.id}/quan-ly"))
    assert "Chuyển khoản cần xem lại (1)" in dashboard
    assert str(payments.REVIEW_REASONS[reason]) in dashboard
    assert client.post(f"/gian-hang/giao-dich/{tx.id}/da-xem").status_code == 303
    tx = fresh(BankTransaction, tx.id)
    assert tx.reviewed_by_id == vendor.user_id and tx.reviewed_at is not None
    assert "cần xem lại" not in text(client.get(f"/gian-hang/{vendor.id}/don-hang"))


def test_two_order_codes_in_one_transfer_wait_for_review(client, order, secret):
    other = orders.submit_order(order.vendor_id, {order.lines[0].product_id: 1}, Delivery(
        "pickup", "B", "0912345678", consent=True))
    resp = deliver(client, transfer(order, description=f"{order.code} {other.code}"))
    assert resp.get_json()["reason"] == "several_codes"
    assert fresh(Order, order.id).status == fresh(Order, other.id).status == "awaiting_payment"


def test_a_second_transfer_for_a_paid_or_cancelled_order_waits_for_review(client, order, secret):
    deliver(client, transfer(order, ref="A"))
    resp = deliver(client, transfer(order, ref="B"))  # the buyer paid twice
    assert (resp.get_json()["status"], resp.get_json()["reason"]) == ("review", "already_paid")
    vendor = order.vendor
    cancelled = orders.submit_order(vendor.id, {order.lines[0].product_id: 1}, Delivery(
        "pickup", "B", "0912345678", consent=True))
    orders.cancel_order(vendor.user_id, cancelled.id)
    resp = deliver(client, transfer(cancelled, ref="C"))
    assert resp.get_json()["reason"] == "order_cancelled"
    assert fresh(Order, cancelled.id).status == "cancelled"


def test_a_vendor_cannot_clear_another_vendors_review(client, order, secret, login_as):
    deliver(client, transfer(order, amount=1))
    tx = _db.session.scalar(select(BankTransaction))
    login_as(user=make_vendor(business_name="Khác").user)
    assert client.post(f"/gian-hang/giao-dich/{tx.id}/da-xem").status_code == 404
    assert client.post("/gian-hang/giao-dich/999/da-xem").status_code == 404
    assert fresh(BankTransaction, tx.id).reviewed_at is None


# ---------------------------------------------------------------- exactly once, concurrently

ORDERS = 50


def test_200_concurrent_deliveries_pay_each_order_exactly_once(app, db, secret):
    """Per order: its transfer delivered three times, and a second transfer (another bank id) for
    the same order — 200 deliveries at once through the app. Whatever the interleaving, each order
    is paid once, by one transaction; each bank id is recorded once; the rest waits for review."""
    vendor = make_vendor()
    product = make_product(vendor, price=45_000, stock=ORDERS)
    placed = [orders.submit_order(vendor.id, {product.id: 1}, Delivery(
        "pickup", f"Người mua {i}", "0912345678", consent=True)) for i in range(ORDERS)]
    bodies = []
    for i, o in enumerate(placed):
        first = json.dumps(transfer(o, ref=f"FT{i:04d}")).encode()
        bodies += [first, first, first,
                   json.dumps(transfer(o, ref=f"FT{i:04d}-again")).encode()]
    order_ids = [o.id for o in placed]
    bodies.reverse()  # not in order of creation either
    assert len(bodies) == 200

    def post(raw: bytes):
        resp = app.test_client().post(URL, data=raw, headers={
            "Content-Type": "application/json", "X-Signature": sign(raw)})
        return resp.status_code, resp.get_json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, bodies))

    assert {status for status, _ in answers} == {200}
    assert sum(1 for _, a in answers if a["duplicate"]) == 100  # 2 of each 3 + 0 of the others
    db.session.rollback()
    txs = db.session.scalars(select(BankTransaction)).all()
    assert len(txs) == 100 and len({t.bank_ref for t in txs}) == 100
    assert all(o.status == "paid" and o.paid_via == "bank"
               for o in db.session.scalars(select(Order).where(Order.id.in_(order_ids))))
    applied = [t.order_id for t in txs if t.status == "applied"]
    assert sorted(applied) == sorted(order_ids)  # each order paid by exactly one transfer
    assert {t.reason for t in txs if t.status == "review"} == {"already_paid"}
    # Every delivery of one bank id got the same answer as the first.
    by_ref = {}
    for _, a in answers:
        by_ref.setdefault(a["id"], set()).add((a["status"], a["order"]))
    assert all(len(seen) == 1 for seen in by_ref.values())
