"""Donations in: anyone offers things to a hub, its volunteers receive them, inspect every line and
list the good ones in the store; the donor later sees them reach students (counts and wards only).

An offered donation is brought to the hub or collected by volunteers (only in the wards they deliver
to). Inspection records how many arrived, how many are good enough to give and in what condition;
listing turns every accepted line into an Item in one transaction, with the donor's photos.
"""
import re
import secrets
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..extensions import db
from ..models import (
    Donation,
    DonationLine,
    DonationPhoto,
    Hub,
    Item,
    ItemRequest,
    RequestLine,
    User,
)
from ..models.base import utcnow
from ..models.donation import HANDOVERS
from ..models.request import RELEASED_STATUSES
from . import catalog, geo, images
from .notifications import notify
from .phones import InvalidPhone, normalize_vn_mobile
from .requests import acts_for_hub
from .text import clean_block, clean_line

MAX_LINES = 5  # things of different kinds in one offer

HANDOVER_LABELS = {
    "bring": _l("Tôi mang tới điểm phát"),
    "collect": _l("Nhờ tình nguyện viên tới lấy"),
}
STATUS_LABELS = {
    "offered": _l("Chờ nhận"),
    "received": _l("Đã nhận, đang kiểm"),
    "closed": _l("Đã xử lý xong"),
    "cancelled": _l("Đã đóng"),
}
LINE_STATUS_LABELS = {
    "pending": _l("Chưa kiểm"),
    "accepted": _l("Đạt, chờ đăng"),
    "rejected": _l("Không nhận"),
    "listed": _l("Đã lên gian hàng"),
}


class DonationError(Exception):
    """An offer or a step that cannot be done; `errors` maps form field names to messages
    (line fields are named like the form's: "lines-0-quantity")."""

    def __init__(self, errors: dict[str | None, object]):
        self.field, self.message = next(iter(errors.items()))
        super().__init__(str(self.message))
        self.errors = errors


def _fail(message, field: str | None = None):
    raise DonationError({field: message})


@dataclass(frozen=True)
class OfferLine:
    description: str
    category: str
    size: str = ""
    condition: str = "good"
    quantity: int = 1
    photos: tuple = ()  # FileStorage or bytes


@dataclass(frozen=True)
class Offer:
    hub_id: int | None
    donor_name: str
    phone: str
    handover: str
    lines: tuple[OfferLine, ...]
    province_code: int | None = None
    ward_code: int | None = None
    street: str = ""
    note: str = ""
    consent: bool = False


@dataclass(frozen=True)
class Inspection:
    """What the volunteer found: `accept` the good ones, or reject the line with a reason."""
    accept: bool
    received: int | None
    accepted: int | None = None
    condition: str = ""
    reason: str = ""


# ---------------------------------------------------------------- offering

