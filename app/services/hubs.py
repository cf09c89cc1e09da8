"""Union units and the hubs among them (units that hold stock): creating a unit below another,
editing its settings and the wards its volunteers deliver to, the tree an organizer sees.

New units take the installation's defaults (config). The same checks serve `flask hub create` and
the organizers' pages (app/units): places from the 2025 list, a child in its parent's province,
phones as Vietnamese numbers stored E.164, a map link over https only."""
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..database import write_transaction
from ..extensions import db
from ..models import Hub, HubWard, Item, User
from ..models.hub import LEVELS
from . import geo
from .errors import ServiceError
from .phones import InvalidPhone, display_phone, normalize_vn_mobile
from .text import clean_block, clean_line, fold

LEVEL_LABELS = {"province": _l("Tỉnh Đoàn"), "commune": _l("Đoàn xã/phường"),
                "base": _l("Đoàn cơ sở")}
WEEKDAYS = (_l("Thứ Hai"), _l("Thứ Ba"), _l("Thứ Tư"), _l("Thứ Năm"), _l("Thứ Sáu"),
            _l("Thứ Bảy"), _l("Chủ nhật"))  # Monday=0, as date.weekday()
LIMITS = {  # field: (lowest, highest)
    "stops_per_route": (1, 100), "weekly_limit": (1, 50), "retention_days": (1, 365),
    "cutoff_minutes": (0, 24 * 60 - 1),
}
MAX_MAP_URL = 500


class HubError(ServiceError):
    """A unit that cannot be saved; `field` names the form field the message belongs to."""


def child_levels(parent_level: str | None) -> tuple[str, ...]:
    """The levels a unit below a `parent_level` unit may have: any lower one (a base union may
    have base unions below it: a school's classes' unions)."""
    if parent_level not in LEVELS:
        return LEVELS
    lower = LEVELS[LEVELS.index(parent_level) + 1:]
    return lower or ("base",)


# ---------------------------------------------------------------- checks

def _province_code(value: str) -> int:
    value = (value or "").strip()
    code = int(value) if value.isdigit() else geo.find_province(value)
    if not code or not geo.province_name(code):
        raise HubError(_l("Không có tỉnh/thành phố “%(name)s” trong danh sách 34 đơn vị từ "
                          "1/7/2025.", name=value), "province")
    return code


def _ward_code(value: str, province: int, field_name: str = "ward_code") -> int:
    value = str(value or "").strip()
    code = int(value) if value.isdigit() else geo.find_ward(value, province)
    if not code or not geo.ward_in_province(code, province):
        shown = geo.ward_name(int(value)) if value.isdigit() else value
        raise HubError(_l("“%(ward)s” không phải phường/xã của %(province)s.",
                          ward=shown or value, province=geo.province_name(province)), field_name)
    return code


def _phone(value: str | None, field_name: str) -> str | None:
    if not (value or "").strip():
        return None
    try:
        return normalize_vn_mobile(value)
    except InvalidPhone as exc:
        raise HubError(exc.args[0], field_name) from None


