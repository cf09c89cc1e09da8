"""Donations in: the offer (form and service), the hub's intake (receive, inspect, list into the
store), the donor's page (counts and wards, never names), and bad input of every kind."""
import io
import re
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest
from PIL import Image
from sqlalchemy import func, select

from app import seed
from app.extensions import db as _db
from app.models import Donation, DonationLine, Hub, Item, ItemRequest, Notification
from app.services import donations as svc
from app.services import requests as reqs
from app.services import review, stats
from tests.factories import (
    DONG_THAP,
    HA_NOI,
    HOAN_KIEM,
    TAN_PHUOC_1,
    TAN_PHUOC_2,
    make_hub,
    make_user,
)
from tests.threads import run_together


def jpeg(color=(200, 60, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), color).save(buf, "JPEG")
    return buf.getvalue()


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def files(app) -> set:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return set(folder.iterdir()) if folder.exists() else set()


def offer(hub, *lines, **changes) -> svc.Offer:
    lines = lines or (svc.OfferLine("Áo sơ mi trắng", "quan-ao", "M", "like_new", 3),)
    data = {"hub_id": hub.id, "donor_name": "Cô Lan", "phone": "0912 345 678",
            "handover": "bring", "lines": tuple(lines), "consent": True}
    return svc.Offer(**(data | changes))


def form(hub, **changes) -> dict:
    data = {"hub_id": str(hub.id), "line0-description": "Vở ô li 96 trang",
            "line0-category": "sach-vo", "line0-size": "", "line0-condition": "new",
            "line0-quantity": "10", "donor_name": "Cô Lan", "phone": "0912 345 678",
            "handover": "bring", "consent": "y", "idempotency_key": uuid4().hex}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def errors_next_to(html: str, name: str) -> list[str]:
    """The messages inside the form block (div.field or fieldset) holding input `name`."""
    for block in re.split(r'(?=<div class="field|<fieldset)', html):
        if f'name="{name}"' in block:
            return re.findall(r'<p class="error" role="alert">(.*?)</p>', block)
    raise AssertionError(f"no field {name}")


@pytest.fixture
def hub(db):
    return make_hub(name="Đoàn trường THPT Tân Phước", wards=(TAN_PHUOC_1,))


@pytest.fixture
def received(hub):
    """A donation of two lines, already received at the hub, and a volunteer of the hub."""
    volunteer = make_user(roles=("volunteer",), hub=hub)
    donation = svc.offer_donation(offer(
        hub, svc.OfferLine("Áo sơ mi trắng", "quan-ao", "M", "like_new", 3, (jpeg(),)),
        svc.OfferLine("Giày bata", "giay-dep", "38", "good", 2)))
    svc.mark_received(volunteer.id, donation.id)
    return donation, volunteer


def accept(received=3, accepted=3, condition="good", reason=""):
    return svc.Inspection(True, received, accepted, condition, reason)


# ---------------------------------------------------------------- offering (service)

def test_offer_with_photos_is_recorded_with_an_unguessable_token(hub, app):
    donation = svc.offer_donation(offer(hub, svc.OfferLine(
        "  Áo   sơ mi trắng ", "quan-ao", "M", "like_new", 3, (jpeg(), jpeg((0, 90, 0))))))
    assert (donation.status, donation.handover, donation.phone) == ("offered", "bring",
                                                                    "+84912345678")
    assert donation.consent_at is not None and donation.donor_id is None
    assert len(donation.token) >= 32 and svc.by_token(donation.token) == donation
    [line] = donation.lines
    assert (line.description, line.quantity, line.status) == ("Áo sơ mi trắng", 3, "pending")
    assert [p.position for p in line.photos] == [0, 1]
    folder = Path(app.config["UPLOAD_FOLDER"])
    assert all((folder / f"{p.stem}_t.jpg").exists() for p in line.photos)
    assert donation.street is None and donation.ward_code is None  # bring: no address kept


