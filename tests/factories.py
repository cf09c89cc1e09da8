"""Small factories for tests: they write straight through the session and commit."""
import itertools

from app.extensions import db
from app.models import Hub, HubWard, Item, User, UserRole
from app.services import geo
from app.services.catalog import search_fields

_seq = itertools.count(1)

# Đồng Tháp (since 2025 it includes the old Tiền Giang) and two of its communes.
DONG_THAP = geo.find_province("Đồng Tháp")
TAN_PHUOC_1 = geo.find_ward("Xã Tân Phước 1", DONG_THAP)
TAN_PHUOC_2 = geo.find_ward("Xã Tân Phước 2", DONG_THAP)
HA_NOI = geo.find_province("Hà Nội")
HOAN_KIEM = geo.find_ward("Phường Hoàn Kiếm", HA_NOI)
PASSWORD = "matkhau-123"


def unique_phone() -> str:
    return f"+849{next(_seq):08d}"


def make_user(roles=("student",), hub=None, name="Nguyễn Văn An", phone=None) -> User:
    user = User(name=name, phone=phone or unique_phone())
    user.set_password(PASSWORD)
    for role in roles:
        scoped = hub.id if hub is not None and role in ("volunteer", "organizer", "vendor") \
            else None
        user.roles.append(UserRole(role=role, hub_id=scoped))
    db.session.add(user)
    db.session.commit()
    return user


def login_id(user: User) -> str:
    """What Flask-Login keeps in a signed-in session for `user`: its id and an open session's
    token (services.sessions), for tests that plant a session by hand."""
    from app.services import sessions
    return f"{user.id}:{sessions.start(user.id)}"


def make_hub(name=None, weekly_limit=3, wards=(TAN_PHUOC_1,), **kw) -> Hub:
    n = next(_seq)
    hub = Hub(
        name=name or f"Đoàn trường THPT số {n}", slug=f"hub-{n}",
        province_code=kw.pop("province_code", DONG_THAP),
        ward_code=kw.pop("ward_code", TAN_PHUOC_1),
        pickup_place=kw.pop("pickup_place", "Phòng Đoàn, dãy A"), pickup_hours="16:30–17:30",
        weekly_limit=weekly_limit, **kw,
    )
    hub.delivery_wards = [HubWard(ward_code=w) for w in wards]
    db.session.add(hub)
    db.session.commit()
    return hub


def make_item(hub, title="Giày thể thao", category="giay-dep", size="38", quantity=1,
              available=None, condition="good", description="") -> Item:
    item = Item(
        hub_id=hub.id, title=title, category=category, size=size, condition=condition,
        quantity=quantity, available=quantity if available is None else available,
        description=description, **search_fields(title, category, size, description),
    )
    db.session.add(item)
    db.session.commit()
    return item
