"""`flask seed-demo`: a believable demo in an empty database.

The union's tree of Đồng Tháp: the province union (Tỉnh Đoàn) above the commune union of
Tân Phước 1, and two hubs (a school union below that commune, a ward union in Mỹ Tho); 60+ donated
items with pictures drawn here with Pillow (no downloads) and run through the same image pipeline as
uploads, some items already given out (for the waitlist); accounts for every role: staff for both
hubs and a province organizer above them; donations at every stage, the student's requests of the
last weeks in various statuses, volunteer sign-ups. Everything is written in one transaction.
"""
import io
import random
import secrets
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from .database import write_transaction
from .models import (
    Booth,
    Donation,
    DonationLine,
    DonationPhoto,
    Hub,
    HubWard,
    Item,
    ItemRequest,
    MarketEvent,
    Product,
    RequestEvent,
    RequestLine,
    Transfer,
    User,
    UserRole,
    Vendor,
    VolunteerSignup,
    Wallet,
)
from .models.base import utcnow
from .models.request import RELEASED_STATUSES
from .models.user import HUB_ROLES
from .services import catalog, geo, images, vendors
from .services.phones import normalize_vn_mobile
from .services.requests import AFTER_MISSED, new_code
from .services.review import delivery_days
from .services.text import fold

DEMO_PASSWORD = "demo-0dong"

# Units without stock, parents first: the province union and a commune union below it.
UNITS = [
    {
        "name": "Tỉnh Đoàn Đồng Tháp", "slug": "tinh-doan-dong-thap", "level": "province",
        "province": "Đồng Tháp", "ward": "Phường Mỹ Tho",
        "pickup_place": "Trụ sở Tỉnh Đoàn Đồng Tháp", "pickup_hours": "Thứ Hai–Thứ Sáu 7:30–16:30",
        "contact_phone": "0901 000 008",
    },
    {
        "name": "Đoàn xã Tân Phước 1", "slug": "doan-xa-tan-phuoc-1", "level": "commune",
        "parent": "tinh-doan-dong-thap", "province": "Đồng Tháp", "ward": "Xã Tân Phước 1",
        "pickup_place": "Nhà văn hóa xã Tân Phước 1", "pickup_hours": "Thứ Bảy 7:30–10:30",
        "contact_phone": "0901 000 008",
    },
]

# The two hubs, each below a unit of UNITS.
HUBS = [
    {
        "name": "Đoàn trường THPT Nguyễn Văn Tiếp", "slug": "thpt-nguyen-van-tiep",
        "parent": "doan-xa-tan-phuoc-1", "province": "Đồng Tháp", "ward": "Xã Tân Phước 1",
        "pickup_place": "Phòng Đoàn trường, dãy A, trường THPT Nguyễn Văn Tiếp",
        "pickup_hours": "Thứ Hai–Thứ Sáu 16:30–17:30; Thứ Bảy 7:30–10:30",
        "contact_phone": "0901 000 004", "zalo_phone": "0901 000 004",
        "map_url": "https://www.openstreetmap.org/search?query=THPT%20Nguy%E1%BB%85n%20V%C4%83n%20Ti%E1%BA%BFp",
        "delivery_wards": ["Xã Tân Phước 1", "Xã Tân Phước 2", "Xã Tân Phước 3", "Xã Hưng Thạnh",
                           "Xã Tân Hương"],
        "description": "Gian hàng 0 đồng của Đoàn trường: đồ dùng, quần áo, sách vở do thầy cô, "
                       "phụ huynh và cựu học sinh góp tặng. Thứ Bảy đoàn viên giao tận nhà cho các "
                       "bạn ở xã gần trường.",
    },
    {
        "name": "Đoàn phường Mỹ Tho", "slug": "doan-phuong-my-tho", "level": "commune",
        "parent": "tinh-doan-dong-thap", "province": "Đồng Tháp", "ward": "Phường Mỹ Tho",
        "pickup_place": "Nhà văn hóa phường Mỹ Tho, phòng sinh hoạt thanh niên",
        "pickup_hours": "Thứ Bảy, Chủ nhật 8:00–11:00",
        "contact_phone": "0901 000 007", "zalo_phone": "0901 000 007",
        "delivery_wards": ["Phường Mỹ Tho", "Phường Đạo Thạnh", "Phường Trung An",
                           "Phường Thới Sơn"],
        "description": "Điểm phát của Đoàn phường cho học sinh, sinh viên khó khăn trên địa bàn "
                       "và các bạn sinh viên ở trọ.",
    },
]

