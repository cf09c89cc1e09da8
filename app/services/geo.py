"""The 2025 two-level administrative units (34 provinces/cities and their wards/communes)."""
import re
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from vietnam_provinces import Province, Ward

from .text import fold

_KIND_PREFIX = re.compile(r"^(thanh pho|tinh) ")


def sort_key(name: str) -> str:
    """A province as people look for it: "Thành phố Cần Thơ" under C (folded, without its
    "Thành phố"/"Tỉnh")."""
    return _KIND_PREFIX.sub("", fold(name))


@lru_cache(maxsize=1)
def provinces() -> list[tuple[int, str]]:
    """(code, name) of every province/city, sorted the Vietnamese way (see sort_key)."""
    return sorted(((int(p.code), p.name) for p in Province.iter_all()),
                  key=lambda p: sort_key(p[1]))


@lru_cache(maxsize=1)
def _wards_by_province() -> dict[int, list[tuple[int, str]]]:
    out: dict[int, list[tuple[int, str]]] = {}
    for w in Ward.iter_all():
        out.setdefault(int(w.province_code), []).append((int(w.code), w.name))
    for wards in out.values():
        wards.sort(key=lambda w: fold(w[1]))
    return out


@lru_cache(maxsize=1)
def _ward_index() -> dict[int, tuple[str, int]]:
    return {int(w.code): (w.name, int(w.province_code)) for w in Ward.iter_all()}


def wards_of(province_code: int | None) -> list[tuple[int, str]]:
    return _wards_by_province().get(province_code or 0, [])


def province_name(code: int | None) -> str:
    return dict(provinces()).get(code or 0, "")


def ward_name(code: int | None) -> str:
    entry = _ward_index().get(code or 0)
    return entry[0] if entry else ""


def ward_in_province(ward_code: int | None, province_code: int | None) -> bool:
    entry = _ward_index().get(ward_code or 0)
    return entry is not None and entry[1] == province_code


def address_problem(province_code: int | None, ward_code: int | None) -> tuple[str, str] | None:
    """What is wrong with an address chosen from the 2025 list, as (form field, message); None
    when the ward is one of the province's."""
    if not province_name(province_code):
        return "province_code", _l("Vui lòng chọn tỉnh/thành phố trong danh sách.")
    if not ward_code:
        return "ward_code", _l("Vui lòng chọn phường/xã.")
    if not ward_in_province(ward_code, province_code):
        return "ward_code", _l("Phường/xã không thuộc tỉnh/thành phố đã chọn.")
    return None


def place_label(ward_code: int | None, province_code: int | None) -> str:
    """"Xã Tân Phước 1, Đồng Tháp"."""
    return ", ".join(p for p in (ward_name(ward_code), province_name(province_code)) if p)


def find_ward(name: str, province_code: int | None = None) -> int | None:
    """Ward code by (folded) name, optionally within a province; used by seeds and imports."""
    target = fold(name)
    for code, (wname, pcode) in _ward_index().items():
        if fold(wname) == target and (province_code is None or pcode == province_code):
            return code
    return None


def find_province(name: str) -> int | None:
    target = fold(name)
    for code, pname in provinces():
        if fold(pname) == target or fold(pname).removeprefix("thanh pho ") == target:
            return code
    return None
