"""All models, imported here so Alembic sees every table."""
from .audit import AuditEntry
from .delivery import DeliveryRun, Route, RunStop
from .donation import Donation, DonationLine, DonationPhoto
from .hub import Hub, HubWard
from .item import Item, ItemPhoto
from .market import Booth, BoothSale, MarketEvent, Transfer, Wallet
from .notification import Notification
from .request import ItemRequest, RequestEvent, RequestLine, WaitlistEntry
from .signup import VolunteerSignup
from .user import User, UserRole
from .vendor import BankTransaction, Order, OrderLine, Product, ProductPhoto, Vendor

__all__ = [
    "Hub", "HubWard", "Item", "ItemPhoto", "Notification", "ItemRequest", "RequestEvent",
    "RequestLine", "WaitlistEntry", "User", "UserRole",
    "Donation", "DonationLine", "DonationPhoto", "VolunteerSignup",
    "DeliveryRun", "Route", "RunStop",
    "Vendor", "Product", "ProductPhoto", "Order", "OrderLine", "BankTransaction",
    "MarketEvent", "Booth", "Wallet", "Transfer", "BoothSale", "AuditEntry",
]