def check_map_url(value: str | None) -> str | None:
    """A map link: an https URL with a host (Google Maps, OpenStreetMap, ...), or None.
    javascript:, data:, http: and anything with spaces or control characters are refused."""
    value = (value or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if len(value) > MAX_MAP_URL or parts.scheme.lower() != "https" or not parts.hostname \
            or re.search(r"[\s\x00-\x1f\x7f<>\"'\\]", value) or parts.username or parts.password:
        raise HubError(_l("Đường dẫn bản đồ phải là một liên kết https://, ví dụ "
                          "https://maps.app.goo.gl/…"), "map_url")
    return value


def _required(value: str, max_len: int, field_name: str, message) -> str:
    cleaned = clean_line(value, max_len)
    if not cleaned:
        raise HubError(message, field_name)
    return cleaned


def _checked_number(value: int | None, field_name: str) -> int:
    low, high = LIMITS[field_name]
    if value is None or not low <= value <= high:
        raise HubError(_l("Nhập một số từ %(low)s đến %(high)s.", low=low, high=high), field_name)
    return value


def _weekday(value: int | None, field_name: str) -> int:
    if value is None or not 0 <= value <= 6:
        raise HubError(_l("Vui lòng chọn một ngày trong tuần."), field_name)
    return value


def _slug(session, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:70] or "diem-phat"
    slug, n = base, 1
    while session.scalar(select(Hub.id).where(Hub.slug == slug)):  # a namesake: -2, -3, …
        n += 1
        slug = f"{base}-{n}"
    return slug


def _organizes(actor_id: int | None, hub_id: int) -> bool:
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    return actor is not None and actor.has_role("organizer", hub_id)


# ---------------------------------------------------------------- creating a unit

@dataclass(frozen=True)
class HubSpec:
    name: str
    province: str  # a name ("Đồng Tháp") or a code; "" below a parent: the parent's
    ward: str  # a name or a code
    pickup_place: str
    pickup_hours: str
    delivery_wards: list[str] = field(default_factory=list)
    weekly_limit: int | None = None
    parent_id: int | None = None
    level: str = "base"  # LEVELS
    holds_stock: bool = True
    contact_phone: str = ""
    zalo_phone: str = ""
    map_url: str = ""
    description: str = ""


def create_hub(spec: HubSpec, actor_id: int | None = None) -> Hub:
    """Validate the unit against the 2025 list and its parent, and create it with the config's
    defaults. `actor_id` (the organizers' pages) must organize the parent; None is the command
    line. Raises HubError (nothing saved) or LookupError (a parent the actor may not use)."""
    name = _required(spec.name, 160, "name", _l("Cần tên đơn vị."))
    place = _required(spec.pickup_place, 255, "pickup_place", _l("Cần nơi nhận đồ."))
    if spec.level not in LEVELS:
        raise HubError(_l("Vui lòng chọn cấp của đơn vị."), "level")
    parent = None
    if spec.parent_id is not None:
        parent = db.session.get(Hub, spec.parent_id)
        if parent is None or (actor_id is not None and not _organizes(actor_id, parent.id)):
            raise LookupError(spec.parent_id)
        if spec.level not in child_levels(parent.level):
            raise HubError(_l("Đơn vị dưới một %(parent)s không thể là %(level)s.",
                              parent=LEVEL_LABELS[parent.level],
                              level=LEVEL_LABELS[spec.level]), "level")
    elif actor_id is not None:
        raise LookupError(None)  # the top of a tree is made on the command line
    province = _province_code(spec.province) if spec.province.strip() or parent is None \
        else parent.province_code
    if parent is not None and province != parent.province_code:
        raise HubError(_l("Đơn vị phải ở cùng tỉnh/thành phố với đơn vị cấp trên (%(province)s).",
                          province=geo.province_name(parent.province_code)), "province")
    ward = _ward_code(spec.ward, province)
    served = {_ward_code(w, province, "delivery_wards") for w in spec.delivery_wards}
    contact = _phone(spec.contact_phone, "contact_phone")
    zalo = _phone(spec.zalo_phone, "zalo_phone")
    map_url = check_map_url(spec.map_url)
    cfg = current_app.config
    with write_transaction() as session:
        hub = Hub(
            name=name, slug=_slug(session, name), parent_id=parent.id if parent else None,
            level=spec.level, holds_stock=spec.holds_stock,
            province_code=province, ward_code=ward, pickup_place=place,
            pickup_hours=clean_line(spec.pickup_hours, 120),
            description=clean_block(spec.description, 4000),
            contact_phone=contact, zalo_phone=zalo, map_url=map_url,
            weekly_limit=spec.weekly_limit or cfg["HUB_DEFAULT_WEEKLY_LIMIT"],
            delivery_weekday=cfg["HUB_DEFAULT_DELIVERY_WEEKDAY"],
            retention_days=cfg["HUB_DEFAULT_RETENTION_DAYS"],
            delivery_wards=[HubWard(ward_code=w) for w in sorted(served)],
        )
        session.add(hub)
    return hub


# ---------------------------------------------------------------- editing a unit

@dataclass(frozen=True)
class HubSettings:
    """Everything an organizer edits on a unit's settings page (its wards have their own page)."""
    name: str
    pickup_place: str
    pickup_hours: str
    description: str = ""
    contact_phone: str = ""  # as typed: "0912 345 678"
    zalo_phone: str = ""
    map_url: str = ""
    delivery_weekday: int = 5
    cutoff_weekday: int = 3
    cutoff_minutes: int = 20 * 60
    stops_per_route: int = 12
    weekly_limit: int = 3
    retention_days: int = 30
    holds_stock: bool = True


def settings_of(hub: Hub) -> HubSettings:
    return HubSettings(
        hub.name, hub.pickup_place, hub.pickup_hours, hub.description or "",
        display_phone(hub.contact_phone), display_phone(hub.zalo_phone), hub.map_url or "",
        hub.delivery_weekday, hub.cutoff_weekday, hub.cutoff_minutes, hub.stops_per_route,
        hub.weekly_limit, hub.retention_days, hub.holds_stock)


def _checked_settings(s: HubSettings) -> dict:
    return {
        "name": _required(s.name, 160, "name", _l("Cần tên đơn vị.")),
        "pickup_place": _required(s.pickup_place, 255, "pickup_place", _l("Cần nơi nhận đồ.")),
        "pickup_hours": clean_line(s.pickup_hours, 120),
        "description": clean_block(s.description, 4000),
        "contact_phone": _phone(s.contact_phone, "contact_phone"),
        "zalo_phone": _phone(s.zalo_phone, "zalo_phone"),
        "map_url": check_map_url(s.map_url),
        "delivery_weekday": _weekday(s.delivery_weekday, "delivery_weekday"),
        "cutoff_weekday": _weekday(s.cutoff_weekday, "cutoff_weekday"),
        "cutoff_minutes": _checked_number(s.cutoff_minutes, "cutoff_minutes"),
        "stops_per_route": _checked_number(s.stops_per_route, "stops_per_route"),
        "weekly_limit": _checked_number(s.weekly_limit, "weekly_limit"),
        "retention_days": _checked_number(s.retention_days, "retention_days"),
        "holds_stock": bool(s.holds_stock),
    }


def update_hub(actor_id: int, hub_id: int, settings: HubSettings) -> Hub:
    """An organizer of the unit (or above it, or an admin) changes its settings. Raises
    LookupError for a unit they do not organize, HubError for a bad value (nothing saved)."""
    if db.session.get(Hub, hub_id) is None or not _organizes(actor_id, hub_id):
        raise LookupError(hub_id)
    values = _checked_settings(settings)
    with write_transaction() as session:
        hub = session.get(Hub, hub_id)
        if hub.holds_stock and not values["holds_stock"]:
            listed = session.scalar(select(func.count()).select_from(Item).where(
                Item.hub_id == hub_id, Item.is_listed.is_(True)))
            if listed:
                raise HubError(_l("Đơn vị đang có %(n)s món đồ trên trang đồ tặng: hãy gỡ các "
                                  "món đó trước khi thôi giữ đồ.", n=listed), "holds_stock")
        for key, value in values.items():
            if getattr(hub, key) != value:
                setattr(hub, key, value)
    return hub


def set_delivery_wards(actor_id: int, hub_id: int, ward_codes: Iterable[int]) -> Hub:
    """The wards the unit's volunteers deliver to by hand: each one of the unit's province, else
    HubError and nothing saved. Raises LookupError for a unit the actor does not organize."""
    hub = db.session.get(Hub, hub_id)
    if hub is None or not _organizes(actor_id, hub_id):
        raise LookupError(hub_id)
    wanted = set()
    for code in ward_codes:
        if not geo.ward_in_province(code, hub.province_code):
            raise HubError(_l("Chỉ chọn phường/xã của %(province)s.",
                              province=geo.province_name(hub.province_code)), "wards")
        wanted.add(code)
    with write_transaction() as session:
        hub = session.get(Hub, hub_id)
        have = {w.ward_code: w for w in hub.delivery_wards}
        for code, ward in have.items():
            if code not in wanted:
                hub.delivery_wards.remove(ward)
        for code in sorted(wanted - set(have)):
            hub.delivery_wards.append(HubWard(ward_code=code))
    return hub


# ---------------------------------------------------------------- what an organizer sees

@dataclass
class Node:
    hub: Hub
    children: list["Node"] = field(default_factory=list)


def organized_ids(user: User) -> set[int] | None:
    """The units `user` organizes, with every unit below them (None: every unit, an admin)."""
    return user.hub_ids_for("organizer")


def organized_units(user: User) -> list[Hub]:
    ids = organized_ids(user)
    stmt = select(Hub).order_by(Hub.name)
    if ids is not None:
        stmt = stmt.where(Hub.id.in_(ids))
    return list(db.session.scalars(stmt))


def unit_for(user: User, hub_id: int) -> Hub | None:
    """The unit if `user` organizes it (or a unit above it), else None (callers answer 404)."""
    hub = db.session.get(Hub, hub_id)
    return hub if hub is not None and user.has_role("organizer", hub.id) else None


def tree(units: list[Hub]) -> list[Node]:
    """The units as a forest: each unit under its parent when the parent is among them; roots and
    siblings by name (folded, the Vietnamese way)."""
    nodes = {h.id: Node(h) for h in sorted(units, key=lambda h: fold(h.name))}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.hub.parent_id)
        (parent.children if parent else roots).append(node)
    return roots


def children_of(hub_id: int) -> list[Hub]:
    return sorted(db.session.scalars(select(Hub).where(Hub.parent_id == hub_id)),
                  key=lambda h: fold(h.name))