# role, name, phone, the unit (slug) a volunteer's or organizer's role is held on.
ACCOUNTS = [
    ("student", "Nguyễn Thị Mai", "0901000001", None),
    ("volunteer", "Trần Văn Hùng", "0901000002", "thpt-nguyen-van-tiep"),
    ("vendor", "Lê Thị Thu", "0901000003", None),
    ("organizer", "Phạm Minh Tuấn", "0901000004", "thpt-nguyen-van-tiep"),
    ("admin", "Võ Quốc Bảo", "0901000005", None),
    ("volunteer", "Đặng Thị Lan", "0901000006", "doan-phuong-my-tho"),
    ("organizer", "Huỳnh Văn Phúc", "0901000007", "doan-phuong-my-tho"),
    ("organizer", "Nguyễn Hoàng Nam", "0901000008", "tinh-doan-dong-thap"),
]

# category, title, sizes ("" = no size), condition, quantity, description
ITEMS = [
    ("quan-ao", "Áo sơ mi trắng học sinh nam", ["S", "M", "L"], "like_new", 3,
     "Áo đồng phục trắng, cổ đứng, đã giặt sạch và ủi phẳng."),
    ("quan-ao", "Áo dài trắng nữ sinh", ["S", "M"], "good", 1,
     "Áo dài trắng kèm quần, hợp với học sinh THPT."),
    ("quan-ao", "Quần tây xanh đen", ["M", "L"], "good", 2, "Quần đồng phục, vải ít nhăn."),
    ("quan-ao", "Váy đồng phục ca rô", ["S"], "like_new", 1, "Váy xếp ly, mặc chưa tới một năm."),
    ("quan-ao", "Áo khoác gió chống nắng", ["M", "XL"], "good", 2,
     "Có mũ trùm, đi xe đạp đến trường không sợ nắng."),
    ("quan-ao", "Áo thun Đoàn Thanh niên", ["M", "L"], "new", 5,
     "Áo thun xanh in huy hiệu Đoàn, còn nguyên tem."),
    ("quan-ao", "Áo len cổ tròn", ["S"], "used", 1, "Áo len ấm cho mùa lạnh, hơi xù lông nhẹ."),
    ("quan-ao", "Bộ đồ thể dục", ["M"], "good", 2, "Áo thun và quần dài, màu xanh dương."),
    ("sach-vo", "Vở ô li 96 trang (lốc 10 cuốn)", [""], "new", 6, "Giấy trắng, ít lóa mắt."),
    ("sach-vo", "Vở kẻ ngang 200 trang", [""], "new", 10, "Bìa cứng, dùng cho cấp 2, cấp 3."),
    ("sach-vo", "Bộ sách giáo khoa lớp 6 – Kết nối tri thức", [""], "good", 2,
     "Đủ bộ, vài trang có ghi chú bút chì."),
    ("sach-vo", "Sách giáo khoa Toán 10", [""], "like_new", 3,
     "Bộ Chân trời sáng tạo, tập 1 và 2."),
    ("sach-vo", "Sách giáo khoa Ngữ văn 12", [""], "good", 2, "Tập 1 và tập 2."),
    ("sach-vo", "Từ điển Anh – Việt", [""], "good", 1, "Khoảng 75.000 từ, bìa cứng."),
    ("sach-vo", "Sách bài tập Tiếng Anh 8", [""], "like_new", 2, "Chưa viết vào bài tập nào."),
    ("sach-vo", "Truyện cổ tích Việt Nam (bộ 5 cuốn)", [""], "used", 1,
     "Có hình minh họa, hợp với các em tiểu học."),
    ("sach-vo", "Sách luyện thi vào lớp 10 môn Toán", [""], "good", 2, "Có đáp án chi tiết."),
    ("mu-non", "Nón lá", [""], "new", 4, "Nón lá làng nghề, che nắng che mưa đi học."),
    ("mu-non", "Mũ bảo hiểm nửa đầu", ["M", "L"], "good", 2, "Mũ đạt chuẩn, có kính chắn gió."),
    ("mu-non", "Mũ bảo hiểm trẻ em", [""], "like_new", 2,
     "Cho học sinh tiểu học ngồi xe máy cùng bố mẹ."),
    ("mu-non", "Mũ lưỡi trai", [""], "good", 3, "Màu xanh navy, chỉnh được vòng đầu."),
    ("mu-non", "Nón tai bèo", [""], "good", 1, "Vải rằn, vành rộng."),
    ("giay-dep", "Giày thể thao trắng", ["36", "38", "40", "42"], "good", 1,
     "Đế êm, đã vệ sinh sạch sẽ."),
    ("giay-dep", "Giày vải bata", ["37", "39"], "like_new", 2, "Giày bata trắng đi học."),
    ("giay-dep", "Dép quai hậu", ["35", "38"], "new", 3, "Quai chắc, đi học, đi mưa đều được."),
    ("giay-dep", "Giày búp bê nữ", ["36"], "good", 1, "Màu đen, mũi tròn."),
    ("giay-dep", "Dép tổ ong", ["40"], "used", 2, "Bền, nhẹ, dễ giặt."),
    ("giay-dep", "Ủng đi mưa", ["38"], "good", 1, "Cho mùa nước nổi, lội bùn không lo."),
    ("do-dung-hoc-tap", "Máy tính Casio fx-580VN X", [""], "good", 1,
     "Được mang vào phòng thi, pin còn tốt."),
    ("do-dung-hoc-tap", "Hộp bút chì màu 24 màu", [""], "new", 4, "Chưa bóc hộp."),
    ("do-dung-hoc-tap", "Bộ thước kẻ, com-pa, ê-ke", [""], "new", 5, "Đủ cho môn Toán, môn Vẽ."),
    ("do-dung-hoc-tap", "Bút bi (hộp 20 cây)", [""], "new", 6, "Mực xanh, viết êm."),
    ("do-dung-hoc-tap", "Hộp bút vải", [""], "like_new", 3, "Hai ngăn kéo khóa."),
    ("do-dung-hoc-tap", "Bảng con và phấn", [""], "good", 2, "Cho các em lớp 1, lớp 2."),
    ("do-dung-hoc-tap", "Đèn học để bàn LED", [""], "good", 1, "Ánh sáng dịu, đỡ mỏi mắt."),
    ("ba-lo-cap", "Ba lô học sinh chống gù", [""], "like_new", 2, "Quai đeo êm, nhiều ngăn."),
    ("ba-lo-cap", "Cặp sách tiểu học", [""], "good", 2, "Cặp hộp nhẹ, hình vui nhộn."),
    ("ba-lo-cap", "Ba lô laptop 15 inch", [""], "good", 1, "Có ngăn chống sốc cho máy tính."),
    ("ba-lo-cap", "Túi rút đựng đồ thể dục", [""], "new", 5, "Vải dù, chống thấm."),
    ("khac", "Áo mưa bộ", ["L"], "new", 3, "Áo mưa hai mảnh, đi học ngày mưa."),
    ("khac", "Xe đạp mini 20 inch", [""], "used", 1,
     "Cho học sinh cấp 2, đã thay lốp và má phanh."),
    ("khac", "Bình nước giữ nhiệt", [""], "new", 4, "500 ml, giữ lạnh cả buổi học."),
]