def test_collection_needs_a_served_ward_and_a_street(hub):
    with pytest.raises(svc.DonationError) as exc:
        svc.offer_donation(offer(hub, handover="collect", province_code=HA_NOI,
                                 ward_code=HOAN_KIEM, street="12 Hàng Bạc"))
    assert "Phường Hoàn Kiếm" in str(exc.value.errors["handover"])
    with pytest.raises(svc.DonationError) as exc:
        svc.offer_donation(offer(hub, handover="collect", province_code=DONG_THAP,
                                 ward_code=TAN_PHUOC_1, street=""))
    assert set(exc.value.errors) == {"street"}
    donation = svc.offer_donation(offer(hub, handover="collect", province_code=DONG_THAP,
                                        ward_code=TAN_PHUOC_1, street="Ấp Tân Hòa"))
    assert (donation.ward_code, donation.street) == (TAN_PHUOC_1, "Ấp Tân Hòa")
    assert count(Donation) == 1


def test_every_bad_field_is_named_at_once_and_nothing_is_saved(hub):
    bad = offer(hub, svc.OfferLine("Áo", "quan-ao", quantity=1),
                svc.OfferLine("", "quan-ao"), svc.OfferLine("Sách", "nope"),
                svc.OfferLine("Bút", "do-dung-hoc-tap", quantity=0),
                donor_name=" ", phone="12345", consent=False, handover="collect",
                province_code=DONG_THAP, ward_code=HOAN_KIEM)
    with pytest.raises(svc.DonationError) as exc:
        svc.offer_donation(bad)
    errors = {k: str(v) for k, v in exc.value.errors.items()}
    assert set(errors) == {"donor_name", "phone", "consent", "ward_code", "street",
                           "lines-1-description", "lines-2-category", "lines-3-quantity"}
    assert "Nghị định" not in errors["consent"] and "đồng ý" in errors["consent"]
    assert count(Donation) == 0 and count(DonationLine) == 0


def test_an_offer_without_lines_or_hub_is_refused(hub):
    with pytest.raises(svc.DonationError) as exc:
        svc.offer_donation(offer(hub, lines=()))
    assert "ít nhất một món" in str(exc.value.errors["lines-0-description"])
    with pytest.raises(svc.DonationError) as exc:
        svc.offer_donation(offer(hub, hub_id=10**6))
    assert set(exc.value.errors) == {"hub_id"}
    with pytest.raises(svc.DonationError) as exc:
        svc.offer_donation(offer(hub, *[svc.OfferLine("Áo", "quan-ao")] * (svc.MAX_LINES + 1)))
    assert "tối đa 5 loại" in str(exc.value.errors[None])


def test_fake_image_is_refused_and_no_file_is_left(hub, app):
    before = files(app)
    with pytest.raises(svc.DonationError) as exc:
        svc.offer_donation(offer(hub, svc.OfferLine("Áo", "quan-ao"),
                                 svc.OfferLine("Giày", "giay-dep", photos=(
                                     jpeg(), b"MZ\x90\x00 not a picture"))))
    assert "không phải ảnh" in str(exc.value.errors["lines-1-photos"])
    assert files(app) == before and count(Donation) == 0


def test_a_double_submit_records_one_donation(hub, app):
    key = uuid4().hex
    first = svc.offer_donation(offer(hub), idempotency_key=key)
    again = svc.offer_donation(offer(hub), idempotency_key=key)
    assert again.id == first.id and count(Donation) == 1


def test_a_double_submit_at_the_same_moment_records_one_donation(app, hub):
    the_offer = offer(hub)  # plain values: the threads share no session object
    results, errors = run_together(app, lambda i: svc.offer_donation(
        the_offer, idempotency_key="offer-123").id, 8)
    assert errors == [] and len(set(results)) == 1
    _db.session.rollback()  # end the test's own read snapshot (SQLite WAL) before checking
    assert count(Donation) == 1 and count(DonationLine) == 1


# ---------------------------------------------------------------- the hub's intake (service)

