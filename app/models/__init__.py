"""All models, imported here so Alembic sees every table."""
from . import search  # noqa: F401  (the full-text index, created with the items table)
from .audit import AuditEntry
from .delivery import DeliveryRun, OfflineAction, Route, RunStop
from .donation import Donation, DonationLine, DonationPhoto
from .hub import Hub, HubWard
from .item import Item, ItemPhoto
from .market import Booth, BoothSale, MarketEvent, Transfer, Wallet
from .message import MessageAttempt, OutboundMessage
from .notification import Notification
from .request import ItemRequest, RequestEvent, RequestLine, WaitlistEntry
from .signup import VolunteerSignup
from .user import Invitation, OneTimeCode, User, UserRole, UserSession
from .vendor import BankTransaction, Order, OrderLine, Product, ProductPhoto, Vendor

__all__ = [
    "AuditEntry",
    "BankTransaction",
    "Booth",
    "BoothSale",
    "DeliveryRun",
    "Donation",
    "DonationLine",
    "DonationPhoto",
    "Hub",
    "Invitation",
    "HubWard",
    "Item",
    "ItemPhoto",
    "ItemRequest",
    "MarketEvent",
    "MessageAttempt",
    "Notification",
    "OfflineAction",
    "OutboundMessage",
    "OneTimeCode",
    "Order",
    "OrderLine",
    "Product",
    "ProductPhoto",
    "RequestEvent",
    "RequestLine",
    "Route",
    "RunStop",
    "Transfer",
    "User",
    "UserRole",
    "UserSession",
    "Vendor",
    "VolunteerSignup",
    "WaitlistEntry",
    "Wallet",
]