class DatabaseNotEmpty(Exception):
    """The demo only goes into a database without hubs."""


@dataclass(frozen=True)
class SeedResult:
    hubs: list[str]
    items: int
    accounts: list[tuple[str, str, str, str]]  # role, name, phone (E.164), unit name or ""
    password: str


def seed_demo(password: str = DEMO_PASSWORD) -> SeedResult:
    """Fill an empty database with the demo; raises DatabaseNotEmpty when hubs exist."""
    rng = random.Random(2025)
    saved: list[images.SavedImage] = []
    try:
        with write_transaction() as session:
            if session.scalar(select(Hub.id).limit(1)) is not None:
                raise DatabaseNotEmpty
            units: dict[str, Hub] = {}
            for spec in UNITS + HUBS:
                units[spec["slug"]] = _add_hub(session, spec, units.get(spec.get("parent")))
            hubs = [units[spec["slug"]] for spec in HUBS]
            accounts = [_add_account(session, role, name, phone, password, units.get(unit))
                        for role, name, phone, unit in ACCOUNTS]
            now, count = utcnow(), 0
            for hub, fields in _demo_items(hubs):
                photos = [images.save_image(png) for png in _pictures(fields, rng)]
                saved.extend(photos)
                item = catalog.add_item(session, hub.id, fields, photos)
                item.created_at = now - timedelta(minutes=rng.randint(30, 30 * 24 * 60))
                if count % 9 == 4:  # already given out: "Đã hết", the waitlist is open
                    item.available = 0
                count += 1
            _add_activity(session, hubs, rng, saved)
            _add_market(session, hubs, rng)
    except BaseException:
        images.delete_images(p.stem for p in saved)
        raise
    return SeedResult([h.name for h in hubs], count, accounts, password)