def test_receive_inspect_and_list_in_one_step(received, app):
    donation, volunteer = received
    shirt, shoes = donation.lines
    svc.mark_received(volunteer.id, donation.id)  # twice: no-op
    svc.inspect_line(volunteer.id, shirt.id, accept(3, 2, "good", "Một áo bị ố cổ"))
    svc.inspect_line(volunteer.id, shoes.id, svc.Inspection(False, 2, reason="Đế bị bong"))
    [item] = svc.list_accepted(volunteer.id, donation.id)
    _db.session.expire_all()
    assert (item.title, item.category, item.size, item.condition, item.quantity,
            item.available) == ("Áo sơ mi trắng", "quan-ao", "M", "good", 2, 2)
    assert item.donation_line_id == shirt.id and item.hub_id == donation.hub_id
    assert [p.stem for p in item.photos] == [p.stem for p in shirt.photos]  # the donor's photo
    assert item.search_text.strip() == "ao so mi trang quan ao m"
    assert (shirt.status, shirt.received_quantity, shirt.accepted_quantity) == ("listed", 3, 2)
    assert (shoes.status, shoes.accepted_quantity, shoes.reason) == ("rejected", 0, "Đế bị bong")
    donation = _db.session.get(Donation, donation.id)
    assert donation.status == "closed" and donation.closed_at is not None
    with pytest.raises(svc.DonationError):
        svc.list_accepted(volunteer.id, donation.id)  # nothing left to list
    assert count(Item) == 1


def test_two_volunteers_listing_at_once_list_each_line_once(app, received):
    donation, volunteer = received
    other = make_user(roles=("volunteer",), hub=donation.hub)
    svc.inspect_line(volunteer.id, donation.lines[0].id, accept())
    actors = [volunteer.id, other.id] * 3
    results, errors = run_together(app, lambda i: len(svc.list_accepted(actors[i], donation.id)), 6)
    assert results == [1] and len(errors) == 5
    assert all(isinstance(e, svc.DonationError) for e in errors), errors
    _db.session.rollback()
    assert count(Item) == 1


def test_accepting_more_than_received_is_refused(received):
    donation, volunteer = received
    line = donation.lines[0]
    with pytest.raises(svc.DonationError) as exc:
        svc.inspect_line(volunteer.id, line.id, accept(received=2, accepted=3))
    assert set(exc.value.errors) == {"accepted"}
    assert "chỉ nhận được 2" in str(exc.value.errors["accepted"])
    with pytest.raises(svc.DonationError) as exc:
        svc.inspect_line(volunteer.id, line.id, accept(received=3, accepted=2))
    assert set(exc.value.errors) == {"reason"}  # one is not taken: say why
    for bad in (None, -1, 501):
        with pytest.raises(svc.DonationError) as exc:
            svc.inspect_line(volunteer.id, line.id, accept(received=bad, accepted=1))
        assert "received" in exc.value.errors
    with pytest.raises(svc.DonationError) as exc:
        svc.inspect_line(volunteer.id, line.id, accept(accepted=0))
    assert "Từ chối" in str(exc.value.errors["accepted"])
    with pytest.raises(svc.DonationError) as exc:
        svc.inspect_line(volunteer.id, line.id, accept(condition="broken"))
    assert set(exc.value.errors) == {"condition"}
    _db.session.expire_all()
    assert _db.session.get(DonationLine, line.id).status == "pending"


def test_rejecting_needs_a_reason(received):
    donation, volunteer = received
    with pytest.raises(svc.DonationError) as exc:
        svc.inspect_line(volunteer.id, donation.lines[1].id, svc.Inspection(False, 2, reason=" "))
    assert str(exc.value.errors["reason"]) == "Vui lòng ghi lý do từ chối."


def test_lines_are_inspected_only_after_the_donation_is_received(hub):
    volunteer = make_user(roles=("volunteer",), hub=hub)
    donation = svc.offer_donation(offer(hub))
    with pytest.raises(svc.DonationError) as exc:
        svc.inspect_line(volunteer.id, donation.lines[0].id, accept())
    assert "đã nhận quà" in exc.value.message