def validate_offer(hub: Hub, offer: Offer) -> Offer:
    """Check and normalise an offer; raises DonationError naming every bad field."""
    errors: dict[str | None, object] = {}
    name = clean_line(offer.donor_name, 120)
    if not name:
        errors["donor_name"] = _l("Vui lòng nhập tên của bạn.")
    try:
        phone = normalize_vn_mobile(offer.phone)
    except InvalidPhone as exc:
        errors["phone"], phone = str(exc), ""
    province, ward, street = offer.province_code, offer.ward_code, clean_line(offer.street, 255)
    if offer.handover not in HANDOVERS:
        errors["handover"] = _l("Vui lòng chọn cách trao quà.")
    elif offer.handover == "bring":
        province, ward, street = None, None, ""
    elif problem := geo.address_problem(province, ward):
        errors.update([problem])
    elif ward not in hub.delivery_ward_codes:
        errors["handover"] = _l("Tình nguyện viên của điểm phát này chưa tới lấy đồ ở %(ward)s. "
                                "Bạn có thể mang quà tới điểm phát.", ward=geo.ward_name(ward))
    if offer.handover == "collect" and len(street) < 3:
        errors["street"] = _l("Vui lòng nhập số nhà, đường hoặc thôn/ấp để chúng tôi tới lấy.")
    if len(offer.lines) > MAX_LINES:
        errors[None] = _l("Mỗi lần tặng tối đa %(n)s loại đồ; bạn có thể tặng thêm lần sau.",
                          n=MAX_LINES)
    lines = []
    for i, line in enumerate(offer.lines[:MAX_LINES]):
        try:
            f = catalog.checked_fields(catalog.ItemFields(
                line.description, line.category, line.size, line.condition, line.quantity))
        except catalog.CatalogError as exc:
            errors[f"lines-{i}-{'description' if exc.field == 'title' else exc.field}"] = \
                exc.message
            continue
        if len(line.photos) > catalog.MAX_PHOTOS:
            errors[f"lines-{i}-photos"] = _l("Tối đa %(n)s ảnh cho một món.",
                                             n=catalog.MAX_PHOTOS)
        lines.append(OfferLine(f.title, f.category, f.size, f.condition, f.quantity,
                               tuple(line.photos)))
    if not offer.lines:
        errors["lines-0-description"] = _l("Vui lòng cho biết ít nhất một món bạn muốn tặng.")
    if not offer.consent:
        errors["consent"] = _l("Bạn cần đồng ý cho Đoàn dùng số điện thoại (và địa chỉ) để liên "
                               "hệ nhận quà.")
    if errors:
        raise DonationError(errors)
    return Offer(hub.id, name, phone, offer.handover, tuple(lines), province, ward, street,
                 clean_block(offer.note, 500), True)


def _by_key(key: str | None) -> Donation | None:
    return db.session.scalar(select(Donation).where(Donation.idempotency_key == key)) \
        if key else None


def offer_donation(offer: Offer, donor_id: int | None = None,
                   idempotency_key: str | None = None) -> Donation:
    """Record an offer with its photos. Raises DonationError (nothing kept: no row, no file).

    A second call with the same idempotency key returns the first donation (double submit)."""
    done = _by_key(idempotency_key)
    if done:
        return done
    hub = db.session.get(Hub, offer.hub_id) if offer.hub_id else None
    if hub is None:
        _fail(_l("Vui lòng chọn điểm phát nhận quà."), "hub_id")
    offer = validate_offer(hub, offer)
    saved: list[list[images.SavedImage]] = []
    try:
        for i, line in enumerate(offer.lines):
            saved.append([])
            for photo in line.photos:
                try:
                    saved[-1].append(images.save_image(photo))
                except images.ImageError as exc:
                    _fail(exc.message, f"lines-{i}-photos")
        with write_transaction() as session:
            done = _by_key(idempotency_key)
            if done:
                images.delete_images(p.stem for ps in saved for p in ps)
                return done
            donation = Donation(
                hub_id=hub.id, token=secrets.token_urlsafe(24), donor_id=donor_id,
                donor_name=offer.donor_name, phone=offer.phone, handover=offer.handover,
                province_code=offer.province_code, ward_code=offer.ward_code,
                street=offer.street or None, note=offer.note, consent_at=utcnow(),
                idempotency_key=idempotency_key,
                lines=[DonationLine(
                    description=line.description, category=line.category, size=line.size,
                    condition=line.condition, quantity=line.quantity,
                    photos=[DonationPhoto(stem=p.stem, width=p.width, height=p.height, position=k)
                            for k, p in enumerate(photos)])
                    for line, photos in zip(offer.lines, saved, strict=True)],
            )
            session.add(donation)
    except IntegrityError:  # the same double submit, at the same moment (PostgreSQL)
        images.delete_images(p.stem for ps in saved for p in ps)
        done = _by_key(idempotency_key)
        if done is None:
            raise
        return done
    except BaseException:
        images.delete_images(p.stem for ps in saved for p in ps)
        raise
    return donation


# ---------------------------------------------------------------- the donor's view

TOKEN = re.compile(r"[0-9A-Za-z_-]{20,64}")


def by_token(token: str) -> Donation | None:
    if not TOKEN.fullmatch(token or ""):
        return None
    return db.session.scalar(select(Donation).where(Donation.token == token))


def of_donor(user_id: int) -> list[Donation]:
    return list(db.session.scalars(
        select(Donation).where(Donation.donor_id == user_id).order_by(Donation.id.desc())))