def _add_hub(session, spec: dict, parent: Hub | None) -> Hub:
    province = geo.find_province(spec["province"])
    phones = {key: normalize_vn_mobile(spec[key]) if key in spec else None
              for key in ("contact_phone", "zalo_phone")}
    hub = Hub(
        name=spec["name"], slug=spec["slug"], province_code=province,
        parent_id=parent.id if parent else None, level=spec.get("level", "base"),
        holds_stock="delivery_wards" in spec,
        ward_code=geo.find_ward(spec["ward"], province), pickup_place=spec["pickup_place"],
        pickup_hours=spec["pickup_hours"], weekly_limit=3, description=spec.get("description", ""),
        map_url=spec.get("map_url"), **phones,
        delivery_wards=[HubWard(ward_code=geo.find_ward(w, province))
                        for w in spec.get("delivery_wards", ())],
    )
    session.add(hub)
    session.flush()
    return hub


def _first_by_role(session) -> dict[str, int]:
    """role → the id of the first account of ACCOUNTS holding it (the first hub's staff)."""
    staff: dict[str, int] = {}
    for user in session.scalars(select(User).order_by(User.id)):
        for r in user.roles:
            staff.setdefault(r.role, user.id)
    return staff


def _add_account(session, role, name, phone, password, unit: Hub | None):
    user = User(name=name, phone=normalize_vn_mobile(phone))
    user.set_password(password)
    scoped = unit if role in HUB_ROLES else None
    user.roles.append(UserRole(role=role, hub_id=scoped.id if scoped else None))
    session.add(user)
    return role, name, user.phone, scoped.name if scoped else ""


def _demo_items(hubs: list[Hub]):
    """Items with a size alternate between the hubs; the others are stocked in both."""
    turn = 0
    for category, title, sizes, condition, quantity, description in ITEMS:
        for size in sizes:
            targets = hubs if not size else [hubs[turn % len(hubs)]]
            turn += bool(size)
            for hub in targets:
                yield hub, catalog.ItemFields(title, category, size, condition, quantity,
                                              description)


# ---------------------------------------------------------------- pictures

CANVAS = 800
PALETTE = [  # background, ink
    ((255, 236, 210), (214, 110, 20)), ((218, 236, 252), (10, 92, 173)),
    ((224, 244, 230), (27, 127, 59)), ((252, 226, 232), (196, 40, 60)),
    ((236, 228, 252), (104, 66, 180)), ((255, 246, 206), (170, 110, 0)),
]


def _pictures(fields: catalog.ItemFields, rng: random.Random) -> list[bytes]:
    """One picture, two for about a third of the items (the second turned a little)."""
    count = 2 if rng.random() < 0.33 else 1
    return [_picture(fields.category, fields.size, rng.choice(PALETTE), tilt=12 * k)
            for k in range(count)]


