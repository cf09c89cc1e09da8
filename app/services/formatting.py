"""Display helpers: money in đồng, Vietnamese dates."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def format_vnd(amount: int | None) -> str:
    """50000 → "50.000 ₫" (integer đồng, dot thousands separator)."""
    return f"{int(amount or 0):,} ₫".replace(",", ".")


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