def test_an_offer_that_never_came_is_closed_with_a_reason(hub):
    volunteer = make_user(roles=("volunteer",), hub=hub)
    donor = make_user(name="Cô Lan")
    donation = svc.offer_donation(offer(hub), donor_id=donor.id)
    with pytest.raises(svc.DonationError):
        svc.cancel(volunteer.id, donation.id, "")
    svc.cancel(volunteer.id, donation.id, "Gọi ba lần không được")
    _db.session.expire_all()
    donation = _db.session.get(Donation, donation.id)
    assert (donation.status, donation.cancel_reason) == ("cancelled", "Gọi ba lần không được")
    note = _db.session.scalar(select(Notification).where(Notification.user_id == donor.id))
    assert "Gọi ba lần không được" in note.message and donation.token in note.link
    with pytest.raises(svc.DonationError):
        svc.mark_received(volunteer.id, donation.id)


def test_another_hubs_volunteer_cannot_touch_a_donation(received):
    donation, _volunteer = received
    stranger = make_user(roles=("volunteer",), hub=make_hub())
    student = make_user()
    for actor in (stranger, student):
        with pytest.raises(LookupError):
            svc.mark_received(actor.id, donation.id)
        with pytest.raises(LookupError):
            svc.inspect_line(actor.id, donation.lines[0].id, accept())
        with pytest.raises(LookupError):
            svc.list_accepted(actor.id, donation.id)
        assert svc.get_for_staff(donation.id, actor) is None


# ---------------------------------------------------------------- the donor's page

def deliver(student, item, ward=TAN_PHUOC_1, method="volunteer"):
    """A student requests the item and the hub hands it over."""
    volunteer = make_user(roles=("volunteer",), hub=item.hub)
    address = {"province_code": DONG_THAP, "ward_code": ward, "street": "Ấp 3"} if ward else {}
    req = reqs.submit_request(student.id, item.hub_id, [item.id], reqs.Delivery(
        method, student.name, "0987 654 321", consent=True, **address))
    for status in ("approved", "packed", reqs.DISPATCH_STATUS[method], "delivered"):
        reqs.change_status(volunteer.id, req.id, status)
    return req


def test_the_donor_sees_counts_and_wards_never_names(received, client):
    donation, volunteer = received
    svc.inspect_line(volunteer.id, donation.lines[0].id, accept())
    svc.inspect_line(volunteer.id, donation.lines[1].id, accept(2, 2, "good"))
    shirt, shoes = svc.list_accepted(volunteer.id, donation.id)
    deliver(make_user(name="Trần Thị Bé"), shirt)
    deliver(make_user(name="Lê Văn Cường"), shoes, ward=None, method="pickup")
    reqs.submit_request(make_user(name="Phạm Dũng").id, shirt.hub_id, [shirt.id], reqs.Delivery(
        "pickup", "Phạm Dũng", "0987 654 322", consent=True))
    reach = svc.reach(_db.session.get(Donation, donation.id))
    assert (reach.delivered, reach.on_the_way) == (2, 1)
    assert sorted(reach.places) == [("", 1), ("Xã Tân Phước 1, Đồng Tháp", 1)]

    resp = client.get(f"/tang-do/theo-doi/{donation.token}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Referrer-Policy"] == "no-referrer"
    assert "2 món đã tới tay học sinh" in page and "Xã Tân Phước 1, Đồng Tháp: 1" in page
    assert "Nhận tại điểm phát: 1" in page and "1 món đang trên đường" in page
    for name in ("Trần Thị Bé", "Lê Văn Cường", "Phạm Dũng", "0987"):
        assert name not in page