@dataclass
class Reach:
    """Where a donation's things went: units handed to students by place, units on their way."""
    delivered: int = 0
    on_the_way: int = 0
    places: list[tuple[str, int]] = field(default_factory=list)  # (ward label or "", units)


def reach(donation: Donation) -> Reach:
    """Counts and wards only, never who (the donor must not learn a student's name)."""
    rows = db.session.execute(
        select(ItemRequest.status, ItemRequest.ward_code, ItemRequest.province_code,
               func.sum(RequestLine.quantity))
        .join(RequestLine, RequestLine.request_id == ItemRequest.id)
        .join(Item, Item.id == RequestLine.item_id)
        .join(DonationLine, DonationLine.id == Item.donation_line_id)
        .where(DonationLine.donation_id == donation.id,
               ItemRequest.status.not_in(RELEASED_STATUSES))
        .group_by(ItemRequest.status, ItemRequest.ward_code, ItemRequest.province_code))
    out, places = Reach(), {}
    for status, ward, province, units in rows:
        if status == "delivered":
            out.delivered += units
            label = geo.place_label(ward, province)
            places[label] = places.get(label, 0) + units
        else:
            out.on_the_way += units
    out.places = sorted(places.items(), key=lambda p: (-p[1], p[0]))
    return out


# ---------------------------------------------------------------- the hub's intake

def for_hubs(hub_ids: set[int] | None, status: str = "offered") -> list[Donation]:
    """Donations of the given hubs (None: every hub) in one status, oldest first when open."""
    stmt = select(Donation).where(Donation.status == status)
    if hub_ids is not None:
        stmt = stmt.where(Donation.hub_id.in_(hub_ids))
    order = Donation.id if status in ("offered", "received") else Donation.id.desc()
    return list(db.session.scalars(stmt.order_by(order).limit(200)))


def counts_for_hubs(hub_ids: set[int] | None) -> dict[str, int]:
    stmt = select(Donation.status, func.count()).group_by(Donation.status)
    if hub_ids is not None:
        stmt = stmt.where(Donation.hub_id.in_(hub_ids))
    return dict(db.session.execute(stmt).all())


def get_for_staff(donation_id: int, viewer: User) -> Donation | None:
    """The donation if `viewer` acts for its hub, else None (callers answer 404)."""
    donation = db.session.get(Donation, donation_id)
    return donation if donation and acts_for_hub(viewer, donation.hub_id) else None


def _staff_donation(actor_id: int, donation_id: int) -> Donation:
    actor = db.session.get(User, actor_id)
    donation = db.session.get(Donation, donation_id, with_for_update={"of": Donation})
    if donation is None or actor is None or not acts_for_hub(actor, donation.hub_id):
        raise LookupError(donation_id)
    return donation


def _tell_donor(donation: Donation, key: str, **params) -> None:
    if donation.donor_id:
        notify(donation.donor_id, key, tracking_path(donation.token), **params)


def tracking_path(token: str) -> str:
    """The donor's page (the `donations.track` route); used in notifications."""
    return f"/tang-do/theo-doi/{token}"


def mark_received(actor_id: int, donation_id: int) -> Donation:
    """The things arrived at the hub (or were collected). Doing it twice is a no-op."""
    with write_transaction():
        donation = _staff_donation(actor_id, donation_id)
        if donation.status == "offered":
            donation.status, donation.received_at = "received", utcnow()
            donation.received_by_id = actor_id
            _tell_donor(donation, "donation_received", hub=donation.hub.name)
        elif donation.status != "received":
            _fail(_l("Quà tặng này đã được xử lý xong."))
    return donation


def cancel(actor_id: int, donation_id: int, reason: str) -> Donation:
    """Close an offer that never came (the donor changed their mind, could not be reached...)."""
    with write_transaction():
        donation = _staff_donation(actor_id, donation_id)
        if donation.status != "offered":
            _fail(_l("Chỉ đóng được quà tặng chưa nhận."))
        reason = clean_line(reason, 255)
        if not reason:
            _fail(_l("Vui lòng ghi lý do đóng."), "reason")
        donation.status, donation.cancel_reason, donation.closed_at = "cancelled", reason, utcnow()
        _tell_donor(donation, "donation_closed", hub=donation.hub.name, reason=reason)
    return donation


