"""Security across every route (issue #6): who may do what, proven for every route of the app.

A world of two hubs, A and B, with one object of each kind per hub and owner (a request, a run with
its route and parcels, a donation, a shop with its product, order and bank transfer, a market event
with its booth, payment, sale and wallet card, ...), and seven roles: an anonymous visitor, a
student, a volunteer of hub B ("other_volunteer"), and a volunteer, a start-up vendor and an
organizer of hub A, and an admin. The student and the vendor own hub A's request, donation, shop,
order and booth.

MATRIX below says, for every endpoint of `app.url_map`, which roles may use it with hub A's objects
(`own`) and with hub B's (`other`): the same URL with the other hub's id must be refused. Every
(role × route × hub) is driven with GET, and with POST and a valid body where the route takes
one, and the answer is classed:
- allowed: 2xx or 3xx to anywhere but the login page (for a POST also a 400/422 form answer: the
  route let the user in and judged the input; at least one allowed role must really succeed);
- denied: 401, 403, 404 or a redirect to the login page — never a page with someone else's data;
- anything else (a 500) fails.
A route missing from MATRIX fails test_every_route_is_classified: classify it when you add it.
"""
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import (
    BankTransaction,
    Booth,
    Item,
    ItemRequest,
    MarketEvent,
    OutboundMessage,
    RequestEvent,
    Route,
    RunStop,
    User,
    UserRole,
    Vendor,
    Wallet,
)
from app.models.base import utcnow
from app.services import donations, handover, market, orders, resets, review, runs, wallets
from app.services import people as people_svc
from app.services import requests as req_svc
from app.services.requests import Delivery
from app.services.wallets import Participant
from tests import factories
from tests.conftest import _empty_tables
from tests.test_vendors import make_product, make_vendor
from tests.test_wallets import CREDIT, booth_of, market_event

ROLES = ("anonymous", "student", "other_volunteer", "volunteer", "vendor", "organizer", "admin")
CHEAP_HASH = generate_password_hash(factories.PASSWORD, "pbkdf2:sha256:1")  # fast logins


# ---------------------------------------------------------------- who may

@dataclass(frozen=True)
class Who:
    """Roles allowed with hub A's objects (the roles' own) and with hub B's."""
    own: frozenset
    other: frozenset


def who(own, other=None) -> Who:
    return Who(frozenset(own), frozenset(own if other is None else other))


EVERYONE = who(ROLES)
USERS = who(ROLES[1:])
ANY_STAFF = who({"volunteer", "other_volunteer", "organizer", "admin"})
HUB_STAFF = who({"volunteer", "organizer", "admin"}, {"other_volunteer", "admin"})
ANY_ORGANIZER = who({"organizer", "admin"})
HUB_ORGANIZER = who({"organizer", "admin"}, {"admin"})
ADMIN = who({"admin"})
STUDENT_OWNER = who({"student"}, set())  # the request's own student, nobody else
OWNER_OR_HUB_STAFF = who({"student", "volunteer", "organizer", "admin"},
                         {"other_volunteer", "admin"})
VENDOR_OWNER = who({"vendor"}, set())  # the shop's own vendor (not even an admin)
BOOTH = who({"vendor", "organizer", "admin"}, {"admin"})  # the booth's vendor, the hub's organizer
NOBODY = who(set())  # the bank webhooks: a signature or key, never a login (test_payments)


# ---------------------------------------------------------------- the world

@dataclass
class Side:
    """One hub's objects (ids, tokens and codes only: no ORM objects across requests)."""
    hub: int = 0
    slug: str = ""
    student_phone: str = ""  # the hub's student: a valid login
    item: int = 0
    gone: int = 0  # an item out of stock (the waitlist)
    request: int = 0  # the student's submitted request
    run: int = 0
    run_date: str = ""
    route: int = 0  # set off (its parcel out for delivery): the phone keeps it offline
    route_stop: int = 0
    parcel: str = ""  # the code of the route's parcel and its student's hand-over code
    handover: str = ""
    post_stop: int = 0  # a parcel at the post office
    donation: int = 0  # received, one line to inspect
    donation_token: str = ""
    line: int = 0
    signup_day: str = ""
    vendor: int = 0
    product: int = 0
    order: int = 0
    order_token: str = ""
    transaction: int = 0  # a bank transfer in the vendor's review list
    application: int = 0  # a pending vendor application
    event: int = 0
    booth: int = 0
    transfer: int = 0  # a participant's payment to the booth
    sale: int = 0
    card: int = 0  # a wallet card made at the desk
    card_token: str = ""
    reset_code: str = ""  # a one-time reset code of the student
    volunteer_role: int = 0  # the volunteer's role on the hub
    invitation: int = 0  # a one-time link invitation to the hub, and its token
    invitation_token: str = ""
    phone_invitation: int = 0  # an invitation waiting for the student's phone
    failed_message: int = 0  # the phone invitation's message, failed at the provider


@dataclass
class World:
    a: Side
    b: Side
    phones: dict = field(default_factory=dict)  # role -> phone of its user


