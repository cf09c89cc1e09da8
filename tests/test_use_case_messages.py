"""The use-cases beyond a request's steps tell people by phone (issue #13): a waitlist offer, an
order paid (any buyer who left a phone, guests too), a vendor application decided, an invitation
by phone. Each writes one outbox row in the use-case's own transaction, with its parameters and
an idempotency key: written once, however often the use-case is retried, and gone with its
rollback."""
import pytest
from sqlalchemy import select

from app.database import write_transaction
from app.extensions import db as _db
from app.models import ItemRequest, Order, OutboundMessage, Vendor
from app.services import messages, orders, payments, people, vendors
from app.services import requests as req_svc
from app.services.orders import Delivery
from app.services.vendors import VendorFields
from tests import factories
from tests.test_requests_service import HAND_TP1, POST_HN
from tests.test_vendors import make_product, make_vendor


def outbox() -> list[tuple]:
    _db.session.rollback()
    return [(m.template, m.phone, m.params, m.language, m.request_id) for m in
            _db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))]


@pytest.fixture
def failing_after_enqueue(monkeypatch):
    """The use-case breaks right after writing its message: the message must go with it."""
    real = messages.enqueue

    def enqueue_then_fail(*args, **kw):
        real(*args, **kw)
        raise RuntimeError("the use-case fails after its message")

    monkeypatch.setattr(messages, "enqueue", enqueue_then_fail)


# ---------------------------------------------------------------- the waitlist

def _waiting(hub):
    item = factories.make_item(hub, title="Áo khoác đồng phục")
    holder = factories.make_user(name="Người giữ")
    held = req_svc.submit_request(holder.id, hub.id, [item.id], POST_HN)
    waiter = factories.make_user(name="Người chờ")
    req_svc.join_waitlist(waiter.id, item.id, HAND_TP1)
    return item, holder, held, waiter


def test_a_waitlist_offer_is_one_message_with_the_item_and_request(db):
    hub = factories.make_hub(name="Đoàn trường THPT Tân Phước")
    item, holder, held, waiter = _waiting(hub)
    req_svc.cancel_request(holder.id, held.id)
    [given] = req_svc.list_for_user(waiter.id)
    assert given.phone == "+84987654321"  # the phone given for the delivery
    assert outbox() == [("waitlist_offer", given.phone,
                         {"hub": hub.name, "title": "Áo khoác đồng phục", "code": given.code},
                         "vi", given.id)]
    with write_transaction():  # offering again (nothing freed) writes nothing more
        req_svc.offer_freed_units(item.id)
    assert len(outbox()) == 1


def test_a_waitlist_offer_rolls_back_with_its_use_case(db, failing_after_enqueue):
    hub = factories.make_hub()
    item, holder, held, waiter = _waiting(hub)
    with pytest.raises(RuntimeError):
        req_svc.cancel_request(holder.id, held.id)
    assert outbox() == [] and req_svc.list_for_user(waiter.id) == []
    assert _db.session.get(ItemRequest, held.id).status == "submitted"


# ---------------------------------------------------------------- an order paid

def _order(buyer=None, phone="0912345678"):
    vendor = make_vendor(business_name="Mật ong rừng U Minh")
    honey = make_product(vendor, price=150_000, stock=5)
    order = orders.submit_order(vendor.id, {honey.id: 2}, Delivery(
        "pickup", "Phạm Thị Mua", phone, consent=True), buyer_id=buyer.id if buyer else None)
    return vendor, order


def test_a_guest_buyer_is_told_by_phone_once_that_the_seller_was_paid(db):
    vendor, order = _order()
    assert outbox() == []  # placing the order sends nothing
    payments.confirm_payment(vendor.user_id, order.id)
    expected = [("order_paid", "+84912345678",
                 {"hub": "Mật ong rừng U Minh", "amount": "300.000", "code": order.code},
                 "vi", None)]
    assert outbox() == expected
    with pytest.raises(orders.OrderError):  # confirming twice: no second message
        payments.confirm_payment(vendor.user_id, order.id)
    assert outbox() == expected