def _int_in(value, low: int, high: int) -> bool:
    return isinstance(value, int) and low <= value <= high


def inspect_line(actor_id: int, line_id: int, ins: Inspection) -> DonationLine:
    """Record what a volunteer found in one line (again while it is not listed yet).

    Accept: `received` arrived, `accepted` (1…received) are good enough to give, in `condition`;
    a reason is needed when some are not accepted. Reject: nothing given out, a reason is needed."""
    with write_transaction():
        line = db.session.get(DonationLine, line_id)
        if line is None:
            raise LookupError(line_id)
        donation = _staff_donation(actor_id, line.donation_id)
        if donation.status != "received":
            _fail(_l("Hãy đánh dấu đã nhận quà trước khi kiểm từng món.")
                  if donation.status == "offered" else _l("Quà tặng này đã được xử lý xong."))
        if line.status == "listed":
            _fail(_l("Món này đã lên gian hàng."))
        reason = clean_line(ins.reason, 255)
        errors: dict[str | None, object] = {}
        if not _int_in(ins.received, 0, catalog.MAX_QUANTITY):
            errors["received"] = _l("Số lượng nhận được từ 0 đến %(n)s.", n=catalog.MAX_QUANTITY)
        if ins.accept:
            if ins.condition not in catalog.CONDITIONS:
                errors["condition"] = _l("Vui lòng chọn tình trạng bạn thấy.")
            if not _int_in(ins.accepted, 1, catalog.MAX_QUANTITY):
                errors["accepted"] = _l("Số lượng nhận vào gian hàng phải từ 1 trở lên; nếu "
                                        "không món nào dùng được, hãy chọn Từ chối.")
            elif "received" not in errors and ins.accepted > ins.received:
                errors["accepted"] = _l("Không thể nhận %(a)s món khi chỉ nhận được %(r)s món.",
                                        a=ins.accepted, r=ins.received)
            elif "received" not in errors and ins.accepted < ins.received and not reason:
                errors["reason"] = lazy_ngettext("Vui lòng ghi lý do cho %(n)s món không nhận.",
                                                 "Vui lòng ghi lý do cho %(n)s món không nhận.",
                                                 ins.received - ins.accepted,
                                                 n=ins.received - ins.accepted)
        elif not reason:
            errors["reason"] = _l("Vui lòng ghi lý do từ chối.")
        if errors:
            raise DonationError(errors)
        line.status = "accepted" if ins.accept else "rejected"
        line.received_quantity = ins.received
        line.accepted_quantity = ins.accepted if ins.accept else 0
        line.seen_condition = ins.condition if ins.accept else None
        line.reason = reason or None
        line.inspected_by_id, line.inspected_at = actor_id, utcnow()
        _close_when_done(donation)
    return line


def _close_when_done(donation: Donation) -> None:
    if all(line.status in ("listed", "rejected") for line in donation.lines):
        donation.status, donation.closed_at = "closed", utcnow()


def list_accepted(actor_id: int, donation_id: int) -> list[Item]:
    """Put every accepted line in the hub's store, in one transaction. The item shows the donor's
    photos (the same files) and remembers its line, so the donor can see it given out."""
    with write_transaction() as session:
        donation = _staff_donation(actor_id, donation_id)
        accepted = [line for line in donation.lines if line.status == "accepted"]
        if not accepted:
            _fail(_l("Chưa có món nào đạt để đăng lên gian hàng."))
        items = []
        for line in accepted:
            fields = catalog.checked_fields(catalog.ItemFields(
                line.description, line.category, line.size, line.seen_condition,
                line.accepted_quantity))
            item = catalog.add_item(session, donation.hub_id, fields, [
                images.SavedImage(p.stem, p.width, p.height) for p in line.photos])
            item.donation_line_id = line.id
            line.status = "listed"
            items.append(item)
        _close_when_done(donation)
        listed = sum(i.quantity for i in items)
        _tell_donor(donation, "donation_listed", n=listed, hub=donation.hub.name)
    return items
