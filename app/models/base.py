from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC now (the database stores UTC), used as a callable column default."""
    return datetime.now(UTC).replace(tzinfo=None)