def _picture(category: str, size: str, colours, tilt: int = 0) -> bytes:
    bg, ink = colours
    img = Image.new("RGB", (CANVAS, CANVAS), bg)
    d = ImageDraw.Draw(img)
    d.ellipse((-220, 470, 380, 1070), fill=_mix(bg, (255, 255, 255), .55))
    d.ellipse((520, -180, 980, 280), fill=_mix(bg, ink, .12))
    shape = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    SHAPES.get(category, _gift)(ImageDraw.Draw(shape), ink, _mix(ink, (255, 255, 255), .55))
    if tilt:
        shape = shape.rotate(tilt, resample=Image.Resampling.BICUBIC, center=(400, 420))
    img.paste(shape, mask=shape)
    if size:
        font, unicode_ok = _font(72)
        text = size if unicode_ok else fold(size).upper()
        box = d.textbbox((0, 0), text, font=font)
        w, h = box[2] - box[0], box[3] - box[1]
        d.rounded_rectangle((CANVAS - w - 100, 40, CANVAS - 40, 80 + h + 20), radius=28,
                            fill=(255, 255, 255))
        d.text((CANVAS - w - 70, 60 - box[1]), text, font=font, fill=ink)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _mix(a, b, t: float):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def _font(size: int):
    """DejaVu (has Vietnamese letters) when installed, else Pillow's own font with ASCII text."""
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size), True
    except OSError:
        return ImageFont.load_default(size), False


def _shirt(d, ink, light):
    d.polygon([(270, 200), (345, 175), (400, 215), (455, 175), (530, 200), (650, 310), (585, 385),
               (540, 350), (540, 650), (260, 650), (260, 350), (215, 385), (150, 310)], fill=ink)
    d.polygon([(345, 175), (400, 215), (455, 175), (430, 170), (400, 190), (370, 170)], fill=light)
    for y in (300, 380, 460, 540):
        d.ellipse((392, y, 408, y + 16), fill=light)


def _notebook(d, ink, light):
    d.rounded_rectangle((250, 170, 590, 650), radius=24, fill=light)
    d.rounded_rectangle((230, 190, 570, 670), radius=24, fill=ink)
    d.rounded_rectangle((300, 300, 510, 400), radius=12, fill=(255, 255, 255))
    for y in (330, 365):
        d.line((325, y, 485, y), fill=light, width=8)
    for y in range(230, 650, 52):
        d.ellipse((212, y, 248, y + 28), outline=(255, 255, 255), width=7)


def _conical_hat(d, ink, light):
    d.ellipse((130, 500, 670, 590), fill=ink)
    d.polygon([(400, 160), (170, 545), (630, 545)], fill=light)
    for k in range(1, 5):
        y = 160 + k * 77
        half = (y - 160) * 230 / 385
        d.line((400 - half, y, 400 + half, y), fill=ink, width=6)
    d.arc((240, 470, 560, 700), 20, 160, fill=ink, width=8)


def _shoe(d, ink, light):
    d.polygon([(170, 470), (230, 330), (350, 320), (420, 410), (560, 440), (640, 490),
               (640, 560), (170, 560)], fill=ink)
    d.rounded_rectangle((150, 545, 660, 600), radius=22, fill=(255, 255, 255))
    d.rounded_rectangle((150, 545, 660, 600), radius=22, outline=light, width=6)
    for k in range(4):
        x = 300 + k * 40
        d.line((x, 360 + k * 14, x + 60, 395 + k * 14), fill=(255, 255, 255), width=9)


def _pencil_ruler(d, ink, light):
    d.rectangle((190, 330, 540, 420), fill=ink)
    d.rectangle((160, 330, 190, 420), fill=(240, 150, 170))
    d.polygon([(540, 330), (640, 375), (540, 420)], fill=(240, 205, 150))
    d.polygon([(610, 362), (640, 375), (610, 388)], fill=(60, 60, 60))
    d.line((190, 360, 540, 360), fill=light, width=6)
    d.line((190, 390, 540, 390), fill=light, width=6)
    d.rounded_rectangle((170, 480, 650, 570), radius=10, fill=light)
    for k in range(25):
        x = 190 + k * 18.5
        d.line((x, 480, x, 510 if k % 5 else 530), fill=ink, width=4)


