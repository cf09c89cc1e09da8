"""Display helpers: money in đồng, Vietnamese dates; reading an amount people type."""
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def format_vnd(amount: int | None) -> str:
    """50000 → "50.000 ₫" (integer đồng, dot thousands separator)."""
    return f"{int(amount or 0):,} ₫".replace(",", ".")


_MONEY = re.compile(
    r"(?P<sign>-)?(?P<number>\d{1,3}(?:[.,\s]\d{3})+|\d+(?:[.,]\d{1,3})?)\s*"
    r"(?P<unit>k|nghìn|nghin|ngàn|ngan|tr|triệu|trieu)?\s*(?:₫|đ|đồng|dong|vnđ|vnd)?",
    re.IGNORECASE)
_UNITS = {"k": 1_000, "nghìn": 1_000, "nghin": 1_000, "ngàn": 1_000, "ngan": 1_000,
          "tr": 1_000_000, "triệu": 1_000_000, "trieu": 1_000_000}


def parse_vnd(text: str | None) -> int | None:
    """What people type for an amount of đồng, as an integer, else None: "25000", "25.000",
    "25,000 ₫", "25 000đ", "25k", "25K", "1,5tr", "1.5 triệu", "50 nghìn". Separators between
    groups of three digits are thousands; a decimal part only with a unit (k, nghìn, tr)."""
    match = _MONEY.fullmatch((text or "").strip())
    if not match:
        return None
    number, unit = match["number"], (match["unit"] or "").lower()
    scale, sign = _UNITS.get(unit, 1), -1 if match["sign"] else 1  # a negative one is refused
    if re.fullmatch(r"\d{1,3}(?:[.,\s]\d{3})+", number):              # by the rules, clearly
        return sign * int(re.sub(r"\D", "", number)) * scale
    whole, _, decimals = number.replace(",", ".").partition(".")
    if decimals and not unit:
        return None  # "25.5" of đồng: not an amount
    fraction = int(decimals) * scale // 10 ** len(decimals) if decimals else 0
    return sign * (int(whole) * scale + fraction)


def to_local(dt_utc: datetime) -> datetime:
    return dt_utc.replace(tzinfo=UTC).astimezone(VN_TZ)


def local_today(now_utc: datetime | None = None) -> date:
    now = now_utc or datetime.now(UTC).replace(tzinfo=None)
    return to_local(now).date()


def local_midnight_utc(day: date) -> datetime:
    """The UTC instant (naive) at which `day` starts in Vietnam."""
    return datetime(day.year, day.month, day.day, tzinfo=VN_TZ).astimezone(UTC).replace(
        tzinfo=None
    )


def next_weekday(day: date, weekday: int, include_today: bool = True) -> date:
    ahead = (weekday - day.weekday()) % 7
    if ahead == 0 and not include_today:
        ahead = 7
    return day + timedelta(days=ahead)
