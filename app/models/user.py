from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .base import utcnow

ROLES = ("student", "volunteer", "vendor", "organizer", "admin")
# Roles that act for a hub: they hold it through a hub-scoped UserRole (hub_id set).
HUB_ROLES = ("volunteer", "organizer")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(16), unique=True)  # E.164, e.g. +84912345678
    password_hash: Mapped[str] = mapped_column(String(256))
    locale: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, role: str, hub_id: int | None = None) -> bool:
        """True when the user holds `role` (for `hub_id` if given; admins hold every hub)."""
        for r in self.roles:
            if r.role == "admin":
                return True
            if r.role == role and (hub_id is None or r.hub_id is None or r.hub_id == hub_id):
                return True
        return False

    def hub_ids_for(self, *roles: str) -> set[int] | None:
        """Hubs where the user holds one of `roles`; None means every hub (admin or unscoped
        role)."""
        ids: set[int] = set()
        for r in self.roles:
            if r.role == "admin" or (r.role in roles and r.hub_id is None):
                return None
            if r.role in roles:
                ids.add(r.hub_id)
        return ids

    @property
    def role_names(self) -> list[str]:
        return sorted({r.role for r in self.roles})

    @property
    def is_staff(self) -> bool:
        return any(r.role in ("volunteer", "organizer", "admin") for r in self.roles)


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role", "hub_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"))

    user: Mapped[User] = relationship(back_populates="roles")