def _backpack(d, ink, light):
    d.arc((330, 140, 470, 280), 180, 360, fill=ink, width=22)
    d.rounded_rectangle((240, 200, 560, 660), radius=80, fill=ink)
    d.rounded_rectangle((290, 420, 510, 610), radius=40, fill=light)
    d.line((310, 470, 490, 470), fill=ink, width=8)
    d.rounded_rectangle((375, 445, 425, 495), radius=10, fill=(255, 255, 255))


def _gift(d, ink, light):
    d.rectangle((230, 330, 570, 640), fill=ink)
    d.rectangle((210, 270, 590, 340), fill=light)
    d.rectangle((375, 270, 425, 640), fill=(255, 255, 255))
    d.ellipse((300, 190, 400, 280), outline=light, width=18)
    d.ellipse((400, 190, 500, 280), outline=light, width=18)


SHAPES = {
    "quan-ao": _shirt, "sach-vo": _notebook, "mu-non": _conical_hat, "giay-dep": _shoe,
    "do-dung-hoc-tap": _pencil_ruler, "ba-lo-cap": _backpack, "khac": _gift,
}


# ---------------------------------------------------------------- donations, requests, sign-ups

# donor, phone, handover, ward ("" = brought to the hub), days ago, status, lines:
# (description, category, size, declared condition, quantity, received, accepted, reason)
DONATIONS = [
    ("Cô Trần Thị Lan (phụ huynh lớp 11A2)", "0903111222", "bring", "", 1, "offered", [
        ("Áo dài trắng nữ sinh", "quan-ao", "M", "like_new", 2, None, None, None),
        ("Sách giáo khoa Toán 11", "sach-vo", "", "good", 3, None, None, None)]),
    ("Anh Lê Văn Phúc", "0903111333", "collect", "Xã Tân Phước 2", 2, "offered", [
        ("Xe đạp mini 20 inch", "khac", "", "used", 1, None, None, None)]),
    ("Chị Ngô Thị Hạnh", "0903111444", "bring", "", 4, "received", [
        ("Ba lô học sinh", "ba-lo-cap", "", "good", 2, None, None, None),
        ("Hộp bút vải", "do-dung-hoc-tap", "", "new", 5, None, None, None)]),
    ("Cựu học sinh khóa 2015", "0903111555", "bring", "", 20, "closed", [
        ("Giày bata trắng", "giay-dep", "39", "good", 3, 3, 2, "Một đôi bị bong đế"),
        ("Áo khoác đồng phục", "quan-ao", "L", "like_new", 2, 2, 2, None),
        ("Mũ len", "mu-non", "", "used", 2, 2, 0, "Mũ bị thủng, không dùng được")]),
]

# item title (first hub), method, ward ("" = no address), days ago, statuses after "submitted"
REQUESTS = [
    ("Giày bata trắng", "volunteer", "Xã Tân Phước 2", 16,
     ["approved", "packed", "out_for_delivery", "delivered"]),
    ("Áo sơ mi trắng học sinh nam", "pickup", "", 30,
     ["approved", "packed", "ready_for_pickup", "delivered"]),
    ("Từ điển Anh – Việt", "post", "Phường Ninh Kiều", 23,
     ["approved", "packed", "at_post_office", "delivered"]),
    ("Máy tính Casio fx-580VN X", "volunteer", "Xã Tân Phước 2", 9, ["cancelled"]),
    ("Đèn học để bàn LED", "pickup", "", 8, ["rejected"]),
    ("Nón lá", "volunteer", "Xã Tân Phước 2", 3, ["approved"]),
    ("Áo khoác gió chống nắng", "volunteer", "Xã Tân Phước 2", 6,
     ["approved", "packed", "out_for_delivery", "missed"]),
    ("Vở kẻ ngang 200 trang", "volunteer", "Xã Tân Phước 2", 1, []),
    ("Hộp bút chì màu 24 màu", "pickup", "", 0, []),
]
NOTES = {"rejected": "Món này dành cho học sinh cấp 1; bạn hãy chọn đèn khác khi có nhé.",
         "missed": "Không có ai ở nhà, đã gọi hai lần; giao lại thứ Bảy tới."}