def test_the_donor_sees_their_photos_what_the_union_accepted_and_can_share_the_link(
        client, received):
    donation, volunteer = received
    shirt, _shoes = donation.lines
    svc.inspect_line(volunteer.id, shirt.id, accept(3, 2, "good", "Một áo bị ố cổ"))
    html = client.get(f"/tang-do/theo-doi/{donation.token}").get_data(as_text=True)
    [photo] = shirt.photos
    assert f'src="/media/{photo.stem}_t.jpg"' in html and f'href="/media/{photo.stem}.jpg"' in html
    assert "Điểm phát nhận 2 trong 3 món bạn gửi" in html  # the union's count, not a student's
    assert "món được nhận" not in html
    link = f"http://localhost/tang-do/theo-doi/{donation.token}"
    assert f'readonly value="{link}"' in html  # visible and selectable without JS
    assert f'data-copy="{link}"' in html and f'data-share="{link}"' in html
    assert "js/copy.js" in html


def test_unknown_token_is_404(client, db):
    assert client.get("/tang-do/theo-doi/not-a-token").status_code == 404
    assert client.get("/tang-do/theo-doi/" + "x" * 300).status_code == 404


def test_a_donor_with_an_account_finds_their_donations(client, login_as, hub):
    donor = login_as("student")
    page = client.get("/tang-do").get_data(as_text=True)
    assert f'value="{donor.name}"' in page and "Xem quà bạn đã tặng" in page
    resp = client.post("/tang-do", data=form(hub, donor_name=donor.name))
    assert resp.status_code == 303
    donation = _db.session.scalar(select(Donation))
    assert donation.donor_id == donor.id
    page = client.get("/tang-do/cua-toi").get_data(as_text=True)
    assert f"/tang-do/theo-doi/{donation.token}" in page and "Vở ô li 96 trang" in page


# ---------------------------------------------------------------- the offer form (routes)

def test_offer_page_has_the_ward_picker_and_the_consent(client, hub):
    page = client.get(f"/tang-do?hub={hub.id}").get_data(as_text=True)
    assert "Nghị định 13/2023/NĐ-CP" in page
    assert 'hx-get="/dia-chi/phuong-xa"' in page and 'hx-target="#ward_code"' in page
    assert f'<option selected value="{hub.id}">' in page
    assert "Tình nguyện viên tới lấy ở: Xã Tân Phước 1." in page  # the chosen hub's wards
    assert 'name="line4-description"' in page  # five lines without JavaScript
    assert 'enctype="multipart/form-data"' in page