def test_a_buyer_with_an_account_is_told_in_their_language(db):
    buyer = factories.make_user(name="Người mua")
    buyer.locale = "en"
    _db.session.commit()
    vendor, order = _order(buyer)
    payments.confirm_payment(vendor.user_id, order.id)
    [(template, phone, _params, language, _)] = outbox()
    assert (template, phone, language) == ("order_paid", "+84912345678", "en")


def test_an_order_paid_rolls_back_with_its_use_case(db, failing_after_enqueue):
    vendor, order = _order()
    with pytest.raises(RuntimeError):
        payments.confirm_payment(vendor.user_id, order.id)
    assert outbox() == [] and _db.session.get(Order, order.id).status == "awaiting_payment"


# ---------------------------------------------------------------- a vendor application decided

def test_an_application_decided_tells_the_applicant_each_time(db):
    hub = factories.make_hub(name="Đoàn xã Tân Phước 1")
    organizer = factories.make_user(roles=("organizer",), hub=hub)
    vendor = make_vendor(hub=hub, status="pending", business_name="Nón lá Tân Phước")
    phone = vendor.user.phone
    vendors.review(organizer.id, vendor.id, approve=False, reason="Thiếu giấy phép ATTP")
    fields = VendorFields("Nón lá Tân Phước", "970436", "9988776655", "TRAN VAN KHOI")
    vendors.apply(vendor.user_id, hub.id, fields)
    vendors.review(organizer.id, vendor.id, approve=True)
    assert outbox() == [
        ("vendor_rejected", phone, {"hub": hub.name, "name": "Nón lá Tân Phước",
                                    "reason": "Thiếu giấy phép ATTP"}, "vi", None),
        ("vendor_approved", phone, {"hub": hub.name, "name": "Nón lá Tân Phước"}, "vi", None)]
    with pytest.raises(vendors.VendorError):  # decided once
        vendors.review(organizer.id, vendor.id, approve=True)
    assert len(outbox()) == 2


def test_an_application_decided_rolls_back_with_its_use_case(db, failing_after_enqueue):
    hub = factories.make_hub()
    organizer = factories.make_user(roles=("organizer",), hub=hub)
    vendor = make_vendor(hub=hub, status="pending")
    with pytest.raises(RuntimeError):
        vendors.review(organizer.id, vendor.id, approve=True)
    assert outbox() == [] and _db.session.get(Vendor, vendor.id).status == "pending"


# ---------------------------------------------------------------- an invitation by phone

def test_an_invitation_by_phone_tells_that_phone_who_invites_to_which_unit(db):
    school = factories.make_hub(name="Đoàn trường THPT Nguyễn Văn Tiếp")
    organizer = factories.make_user(roles=("organizer",), hub=school, name="Lê Thị Bí Thư")
    people.invite(organizer.id, school.id, "volunteer", phone="0987 654 321")
    people.invite(organizer.id, school.id, "volunteer")  # a link: no phone to tell
    account = factories.make_user(name="Đã có tài khoản")
    account.locale = "en"
    _db.session.commit()
    people.invite(organizer.id, school.id, "organizer", phone=account.phone)
    assert outbox() == [
        ("invite_volunteer", "+84987654321", {"hub": school.name, "name": "Lê Thị Bí Thư"},
         "vi", None),
        ("invite_organizer", account.phone, {"hub": school.name, "name": "Lê Thị Bí Thư"},
         "en", None)]


def test_an_invitation_rolls_back_with_its_use_case(db, failing_after_enqueue):
    school = factories.make_hub()
    organizer = factories.make_user(roles=("organizer",), hub=school)
    with pytest.raises(RuntimeError):
        people.invite(organizer.id, school.id, "volunteer", phone="0987 654 321")
    assert outbox() == [] and people.open_invitations(school.id) == []