def _add_activity(session, hubs: list[Hub], rng: random.Random,
                  saved: list[images.SavedImage]) -> None:
    """Donations at every stage, a student's requests over the last weeks, volunteer sign-ups."""
    hub, now = hubs[0], utcnow()
    staff = _first_by_role(session)
    volunteer = staff["volunteer"]
    for donor, phone, handover, ward, days, status, lines in DONATIONS:
        at = now - timedelta(days=days, hours=rng.randint(1, 9))
        donation = Donation(
            hub_id=hub.id, token=secrets.token_urlsafe(24), donor_name=donor,
            phone=normalize_vn_mobile(phone), handover=handover, consent_at=at, created_at=at,
            province_code=hub.province_code if ward else None,
            ward_code=geo.find_ward(ward, hub.province_code) if ward else None,
            street="Ấp Tân Hòa, gần chợ" if ward else None, status=status,
            received_at=at + timedelta(days=1) if status != "offered" else None,
            received_by_id=volunteer if status != "offered" else None,
            closed_at=at + timedelta(days=2) if status == "closed" else None)
        session.add(donation)
        for description, category, size, condition, quantity, got, good, reason in lines:
            photo = images.save_image(_picture(category, size, rng.choice(PALETTE)))
            saved.append(photo)
            line = DonationLine(
                description=description, category=category, size=size, condition=condition,
                quantity=quantity, received_quantity=got, accepted_quantity=good, reason=reason,
                status="pending" if good is None else "listed" if good else "rejected",
                seen_condition=condition if good else None,
                inspected_by_id=volunteer if got is not None else None,
                photos=[DonationPhoto(stem=photo.stem, width=photo.width, height=photo.height)])
            donation.lines.append(line)
            if good:
                session.flush()
                item = catalog.add_item(session, hub.id, catalog.ItemFields(
                    description, category, size, condition, good), [photo])
                item.donation_line_id, item.created_at = line.id, at + timedelta(days=2)
    session.flush()

    student = staff["student"]
    items = {i.title: i for i in session.scalars(select(Item).where(Item.hub_id == hub.id,
                                                                    Item.available > 0))}
    name, phone = "Nguyễn Thị Mai", normalize_vn_mobile(ACCOUNTS[0][2])
    for title, method, ward, days, statuses in REQUESTS:
        item, at = items[title], now - timedelta(days=days, hours=rng.randint(1, 6))
        ward_code = geo.find_ward(ward) if ward else None
        req = ItemRequest(
            code=new_code(), user_id=student, hub_id=hub.id, method=method, recipient_name=name,
            phone=phone, ward_code=ward_code, province_code=geo.find_province(
                "Cần Thơ" if ward == "Phường Ninh Kiều" else "Đồng Tháp") if ward else None,
            street="Ấp Tân Hòa" if ward else None, consent_at=at, created_at=at,
            lines=[RequestLine(item_id=item.id)],
            events=[RequestEvent(status="submitted", created_at=at)])
        for k, status in enumerate(statuses, start=1):
            req.events.append(RequestEvent(
                status=status, actor_id=None if status == "cancelled" else volunteer,
                note=NOTES.get(status, ""), created_at=at + timedelta(hours=20 * k)))
            req.status = AFTER_MISSED if status == "missed" else status
        if req.status not in RELEASED_STATUSES:
            item.available -= 1
        req.reject_reason = NOTES["rejected"] if req.status == "rejected" else None
        session.add(req)
    for day in delivery_days(hub)[:2]:
        session.add(VolunteerSignup(hub_id=hub.id, user_id=volunteer, date=day))


# ---------------------------------------------------------------- Phiên chợ 4.0 (issue #5)