def test_anonymous_offer_by_form_leads_to_the_tracking_link(client, hub, app):
    data = form(hub, **{"line0-photos": (io.BytesIO(jpeg()), "vo.jpg"),
                        "line2-description": "Bút bi", "line2-category": "do-dung-hoc-tap",
                        "line2-quantity": "20", "line2-condition": "new"})
    resp = client.post("/tang-do", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    donation = _db.session.scalar(select(Donation))
    assert resp.headers["Location"].endswith(f"/tang-do/theo-doi/{donation.token}")
    assert [(ln.description, ln.quantity, len(ln.photos)) for ln in donation.lines] == \
        [("Vở ô li 96 trang", 10, 1), ("Bút bi", 20, 0)]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Cảm ơn bạn" in page and "Phòng Đoàn, dãy A" in page
    assert f"/tang-do/theo-doi/{donation.token}" in page  # the link to keep


def test_errors_come_back_next_to_their_fields(client, hub):
    resp = client.post("/tang-do", data=form(
        hub, consent=None, phone="123", **{"line0-description": "", "line0-category": "",
                                           "line0-size": "", "line3-description": "Ủng",
                                           "line3-category": "giay-dep",
                                           "line3-quantity": "nhiều"}))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert errors_next_to(page, "consent") == [
        "Bạn cần đồng ý cho Đoàn dùng số điện thoại (và địa chỉ) để liên hệ nhận quà."]
    assert "không hợp lệ" in errors_next_to(page, "phone")[0]
    assert errors_next_to(page, "line3-quantity") == ["Số lượng từ 1 đến 500."]
    assert errors_next_to(page, "line0-quantity") == []
    assert "<details class=\"more-lines\" open>" in page  # the line with the error is shown
    assert 'value="Ủng"' in page  # nothing typed is lost
    assert count(Donation) == 0


def test_missing_consent_and_foreign_hub_are_field_errors(client, hub):
    resp = client.post("/tang-do", data=form(hub, consent=None))
    assert resp.status_code == 422 and errors_next_to(resp.get_data(as_text=True), "consent")
    resp = client.post("/tang-do", data=form(hub, hub_id="999999"))
    assert resp.status_code == 422
    assert errors_next_to(resp.get_data(as_text=True), "hub_id") == [
        "Vui lòng chọn điểm phát nhận quà."]
    assert count(Donation) == 0


def test_fake_image_upload_is_a_field_error(client, hub, app):
    before = files(app)
    data = form(hub, **{"line0-photos": [(io.BytesIO(jpeg()), "ok.jpg"),
                                           (io.BytesIO(b"<?php echo 1; ?>"), "x.jpg")]})
    resp = client.post("/tang-do", data=data, content_type="multipart/form-data")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "không phải ảnh" in errors_next_to(page, "line0-photos")[0]
    assert "chọn lại ảnh" in page
    assert files(app) == before and count(Donation) == 0


def test_collect_outside_the_served_wards_says_so_by_the_handover(client, hub):
    resp = client.post("/tang-do", data=form(
        hub, handover="collect", province_code=str(DONG_THAP), ward_code=str(TAN_PHUOC_2),
        street="Ấp 1"))
    assert resp.status_code == 422
    [message] = errors_next_to(resp.get_data(as_text=True), "handover")
    assert "Xã Tân Phước 2" in message and "mang quà tới" in message


RATE_WORKER = """
import sys
from uuid import uuid4
from app import create_app
from app.extensions import db
from tests import factories
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "SERVER_NAME": "localhost", "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                  "DONATION_RATE_LIMIT": "2 per minute", "WTF_CSRF_ENABLED": False})
with app.app_context():
    db.create_all()
    hub = factories.make_hub()
    client = app.test_client()
    codes = [client.post("/tang-do", data={"hub_id": hub.id}).status_code for _ in range(3)]
    codes.append(client.get("/tang-do").status_code)
    print(codes)
"""


def test_offers_are_rate_limited(tmp_path):
    out = subprocess.run([sys.executable, "-c", RATE_WORKER, f"sqlite:///{tmp_path / 'r.db'}"],
                         capture_output=True, text=True, timeout=120, check=False,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[422, 422, 429, 200]"


def test_offer_needs_the_csrf_token(client, csrf_app, hub):
    resp = client.post("/tang-do", data=form(hub))
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    assert count(Donation) == 0


# ---------------------------------------------------------------- the hub's intake (routes)

def test_intake_is_for_the_hubs_volunteers(client, login_as, received):
    donation, _volunteer = received
    assert client.get("/quan-ly/tang-do").status_code == 302  # login first
    login_as("student")
    assert client.get("/quan-ly/tang-do").status_code == 403
    login_as("volunteer", hub=make_hub())
    assert client.get(f"/quan-ly/tang-do/{donation.id}").status_code == 404
    assert client.post(f"/quan-ly/tang-do/{donation.id}/dang").status_code == 404
    line = donation.lines[0]
    assert client.post(f"/quan-ly/tang-do/mon/{line.id}",
                       data={f"line-{line.id}-decision": "accept"}).status_code == 404
    assert client.get(f"/quan-ly/tang-do?hub={donation.hub_id}").status_code == 404
    assert client.get("/quan-ly/tang-do/999999").status_code == 404


def test_volunteer_sees_offers_receives_inspects_and_lists(client, login_as, hub):
    donation = svc.offer_donation(offer(hub, handover="collect", province_code=DONG_THAP,
                                        ward_code=TAN_PHUOC_1, street="Ấp Tân Hòa"))
    login_as("volunteer", hub=hub)
    page = client.get("/quan-ly/tang-do").get_data(as_text=True)
    assert "Áo sơ mi trắng" in page and f"/quan-ly/tang-do/{donation.id}" in page
    fragment = client.get("/quan-ly/tang-do?status=offered", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"] and 'hx-trigger="every 60s"' in \
        fragment.get_data(as_text=True)
    page = client.get(f"/quan-ly/tang-do/{donation.id}").get_data(as_text=True)
    assert "0912 345 678" in page and "Ấp Tân Hòa, Xã Tân Phước 1, Đồng Tháp" in page

    assert client.post(f"/quan-ly/tang-do/{donation.id}/da-nhan").status_code == 303
    line = donation.lines[0]
    resp = client.post(f"/quan-ly/tang-do/mon/{line.id}", data={
        f"line-{line.id}-received": "3", f"line-{line.id}-accepted": "4",
        f"line-{line.id}-condition": "good", f"line-{line.id}-decision": "accept"})
    assert resp.status_code == 422
    assert errors_next_to(resp.get_data(as_text=True), f"line-{line.id}-accepted") == [
        "Không thể nhận 4 món khi chỉ nhận được 3 món."]
    resp = client.post(f"/quan-ly/tang-do/mon/{line.id}", headers={"HX-Request": "true"}, data={
        f"line-{line.id}-received": "3", f"line-{line.id}-accepted": "3",
        f"line-{line.id}-condition": "good", f"line-{line.id}-decision": "accept"})
    fragment = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="donation-lines"' in fragment
    assert "<html" not in fragment and "Đăng 3 món đạt lên gian hàng" in fragment
    resp = client.post(f"/quan-ly/tang-do/{donation.id}/dang")
    assert resp.status_code == 303
    item = _db.session.scalar(select(Item))
    assert (item.quantity, item.donation_line_id) == (3, line.id)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Đã đăng các món đạt lên gian hàng." in page and f"/do-tang/{item.id}" in page


def test_reject_without_reason_by_form_keeps_the_line(client, login_as, received):
    donation, volunteer = received
    login_as(user=volunteer)
    line = donation.lines[1]
    resp = client.post(f"/quan-ly/tang-do/mon/{line.id}",
                       data={f"line-{line.id}-received": "2", f"line-{line.id}-reason": "",
                             f"line-{line.id}-decision": "reject"})
    assert resp.status_code == 422
    assert errors_next_to(resp.get_data(as_text=True), f"line-{line.id}-reason") == [
        "Vui lòng ghi lý do từ chối."]
    _db.session.expire_all()
    assert _db.session.get(DonationLine, line.id).status == "pending"
    other = donation.lines[0]  # the other line's form still shows what is known of it
    assert f'name="line-{other.id}-received" type="text" value="3"' in resp.get_data(as_text=True)


# ---------------------------------------------------------------- a real phone browser

def test_offer_and_intake_in_a_phone_browser(database_url, hub, tmp_path):
    """A donor offers with a photo and the htmx ward picker; a volunteer receives the gift,
    inspects it (htmx swap, an error first) and lists it; the donor's link shows it listed."""
    from playwright.sync_api import expect

    from tests.browser import live_server, phone_browser, require_chromium
    from tests.factories import PASSWORD
    require_chromium()
    volunteer = make_user(roles=("volunteer",), hub=hub)
    photo = tmp_path / "ao.jpg"
    photo.write_bytes(jpeg())
    console_errors = []
    with live_server(database_url, str(tmp_path)) as (base, _), phone_browser() as page:
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        page.goto(f"{base}/tang-do?hub={hub.id}")
        page.fill("#line0-description", "Áo sơ mi trắng")
        page.select_option("#line0-category", "quan-ao")
        page.fill("#line0-size", "M")
        page.fill("#line0-quantity", "3")
        page.set_input_files("#line0-photos", str(photo))
        page.fill("#donor_name", "Cô Lan")
        page.fill("#phone", "0912 345 678")
        page.check('input[name="handover"][value="collect"]')
        page.select_option("#province_code", str(DONG_THAP))
        page.wait_for_selector(f'#ward_code option[value="{TAN_PHUOC_1}"]', state="attached")
        page.select_option("#ward_code", str(TAN_PHUOC_1))
        page.fill("#street", "Ấp Tân Hòa")
        page.check("#consent")
        page.click("form button.primary >> text=Gửi đề nghị tặng quà")
        page.wait_for_url("**/tang-do/theo-doi/*")
        track_url = page.url
        expect(page.locator("main")).to_contain_text("Chờ nhận")
        page.screenshot(path=str(tmp_path / "track.png"), full_page=True, caret="initial")

        page.goto(f"{base}/tai-khoan/dang-nhap?next=/quan-ly/tang-do")
        page.fill("#phone", volunteer.phone)
        page.fill("#password", PASSWORD)
        page.click("form button.primary")
        page.click(".donation-card")
        page.click("text=Đã nhận quà")
        form = page.locator("form.inspect")
        form.locator("input[name$=-accepted]").fill("4")
        form.locator("button[value=accept]").click()
        expect(page.locator("#donation-lines .error")).to_have_text(
            "Không thể nhận 4 món khi chỉ nhận được 3 món.")
        page.locator("form.inspect input[name$=-accepted]").fill("2")
        page.locator("form.inspect input[name$=-reason]").fill("Một áo bị ố cổ")
        page.locator("form.inspect button[value=accept]").click()
        expect(page.locator("#donation-lines")).to_contain_text("Đạt, chờ đăng")
        page.screenshot(path=str(tmp_path / "intake.png"), full_page=True, caret="initial")
        page.click("text=Đăng 2 món đạt lên gian hàng")
        expect(page.locator(".flash-success")).to_have_text("Đã đăng các món đạt lên gian hàng.")
        page.click("text=Xem trên gian hàng")
        expect(page.locator("h1")).to_have_text("Áo sơ mi trắng")
        page.goto(track_url)
        expect(page.locator("main")).to_contain_text("Đã lên gian hàng")
        expect(page.locator("main")).to_contain_text("Điểm phát nhận 2 trong 3 món bạn gửi")
        assert page.locator(".line-photos img").evaluate("img => img.naturalWidth") > 0
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page.click('button[aria-label="Sao chép địa chỉ trang theo dõi"]')
        assert page.evaluate("navigator.clipboard.readText()") == track_url
        share = page.locator("button[data-share]")  # shown only where the phone can share
        assert share.is_visible() == page.evaluate("typeof navigator.share === 'function'")
    _db.session.rollback()
    item = _db.session.scalar(select(Item))
    assert (item.quantity, len(item.photos)) == (2, 1)
    assert [e for e in console_errors if "status of 422" not in e] == []


def test_the_demo_has_donations_at_every_stage_and_a_week_of_work(app, client, db):
    seed.seed_demo()
    hub = _db.session.scalar(select(Hub).where(Hub.slug == "thpt-nguyen-van-tiep"))
    statuses = {d.status for d in _db.session.scalars(select(Donation))}
    assert statuses == {"offered", "received", "closed"}
    closed = _db.session.scalar(select(Donation).where(Donation.status == "closed"))
    assert svc.reach(closed).delivered == 1 and all(ln.photos for ln in closed.lines)
    assert len(review.queue(hub.id)) == 2
    n = stats.numbers([hub])
    assert (n.total("delivered"), n.total("missed"), n.total("donations")) == (3, 1, 2)
    student = client.post("/tai-khoan/dang-nhap", data={"phone": "0901 000 001",
                                                        "password": seed.DEMO_PASSWORD})
    assert student.status_code == 303
    for req_id in _db.session.scalars(select(ItemRequest.id)):
        assert client.get(f"/yeu-cau/{req_id}").status_code == 200
    assert client.get(f"/tang-do/theo-doi/{closed.token}").status_code == 200