def _user(name: str, *roles: tuple[str, int | None]) -> User:
    user = User(name=name, phone=factories.unique_phone(), password_hash=CHEAP_HASH,
                roles=[UserRole(role=r, hub_id=h) for r, h in roles])
    db.session.add(user)
    db.session.commit()
    return user


def _side(label: str) -> tuple[Side, dict[str, User]]:
    hub = factories.make_hub(name=f"Đoàn trường {label}")
    s = Side(hub=hub.id, slug=hub.slug)
    people = {
        "student": _user(f"Học sinh {label}", ("student", None)),
        "volunteer": _user(f"Tình nguyện viên {label}", ("volunteer", hub.id)),
        "organizer": _user(f"Cán bộ {label}", ("organizer", hub.id)),
        "vendor": _user(f"Chủ gian hàng {label}", ("vendor", hub.id)),
    }
    recipient = _user(f"Bạn nhận {label}", ("student", None))
    applicant = _user(f"Người đăng ký {label}", ("student", None))
    student, volunteer, organizer = people["student"], people["volunteer"], people["organizer"]
    s.student_phone = student.phone

    s.item = factories.make_item(hub, title=f"Giày {label}", quantity=50).id
    s.gone = factories.make_item(hub, title=f"Áo hết {label}", quantity=1, available=0).id
    s.request = req_svc.submit_request(student.id, hub.id, [s.item], Delivery(
        "pickup", student.name, "0987654321", consent=True)).id

    # The run: a parcel on a volunteer's route, one by post, one to pick up; approved a week ago.
    placed = []
    for method, province, ward, street in (
            ("volunteer", factories.DONG_THAP, factories.TAN_PHUOC_1, "Ấp 1"),
            ("post", factories.HA_NOI, factories.HOAN_KIEM, "12 Hàng Bạc"),
            ("pickup", None, None, "")):
        item = factories.make_item(hub, title=f"Vở {method} {label}", category="sach-vo", size="")
        req = req_svc.submit_request(recipient.id, hub.id, [item.id], Delivery(
            method, recipient.name, "0987654321", province, ward, street, True))
        req_svc.change_status(organizer.id, req.id, "approved")
        placed.append(req)
    db.session.execute(update(RequestEvent).where(
        RequestEvent.request_id.in_([r.id for r in placed]), RequestEvent.status == "approved")
        .values(created_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    built = runs.build_run(hub.id, organizer.id)
    s.run, s.run_date = built.run_id, built.date.isoformat()
    s.route = db.session.scalar(select(Route.id).where(Route.run_id == s.run))
    s.route_stop = db.session.scalar(select(RunStop.id).where(RunStop.route_id == s.route))
    handover.start_route(organizer.id, s.route)
    s.parcel, s.handover = placed[0].code, placed[0].handover_code
    s.post_stop = db.session.scalar(select(RunStop.id).where(RunStop.run_id == s.run,
                                                             RunStop.kind == "post"))
    handover.post_sent(organizer.id, s.post_stop, "EB000000001VN")
    s.signup_day = review.delivery_days(hub)[0].isoformat()

    donation = donations.offer_donation(donations.Offer(
        hub.id, "Cô Lan", "0912345678", "bring",
        (donations.OfferLine("Áo sơ mi trắng", "quan-ao", "M", "good", 3),), consent=True),
        donor_id=student.id)
    donations.mark_received(volunteer.id, donation.id)
    s.donation, s.donation_token, s.line = donation.id, donation.token, donation.lines[0].id

    vendor = make_vendor(hub, user=people["vendor"], business_name=f"Nón lá {label}")
    s.vendor, s.product = vendor.id, make_product(vendor, f"Nón lá {label}", stock=50).id
    order = orders.submit_order(vendor.id, {s.product: 1}, Delivery(
        "pickup", student.name, "0987654321", consent=True), buyer_id=student.id)
    s.order, s.order_token = order.id, order.token
    tx = BankTransaction(bank_ref=f"FT{label}{hub.id}", amount=5_000, description="ung ho",
                         account=vendor.account_number, occurred_at=utcnow(), status="review",
                         reason="no_code", vendor_id=vendor.id)
    application = Vendor(user_id=applicant.id, hub_id=hub.id, business_name=f"Đơn {label}",
                         bank_bin="970436", account_number="0123456789",
                         account_holder="NGUYEN VAN B", status="pending")
    db.session.add_all([tx, application])
    db.session.commit()
    s.transaction, s.application = tx.id, application.id

    event = market_event(hub, organizer=organizer)
    booth = booth_of(event, vendor=vendor, products=False)
    s.event, s.booth = event.id, booth.id
    wallet = wallets.join(event.id, Participant("Người tham gia", factories.unique_phone(), True),
                          wallets.new_key())
    s.transfer = wallets.pay(wallet.id, booth.id, 10_000, wallets.new_key()).id
    s.sale = market.create_sale(people["vendor"].id, booth.id, market.basket(booth, {}, 20_000),
                                wallets.new_key()).id
    card = wallets.join(event.id, Participant("Khách thẻ", "", True, "1234"), wallets.new_key(),
                        desk_user_id=volunteer.id)
    s.card, s.card_token = card.id, wallets.card_token(card, event)
    s.reset_code = resets.issue_for(organizer.id, student.phone).code
    s.volunteer_role = volunteer.roles[0].id
    link = people_svc.invite(organizer.id, hub.id, "volunteer")
    s.invitation, s.invitation_token = link.invitation_id, link.token
    s.phone_invitation = people_svc.invite(organizer.id, hub.id, "volunteer",
                                           student.phone).invitation_id
    s.failed_message = db.session.scalar(select(OutboundMessage.id).where(
        OutboundMessage.hub_id == hub.id, OutboundMessage.template == "invite_volunteer"))
    db.session.execute(update(OutboundMessage).where(OutboundMessage.id == s.failed_message)
                       .values(status="failed", last_error="108 Phone invalid"))
    db.session.commit()
    return s, people


def build_world(app) -> World:
    with app.app_context():
        _empty_tables()
        a, people = _side("A")
        b, people_b = _side("B")
        admin = _user("Quản trị viên", ("admin", None))
        phones = {role: user.phone for role, user in people.items()}
        phones |= {"other_volunteer": people_b["volunteer"].phone, "admin": admin.phone}
        Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
        (Path(app.config["UPLOAD_FOLDER"]) / "matrix.jpg").write_bytes(b"\xff\xd8\xff\xd9")
        db.session.remove()
    return World(a, b, phones)


def clean(app) -> None:
    with app.app_context():
        _empty_tables()
        db.session.remove()


# ---------------------------------------------------------------- the matrix

@dataclass(frozen=True)
class Rule:
    who: Who
    args: Callable[[Side], dict] = lambda s: {}  # URL arguments; unknown ones go to the query
    body: Callable[[Side], dict] | None = None  # a valid POST body
    basket: bool = False  # the client holds the hub's item in its basket first
    hub_in_body: bool = False  # the body names the hub: try hub B's too
    json: bool = False  # the body is sent as JSON


def _key() -> str:
    return wallets.new_key()


CONFIRMED = {"confirm": "yes"}  # the confirm step of what cannot be undone (app/confirm.py)
PICKUP = {"method": "pickup", "recipient_name": "Trần Thị Bình", "phone": "0987654321",
          "consent": "y"}

UNIT_SETTINGS = {
    "name": "Đoàn trường đã đổi tên", "pickup_place": "Phòng Đoàn", "pickup_hours": "7:00–11:00",
    "description": "", "contact_phone": "0912 345 678", "zalo_phone": "", "map_url": "",
    "holds_stock": "y", "delivery_weekday": "5", "cutoff_weekday": "3", "cutoff_time": "20:00",
    "stops_per_route": "12", "weekly_limit": "3", "retention_days": "30"}

MATRIX: dict[str, Rule] = {
    # the shell
    "main.home": Rule(EVERYONE),
    "main.healthz": Rule(EVERYONE),
    "main.ping": Rule(EVERYONE),
    "main.set_language": Rule(EVERYONE, body=lambda s: {"lang": "en", "next": "/do-tang"}),
    "main.media": Rule(EVERYONE, lambda s: {"name": "matrix.jpg"}),
    "main.ward_options": Rule(EVERYONE, lambda s: {"province_code": factories.DONG_THAP}),
    "static": Rule(EVERYONE, lambda s: {"filename": "css/app.css"}),
    # accounts (a POST to log in or register is done by a fresh client: see _client)
    "accounts.login": Rule(EVERYONE, body=lambda s: {"phone": s.student_phone,
                                                     "password": factories.PASSWORD}),
    "accounts.register": Rule(EVERYONE, body=lambda s: {
        "name": "Người mới", "phone": factories.unique_phone(), "password": "matkhau-456",
        "confirm": "matkhau-456"}),
    "accounts.logout": Rule(USERS, body=lambda s: {}),
    "accounts.profile": Rule(USERS),
    "accounts.change_name": Rule(USERS, body=lambda s: {"name-name": "Tên mới"}),
    "accounts.change_phone": Rule(USERS, body=lambda s: {"phone-phone": factories.unique_phone()}),
    "accounts.change_password": Rule(USERS, body=lambda s: {
        "password-old_password": factories.PASSWORD, "password-password": factories.PASSWORD,
        "password-confirm": factories.PASSWORD}),
    "accounts.change_reminders": Rule(USERS, body=lambda s: {"reminders-wanted": "y"}),
    "accounts.sign_out_others": Rule(USERS, body=lambda s: {}),
    "accounts.forgot": Rule(EVERYONE),
    # SMS codes (on for the whole matrix: sms_codes_on); without a registration waiting for its
    # code, the code page and "Gửi lại mã" send back to the registration form
    "accounts.verify_phone": Rule(EVERYONE, body=lambda s: {"code": "123456"}),
    "accounts.resend_code": Rule(EVERYONE, body=lambda s: {}),
    "accounts.send_reset_code": Rule(EVERYONE, body=lambda s: {"phone": s.student_phone}),
    "accounts.reset": Rule(EVERYONE, body=lambda s: {
        "phone": s.student_phone, "code": s.reset_code, "password": "mat-khau-moi-1",
        "confirm": "mat-khau-moi-1"}),
    # any organizer or admin; a volunteer only for a student who requested from their hub
    "accounts.issue_code": Rule(ANY_STAFF),
    "accounts.create_code": Rule(who({"volunteer", "organizer", "admin"},
                                     {"other_volunteer", "organizer", "admin"}),
                                 body=lambda s: {"phone": s.student_phone}, hub_in_body=True),
    "accounts.export_json": Rule(USERS),
    "accounts.export_csv": Rule(USERS),
    # staff and vendors with an open shop are told to hand over first (a 422 on the page)
    "accounts.delete_account": Rule(USERS, body=lambda s: {"password": factories.PASSWORD}),
    "notifications.index": Rule(USERS),
    "notifications.mark_read": Rule(USERS, body=lambda s: {}),
    # the store and the student's requests
    "store.catalog": Rule(EVERYONE),
    "store.hub": Rule(EVERYONE, lambda s: {"slug": s.slug}),
    "store.item": Rule(EVERYONE, lambda s: {"item_id": s.item}),
    "store.new_item": Rule(ANY_STAFF, body=lambda s: {
        "hub_id": str(s.hub), "title": "Áo khoác", "category": "quan-ao", "size": "L",
        "condition": "good", "quantity": "2", "description": ""}),
    "store.manage": Rule(HUB_STAFF, lambda s: {"hub": s.hub}),
    "store.edit_item": Rule(HUB_STAFF, lambda s: {"item_id": s.item}, body=lambda s: {
        "title": "Giày mới", "category": "giay-dep", "size": "39", "condition": "good",
        "quantity": "40", "description": ""}),
    "store.unlist_item": Rule(HUB_STAFF, lambda s: {"item_id": s.item}, body=lambda s: {}),
    "store.relist_item": Rule(HUB_STAFF, lambda s: {"item_id": s.item}, body=lambda s: {}),
    "requests.basket": Rule(EVERYONE),
    "requests.basket_add": Rule(EVERYONE, lambda s: {"item_id": s.item}, body=lambda s: {}),
    "requests.basket_remove": Rule(EVERYONE, lambda s: {"item_id": s.item}, body=lambda s: {}),
    "requests.checkout": Rule(USERS, lambda s: {"hub_id": s.hub}, body=lambda s: PICKUP,
                              basket=True),
    "requests.mine": Rule(USERS),
    "requests.detail": Rule(OWNER_OR_HUB_STAFF, lambda s: {"request_id": s.request}),
    "requests.cancel": Rule(STUDENT_OWNER, lambda s: {"request_id": s.request},
                            body=lambda s: CONFIRMED),
    "requests.waitlist_join": Rule(USERS, lambda s: {"item_id": s.gone}, body=lambda s: PICKUP),
    "requests.waitlist_leave": Rule(USERS, lambda s: {"item_id": s.gone}, body=lambda s: {}),
    # the hub's desk: review queue, delivery days, numbers
    "review.queue": Rule(HUB_STAFF, lambda s: {"hub": s.hub}),
    "review.approve": Rule(HUB_STAFF, lambda s: {"request_id": s.request}, body=lambda s: {}),
    "review.reject": Rule(HUB_STAFF, lambda s: {"request_id": s.request},
                          body=lambda s: {"reason": "Đã hết đồ"} | CONFIRMED),
    "review.approve_many": Rule(HUB_STAFF, body=lambda s: {"hub": s.hub,
                                                           "request_ids": [s.request]},
                                hub_in_body=True),
    "review.signups": Rule(HUB_STAFF, lambda s: {"hub": s.hub}),
    "review.failed_messages": Rule(ANY_STAFF),
    "review.resend_message": Rule(HUB_STAFF, lambda s: {"message_id": s.failed_message},
                                  body=lambda s: {}),
    "review.signup": Rule(HUB_STAFF, lambda s: {"hub_id": s.hub, "day": s.signup_day},
                          body=lambda s: {"available": "1"}),
    "dashboard.index": Rule(HUB_STAFF, lambda s: {"hub": s.hub}),
    "dashboard.export": Rule(HUB_STAFF, lambda s: {"hub": s.hub}),
    # donations
    "donations.offer": Rule(EVERYONE, body=lambda s: {
        "hub_id": str(s.hub), "line0-description": "Vở ô li", "line0-category": "sach-vo",
        "line0-size": "", "line0-condition": "new", "line0-quantity": "10",
        "donor_name": "Cô Lan", "phone": "0912345678", "handover": "bring", "consent": "y",
        "idempotency_key": _key()}),
    "donations.track": Rule(EVERYONE, lambda s: {"token": s.donation_token}),
    "donations.mine": Rule(USERS),
    "donations.intake": Rule(HUB_STAFF, lambda s: {"hub": s.hub}),
    "donations.detail": Rule(HUB_STAFF, lambda s: {"donation_id": s.donation}),
    "donations.receive": Rule(HUB_STAFF, lambda s: {"donation_id": s.donation},
                              body=lambda s: {}),
    "donations.cancel": Rule(HUB_STAFF, lambda s: {"donation_id": s.donation},
                             body=lambda s: {"reason": "Trùng đề nghị"} | CONFIRMED),
    "donations.list_items": Rule(HUB_STAFF, lambda s: {"donation_id": s.donation},
                                 body=lambda s: {}),
    "donations.inspect": Rule(HUB_STAFF, lambda s: {"line_id": s.line}, body=lambda s: {
        f"line-{s.line}-received": "3", f"line-{s.line}-accepted": "3",
        f"line-{s.line}-condition": "good", f"line-{s.line}-decision": "accept"}),
    # the weekly run and the hand-over
    "delivery.index": Rule(ANY_STAFF),
    "delivery.run_page": Rule(HUB_STAFF, lambda s: {"hub_id": s.hub}),
    "delivery.build": Rule(HUB_STAFF, lambda s: {"hub_id": s.hub},
                           body=lambda s: {"date": s.run_date}),
    "delivery.pick_list": Rule(HUB_STAFF, lambda s: {"run_id": s.run}),
    "delivery.route_sheet": Rule(HUB_STAFF, lambda s: {"route_id": s.route}),
    "delivery.dispatch": Rule(HUB_STAFF, lambda s: {"run_id": s.run}),
    "delivery.dispatch_csv": Rule(HUB_STAFF, lambda s: {"run_id": s.run}),
    "delivery.pickup_list": Rule(HUB_STAFF, lambda s: {"run_id": s.run}),
    "delivery.start_route": Rule(HUB_STAFF, lambda s: {"route_id": s.route}, body=lambda s: {}),
    "delivery.ready_pickups": Rule(HUB_STAFF, lambda s: {"run_id": s.run}, body=lambda s: {}),
    "delivery.post_sent": Rule(HUB_STAFF, lambda s: {"stop_id": s.post_stop},
                               body=lambda s: {"tracking_number": "EB123456789VN"}),
    "delivery.post_result": Rule(HUB_STAFF, lambda s: {"stop_id": s.post_stop},
                                 body=lambda s: {"result": "delivered"}),
    # the route offline (issue #15): its volunteer (anyone of the hub while it has none), the
    # hub's organizers and admins; the service worker is a static file
    "delivery.offline_bundle": Rule(HUB_STAFF, lambda s: {"route_id": s.route}),
    "delivery.offline_sync": Rule(HUB_STAFF, lambda s: {"route_id": s.route}, json=True,
                                  body=lambda s: {"actions": [{
                                      "key": _key(), "stop": s.route_stop, "action": "missed",
                                      "reason": "Không có ai ở nhà",
                                      "at": utcnow().isoformat() + "Z"}]}),
    "delivery.service_worker": Rule(EVERYONE),
    "delivery.scan": Rule(HUB_STAFF, lambda s: {"hub_id": s.hub, "ma": s.parcel}),
    "delivery.confirm": Rule(HUB_STAFF, lambda s: {"hub_id": s.hub},
                             body=lambda s: {"ma": s.parcel, "student_code": s.handover}),
    "delivery.missed": Rule(HUB_STAFF, lambda s: {"hub_id": s.hub}, body=lambda s: {
        "ma": s.parcel, "reason": "Không có ai ở nhà", "then": "next"}),
    # youth start-ups
    "shop.catalog": Rule(EVERYONE),
    "shop.product": Rule(EVERYONE, lambda s: {"product_id": s.product}),
    "shop.checkout": Rule(EVERYONE, lambda s: {"vendor_id": s.vendor},
                          body=lambda s: PICKUP | {f"qty_{s.product}": "1"}),
    "shop.order": Rule(EVERYONE, lambda s: {"token": s.order_token}),  # the token is the key
    "shop.order_qr": Rule(EVERYONE, lambda s: {"token": s.order_token}),
    "shop.my_orders": Rule(USERS),
    "vendors.apply": Rule(USERS, body=lambda s: {
        "hub_id": str(s.hub), "business_name": "Bánh tráng", "story": "", "bank_bin": "970436",
        "account_number": "0123456789", "account_holder": "NGUYEN VAN C"}),
    "vendors.mine": Rule(USERS),
    "vendors.review": Rule(ANY_ORGANIZER),
    "vendors.decide": Rule(HUB_ORGANIZER, lambda s: {"vendor_id": s.application},
                           body=lambda s: {"decision": "approve"}),
    "vendors.storefront": Rule(EVERYONE, lambda s: {"vendor_id": s.vendor}),
    "vendors.new_product": Rule(VENDOR_OWNER, lambda s: {"vendor_id": s.vendor},
                                body=lambda s: {"name": "Mật ong", "category": "nong-san",
                                                "price": "50.000", "stock": "5"}),
    "vendors.edit_product": Rule(VENDOR_OWNER, lambda s: {"product_id": s.product},
                                 body=lambda s: {"name": "Nón lá mới", "category": "nong-san",
                                                 "price": "60000", "stock": "50",
                                                 "stock_seen": "50"}),
    "vendors.set_listed": Rule(VENDOR_OWNER, lambda s: {"product_id": s.product},
                               body=lambda s: {"listed": "1"}),
    "vendors.dashboard": Rule(VENDOR_OWNER, lambda s: {"vendor_id": s.vendor}),
    "vendors.orders": Rule(VENDOR_OWNER, lambda s: {"vendor_id": s.vendor}),
    "vendors.orders_csv": Rule(VENDOR_OWNER, lambda s: {"vendor_id": s.vendor}),
    "vendors.confirm_payment": Rule(VENDOR_OWNER, lambda s: {"order_id": s.order},
                                    body=lambda s: {}),
    "vendors.mark_delivered": Rule(VENDOR_OWNER, lambda s: {"order_id": s.order},
                                   body=lambda s: {}),
    "vendors.cancel_order": Rule(VENDOR_OWNER, lambda s: {"order_id": s.order},
                                 body=lambda s: CONFIRMED),
    "vendors.mark_reviewed": Rule(VENDOR_OWNER, lambda s: {"transaction_id": s.transaction},
                                  body=lambda s: {}),
    "webhooks.bank": Rule(NOBODY, body=lambda s: {"id": "FT1", "amount": 1}),
    # SePay and Casso: their own key or signature, never a login (test_bank_feeds)
    "webhooks.sepay": Rule(NOBODY, body=lambda s: {"id": 1, "transferAmount": 1}),
    "webhooks.casso": Rule(NOBODY, body=lambda s: {"error": 0}),
    # delivery receipts: a secret in the path (eSMS) or Zalo's signature (test_receipts)
    "webhooks.esms_receipt": Rule(NOBODY, lambda s: {"secret": "x", "SMSID": "1"}),
    "webhooks.zns_receipt": Rule(NOBODY, body=lambda s: {"event_name": "user_received_message"}),
    # Phiên chợ 4.0
    "market.index": Rule(EVERYONE),
    "market.create": Rule(ANY_ORGANIZER, body=lambda s: {
        "hub_id": str(s.hub), "name": "Phiên chợ mới", "place": "Sân trường",
        "day": (utcnow() + timedelta(days=7)).date().isoformat(), "start": "08:00",
        "end": "11:00", "practice_credit": "100.000"}),
    "market.event": Rule(EVERYONE, lambda s: {"event_id": s.event}),
    "market.invite": Rule(HUB_ORGANIZER, lambda s: {"event_id": s.event},
                          body=lambda s: {"vendor_ids": [s.vendor]}),
    "market.close": Rule(HUB_ORGANIZER, lambda s: {"event_id": s.event},
                         body=lambda s: CONFIRMED),
    "market.accept": Rule(BOOTH, lambda s: {"booth_id": s.booth}, body=lambda s: {}),
    "market.decline": Rule(VENDOR_OWNER, lambda s: {"booth_id": s.booth}, body=lambda s: {}),
    "market.booth": Rule(BOOTH, lambda s: {"booth_id": s.booth}),
    "market.poster": Rule(BOOTH, lambda s: {"booth_id": s.booth}),
    "market.join": Rule(EVERYONE, lambda s: {"event_id": s.event}, body=lambda s: {
        "name": "Người tham gia", "phone": factories.unique_phone(), "first_qr": "yes",
        "consent": "y", "key": _key()}),
    "market.wallet": Rule(EVERYONE, lambda s: {"event_id": s.event}),
    "market.card": Rule(EVERYONE, lambda s: {"token": s.card_token}),  # signed: the card's key
    "market.pay": Rule(EVERYONE, lambda s: {"booth_id": s.booth},
                       body=lambda s: {"amount": "1000", "note": "", "key": _key()}),
    "market.receipt": Rule(BOOTH, lambda s: {"transfer_id": s.transfer}),  # or the payer's phone
    "market.refund": Rule(BOOTH, lambda s: {"transfer_id": s.transfer},
                          body=lambda s: CONFIRMED),
    "market.card_pay": Rule(BOOTH, lambda s: {"booth_id": s.booth}, body=lambda s: {
        "card": s.card_token, "pin": "1234", "amount": "1.000", "key": _key()}),
    "market.sale_new": Rule(BOOTH, lambda s: {"booth_id": s.booth},
                            body=lambda s: {"amount": "20.000", "key": _key()}),
    "market.sale": Rule(BOOTH, lambda s: {"sale_id": s.sale}),
    "market.sale_confirm": Rule(BOOTH, lambda s: {"sale_id": s.sale}, body=lambda s: {}),
    "market.sale_cancel": Rule(BOOTH, lambda s: {"sale_id": s.sale}, body=lambda s: CONFIRMED),
    "market.desk": Rule(HUB_STAFF, lambda s: {"event_id": s.event}, body=lambda s: {
        "name": "Khách tại bàn", "phone": "", "first_qr": "no", "consent": "y", "pin": "4321",
        "key": _key()}),
    "market.wallet_card": Rule(HUB_STAFF, lambda s: {"wallet_id": s.card},
                               body=lambda s: {"pin": "5678"}),
    "market.dashboard": Rule(EVERYONE, lambda s: {"event_id": s.event}),
    "market.report": Rule(HUB_ORGANIZER, lambda s: {"event_id": s.event}),
    "market.report_csv": Rule(HUB_ORGANIZER, lambda s: {"event_id": s.event}),
    # union units (issue #11): organizers of the unit or above, and admins
    "units.index": Rule(ANY_ORGANIZER),
    "units.detail": Rule(HUB_ORGANIZER, lambda s: {"hub_id": s.hub}),
    "units.edit": Rule(HUB_ORGANIZER, lambda s: {"hub_id": s.hub}, body=lambda s: UNIT_SETTINGS),
    "units.wards": Rule(HUB_ORGANIZER, lambda s: {"hub_id": s.hub},
                        body=lambda s: {"wards": [str(factories.TAN_PHUOC_2)]}),
    "units.new": Rule(HUB_ORGANIZER, lambda s: {"cha": s.hub}, body=lambda s: {
        "parent_id": str(s.hub), "name": "Chi đoàn 10A1", "level": "base", "holds_stock": "y",
        "ward_code": str(factories.TAN_PHUOC_1), "pickup_place": "Phòng 10A1",
        "pickup_hours": "", "contact_phone": "", "zalo_phone": "", "map_url": ""}),
    "units.ward_options": Rule(HUB_ORGANIZER, lambda s: {"parent_id": s.hub}),
    # a unit's people: its organizers (and those above); the invited person's side
    "people.unit": Rule(HUB_ORGANIZER, lambda s: {"hub_id": s.hub}),
    "people.invite": Rule(HUB_ORGANIZER, lambda s: {"hub_id": s.hub},
                          body=lambda s: {"role": "volunteer", "how": "link"}),
    "people.invitation": Rule(HUB_ORGANIZER, lambda s: {"hub_id": s.hub,
                                                        "invitation_id": s.invitation}),
    "people.cancel_invitation": Rule(HUB_ORGANIZER, lambda s: {
        "hub_id": s.hub, "invitation_id": s.invitation}, body=lambda s: {}),
    "people.revoke": Rule(HUB_ORGANIZER, lambda s: {"hub_id": s.hub,
                                                    "role_id": s.volunteer_role},
                          body=lambda s: {}),
    "people.join": Rule(EVERYONE, lambda s: {"token": s.invitation_token}),
    # the first signed-in person takes the link; the others are told it is used (a 422)
    "people.take": Rule(USERS, lambda s: {"token": s.invitation_token}, body=lambda s: {}),
    "people.mine": Rule(USERS),
    "people.accept": Rule(STUDENT_OWNER, lambda s: {"invitation_id": s.phone_invitation},
                          body=lambda s: {}),
    "people.decline": Rule(STUDENT_OWNER, lambda s: {"invitation_id": s.phone_invitation},
                           body=lambda s: {}),
    # admin
    "admin.audit_log": Rule(ADMIN),
}


# ---------------------------------------------------------------- driving it

LOGIN_PATH = "/tai-khoan/dang-nhap"


def verdict(resp) -> str:
    status, location = resp.status_code, resp.headers.get("Location", "")
    if status in (401, 403, 404) or (300 <= status < 400 and LOGIN_PATH in location):
        return "denied"
    if status < 400:
        return "allowed"
    if status in (400, 422):
        return "refused input"
    return f"error {status}"


class Roles:
    """One logged-in session per role; every request is made by a copy of it (a new client with
    the same cookies), so that nothing a request does to its session (logging in as someone else,
    a basket, a wallet) leaks into the next. Requests run outside any app context: each gets its
    own, as in production (a shared one would share flask-login's cached user)."""

    def __init__(self, app, world: World):
        self.app, self.cookies = app, {"anonymous": []}
        for role, phone in world.phones.items():
            client = app.test_client()
            resp = client.post(LOGIN_PATH, data={"phone": phone, "password": factories.PASSWORD})
            assert resp.status_code == 303, role
            self.cookies[role] = [(c, client.get_cookie(c).value) for c in
                                  ("session", "remember_token") if client.get_cookie(c)]

    def client(self, role: str):
        client = self.app.test_client()
        for name, value in self.cookies[role]:
            client.set_cookie(name, value)
        return client


def url(app, endpoint: str, args: dict) -> str:
    with app.app_context():
        return url_for(endpoint, **args)


def request_as(app, roles: Roles, role: str, endpoint: str, side: Side, method: str):
    rule = MATRIX[endpoint]
    client = roles.client(role)
    if rule.basket:
        with client.session_transaction() as sess:
            sess["basket"] = [side.item]
    target = url(app, endpoint, rule.args(side))
    if method == "GET":
        return client.get(target)
    if rule.json:
        return client.post(target, json=rule.body(side))
    return client.post(target, data=rule.body(side))


def sides(world: World, rule: Rule):
    """(side, roles allowed): hub A's objects, and hub B's when the URL or body names them."""
    yield world.a, rule.who.own
    if rule.args(world.a) != rule.args(world.b) or rule.hub_in_body:
        yield world.b, rule.who.other


def check(app, roles: Roles, world: World, endpoint: str, method: str) -> list[str]:
    """Every role on every side; the wrong answers, one line each."""
    wrong = []
    for side, allowed in sides(world, MATRIX[endpoint]):
        hub = "A" if side is world.a else "B"
        succeeded = False
        # The denied first: a wrongly allowed action must not hide behind an earlier real one.
        for role in sorted(ROLES, key=lambda r: r in allowed):
            resp = request_as(app, roles, role, endpoint, side, method)
            got = verdict(resp)
            if role not in allowed:
                expected = {"denied"}
            else:
                expected = {"allowed", "refused input"} if method == "POST" else {"allowed"}
            if got not in expected:
                wrong.append(f"{method} {endpoint} hub {hub} as {role}: {got} "
                             f"({resp.status_code} {resp.headers.get('Location', '')})")
            succeeded |= got == "allowed" and role in allowed
        if allowed and not succeeded:
            wrong.append(f"{method} {endpoint} hub {hub}: no allowed role succeeded")
    return wrong


# ---------------------------------------------------------------- the tests

def test_every_route_is_classified(app):
    """A new route must be added to MATRIX (and so given its rule) before this passes."""
    routes = {r.endpoint: r.methods for r in app.url_map.iter_rules()}
    assert routes.keys() - MATRIX.keys() == set(), "classify these routes in MATRIX"
    assert MATRIX.keys() - routes.keys() == set(), "these MATRIX entries are not routes any more"
    for endpoint, methods in routes.items():
        assert ("POST" in methods) == (MATRIX[endpoint].body is not None), \
            f"{endpoint}: give a body exactly when the route takes POST"


@pytest.fixture(autouse=True, scope="module")
def sms_codes_on(app):
    """The routes of one-time codes by SMS answer only with PHONE_CODES on."""
    app.config["PHONE_CODES"] = True
    yield
    app.config["PHONE_CODES"] = False


@pytest.fixture(scope="module")
def shared(app):
    """One world for all the GET requests (which change nothing another answer depends on)."""
    world = build_world(app)
    yield world, Roles(app, world)
    clean(app)


@pytest.mark.parametrize("endpoint", MATRIX)
def test_get_matrix(app, shared, endpoint):
    world, roles = shared
    if "GET" not in next(app.url_map.iter_rules(endpoint)).methods:
        resp = request_as(app, roles, "admin", endpoint, world.a, "GET")
        assert resp.status_code == 405  # a POST-only route does not answer GET
        return
    wrong = check(app, roles, world, endpoint, "GET")
    assert not wrong, "\n".join(wrong)


@pytest.fixture
def fresh(app):
    """A new world for each route that changes state: what one POST does never decides another
    route's answer (the GET tests above have had the shared world first)."""
    world = build_world(app)
    yield world, Roles(app, world)
    clean(app)


@pytest.mark.parametrize("endpoint", [e for e, rule in MATRIX.items() if rule.body is not None])
def test_post_matrix(app, fresh, endpoint):
    world, roles = fresh
    wrong = check(app, roles, world, endpoint, "POST")
    assert not wrong, "\n".join(wrong)


def test_ids_of_another_hub_in_a_body_change_nothing(app, fresh):
    """The routes above are scoped by their URL; these name hub B's objects in the body instead."""
    world, roles = fresh
    a, b = world.a, world.b

    def post(role, endpoint, args, data):
        return roles.client(role).post(url(app, endpoint, args), data=data)

    item = MATRIX["store.new_item"].body(b) | {"title": "Áo của điểm phát khác"}
    assert post("volunteer", "store.new_item", {}, item).status_code == 422
    event = MATRIX["market.create"].body(b) | {"name": "Phiên chợ của điểm phát khác"}
    assert post("organizer", "market.create", {}, event).status_code == 422
    post("organizer", "market.invite", {"event_id": a.event}, {"vendor_ids": [b.vendor]})
    post("volunteer", "review.approve_many", {}, {"hub": a.hub, "request_ids": [b.request]})
    post("volunteer", "delivery.confirm", {"hub_id": a.hub},
         {"ma": b.parcel, "student_code": b.handover})
    post("volunteer", "delivery.missed", {"hub_id": a.hub},
         {"ma": b.parcel, "reason": "Không có ai ở nhà", "then": "stock"})
    assert post("vendor", "market.card_pay", {"booth_id": a.booth}, {
        "card": b.card_token, "pin": "1234", "amount": "1000", "key": wallets.new_key()}
    ).status_code == 422
    with app.app_context():
        assert not db.session.scalar(select(Item.id).where(Item.title == item["title"]))
        assert not db.session.scalar(select(MarketEvent.id).where(
            MarketEvent.name == event["name"]))
        assert not db.session.scalar(select(Booth.id).where(Booth.event_id == a.event,
                                                            Booth.vendor_id == b.vendor))
        assert db.session.get(ItemRequest, b.request).status == "submitted"
        assert db.session.scalar(select(ItemRequest.status).where(
            ItemRequest.code == b.parcel)) == "out_for_delivery"
        assert db.session.scalar(select(Wallet.balance).where(Wallet.id == b.card)) == CREDIT
        db.session.remove()


@pytest.mark.parametrize("number", [2**31, 10**20])
def test_ids_beyond_32_bits_are_unknown_ids_on_every_route(client, login_as, number):
    """Not a database error (an overflow on SQLite, "integer out of range" on PostgreSQL)."""
    login_as("admin")
    checked = 0
    for rule in client.application.url_map.iter_rules():
        if "<int" not in rule.rule:
            continue
        path = re.sub(r"<int[^>]*>", str(number), re.sub(r"<(?!int)[^>]+>", "x", rule.rule))
        for method in rule.methods & {"GET", "POST"}:
            resp = client.open(path, method=method, data={})
            assert resp.status_code == 404, (method, path, resp.status_code)
            checked += 1
    assert checked > 50
