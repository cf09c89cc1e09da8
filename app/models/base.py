from datetime import datetime, timezone


def utcnow() -> datetime:
    """Naive UTC now (the database stores UTC), used as a callable column default."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