# The seeded vendor's start-up and its products: name, category, price (đồng), stock, description
VENDOR_SHOP = ("Nón lá & bánh tráng Tân Phước", "970436", "1023456789", "LE THI THU",
               ("Ba thế hệ làm nón lá và bánh tráng phơi sương ở Tân Phước. Mỗi chiếc nón bán ra "
                "giúp các cô chú trong ấp có thêm thu nhập."))
VENDOR_PRODUCTS = [
    ("Nón lá bài thơ", "thu-cong", 60_000, 25, "Nón lá chằm tay, có in bài thơ khi soi nắng."),
    ("Bánh tráng phơi sương (xấp 10 cái)", "thuc-pham", 35_000, 40, "Dẻo, thơm, cuốn rau sống."),
    ("Mứt khóm Tân Phước (hũ 300 g)", "nong-san", 45_000, 30, "Khóm Tân Phước sên tay, ít đường."),
    ("Túi cói đi học", "thu-cong", 90_000, 12, "Túi cói đan tay, có lót vải."),
]
# Participants of the demo event: name, phone, first time paying by QR?, payments (điểm)
MARKET_PARTICIPANTS = [
    ("Nguyễn Văn Bình", "0902000101", True, [35_000, 20_000]),
    ("Trần Thị Cúc", "0902000102", False, [60_000]),
    ("Lê Hoàng Duy", "0902000103", True, [45_000, 35_000, 10_000]),
    ("Phạm Ngọc Hân", "0902000104", True, []),
    ("Võ Minh Khang", "0902000105", False, [90_000]),
]


def _add_market(session, hubs: list[Hub], rng: random.Random) -> None:
    """The seeded vendor gets an approved start-up with products, and a week-long Phiên chợ 4.0
    of the first hub (open from an hour ago) has its booth number 1 with a few practice payments,
    each kept in the ledger exactly as services.wallets would."""
    hub, now = hubs[0], utcnow()
    staff = _first_by_role(session)
    name, bank_bin, account, holder, story = VENDOR_SHOP
    vendor = Vendor(user_id=staff["vendor"], hub_id=hub.id, business_name=name, story=story,
                    bank_bin=bank_bin, account_number=account, account_holder=holder,
                    status="approved", reviewed_by_id=staff["organizer"], reviewed_at=now)
    session.add(vendor)
    session.flush()
    for title, category, price, stock, description in VENDOR_PRODUCTS:
        fields = vendors.ProductFields(title, category, price, stock, description)
        session.add(Product(vendor_id=vendor.id, name=title, category=category, price=price,
                            stock=stock, description=description, links=[],
                            search_text=vendors.search_text_for(vendor, fields)))
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    event = MarketEvent(hub_id=hub.id, name="Phiên chợ 4.0 — Tuần lễ khởi nghiệp Tân Phước",
                        place="Sân trường THPT Nguyễn Văn Tiếp, dãy A", starts_at=start,
                        ends_at=start + timedelta(days=7), practice_credit=100_000,
                        created_by_id=staff["organizer"])
    session.add(event)
    session.flush()
    booth = Booth(event_id=event.id, vendor_id=vendor.id, number=1, status="accepted",
                  answered_at=now)
    booth_wallet = Wallet(event_id=event.id, booth=booth, name=name)
    session.add_all([booth, booth_wallet])
    session.flush()
    minute = 0
    for person, phone, first_qr, paid in MARKET_PARTICIPANTS:
        wallet = Wallet(event_id=event.id, name=person, phone=normalize_vn_mobile(phone),
                        first_qr=first_qr, balance=event.practice_credit - sum(paid))
        session.add(wallet)
        session.flush()
        session.add(Transfer(event_id=event.id, kind="credit", to_wallet_id=wallet.id,
                             amount=event.practice_credit, idempotency_key=f"credit:{wallet.id}",
                             created_at=start + timedelta(minutes=minute)))
        for amount in paid:
            minute += rng.randint(3, 9)
            session.add(Transfer(event_id=event.id, kind="payment", from_wallet_id=wallet.id,
                                 to_wallet_id=booth_wallet.id, amount=amount, via="phone",
                                 idempotency_key=secrets.token_urlsafe(18),
                                 created_at=start + timedelta(minutes=minute)))
            booth_wallet.balance += amount
