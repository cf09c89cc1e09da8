"""Hubs: the union units that hold stock. New hubs take the installation's defaults (config)."""
import re
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from ..database import write_transaction
from ..models import Hub, HubWard
from . import geo
from .text import clean_line, fold


class HubError(ValueError):
    pass


@dataclass(frozen=True)
class HubSpec:
    name: str
    province: str  # a name ("Đồng Tháp") or a code
    ward: str
    pickup_place: str
    pickup_hours: str
    delivery_wards: list[str] = field(default_factory=list)
    weekly_limit: int | None = None


def _province_code(value: str) -> int:
    code = int(value) if value.isdigit() else geo.find_province(value)
    if not code or not geo.province_name(code):
        raise HubError(f"Không có tỉnh/thành phố “{value}” trong danh sách 34 đơn vị từ 1/7/2025.")
    return code


def _ward_code(value: str, province: int) -> int:
    code = int(value) if value.isdigit() else geo.find_ward(value, province)
    if not code or not geo.ward_in_province(code, province):
        raise HubError(f"“{value}” không phải phường/xã của {geo.province_name(province)}.")
    return code


def create_hub(spec: HubSpec) -> Hub:
    """Validate the place names against the 2025 list and create the hub with config defaults."""
    name = clean_line(spec.name, 160)
    if not name or not clean_line(spec.pickup_place, 255):
        raise HubError("Cần tên điểm phát và nơi nhận đồ.")
    province = _province_code(spec.province)
    ward = _ward_code(spec.ward, province)
    served = {_ward_code(w, province) for w in spec.delivery_wards}
    base = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:70] or "diem-phat"
    cfg = current_app.config
    with write_transaction() as session:
        slug, n = base, 1
        while session.scalar(select(Hub.id).where(Hub.slug == slug)):  # a namesake: -2, -3, …
            n += 1
            slug = f"{base}-{n}"
        hub = Hub(
            name=name, slug=slug, province_code=province, ward_code=ward,
            pickup_place=clean_line(spec.pickup_place, 255),
            pickup_hours=clean_line(spec.pickup_hours, 120),
            weekly_limit=spec.weekly_limit or cfg["HUB_DEFAULT_WEEKLY_LIMIT"],
            delivery_weekday=cfg["HUB_DEFAULT_DELIVERY_WEEKDAY"],
            retention_days=cfg["HUB_DEFAULT_RETENTION_DAYS"],
            delivery_wards=[HubWard(ward_code=w) for w in sorted(served)],
        )
        session.add(hub)
    return hub
