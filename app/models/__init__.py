"""All models, imported here so Alembic sees every table."""
from .hub import Hub, HubWard
from .item import Item, ItemPhoto
from .notification import Notification
from .request import ItemRequest, RequestEvent, RequestLine, WaitlistEntry
from .user import User, UserRole

__all__ = [
    "Hub", "HubWard", "Item", "ItemPhoto", "Notification", "ItemRequest", "RequestEvent",
    "RequestLine", "WaitlistEntry", "User", "UserRole",
]
