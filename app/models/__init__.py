"""All models, imported here so Alembic sees every table."""
from .hub import Hub, HubWard
from .item import Item, ItemPhoto
from .notification import Notification
from .request import ItemRequest, RequestEvent, RequestLine, WaitlistEntry
from .user import User, UserRole
from .vendor import BankTransaction, Order, OrderLine, Product, ProductPhoto, Vendor

__all__ = [
    "Hub", "HubWard", "Item", "ItemPhoto", "Notification", "ItemRequest", "RequestEvent",
    "RequestLine", "WaitlistEntry", "User", "UserRole",
    "Vendor", "Product", "ProductPhoto", "Order", "OrderLine", "BankTransaction",
]
