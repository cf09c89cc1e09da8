import unicodedata
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, false, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .base import utcnow
from .hub import Hub

ROLES = ("student", "volunteer", "vendor", "organizer", "admin")
# Roles that act for a unit: they hold it through a hub-scoped UserRole (hub_id set), and a role
# on a unit holds for every unit below it. Ranked: nobody grants a role above their own.
HUB_ROLES = ("volunteer", "organizer")
RANK = {"volunteer": 1, "organizer": 2, "admin": 3}


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(16), unique=True)  # E.164, e.g. +84912345678
    password_hash: Mapped[str] = mapped_column(String(256))
    locale: Mapped[str | None] = mapped_column(String(5))
    # No reminder the evening before (services.messages.reminders); a request's steps still go out.
    reminders_off: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the person deleted their account: name and phone are erased, nobody signs in.
    deleted_at: Mapped[datetime | None]

    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin",
        foreign_keys="UserRole.user_id",
    )

    session_token = None  # str: the signed-in session's token (services.sessions)

    def get_id(self) -> str:
        """Flask-Login's id in the cookies: the user and the session, so that a session ended on
        the server no longer signs anyone in."""
        return f"{self.id}:{self.session_token}" if self.session_token else str(self.id)

    def set_password(self, password: str) -> None:
        self.password_hash = self.hash_password(password)

    @staticmethod
    def hash_password(password: str) -> str:
        """Hashed in NFC: "mật khẩu" typed with precomposed letters on one keyboard and with
        combining marks on another (some Vietnamese input methods) is the same password."""
        return generate_password_hash(unicodedata.normalize("NFC", password))

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, unicodedata.normalize("NFC", password))

    def has_role(self, role: str, hub_id: int | None = None) -> bool:
        """True when the user holds `role` for the unit `hub_id` or one above it (any unit when
        `hub_id` is None); an admin holds every role everywhere."""
        lineage = None
        for r in self.roles:
            if r.role == "admin":
                return True
            if r.role != role:
                continue
            if hub_id is None or r.hub_id is None or r.hub_id == hub_id:
                return True
            if lineage is None:
                hub = db.session.get(Hub, hub_id)
                lineage = set(hub.lineage) if hub else set()
            if r.hub_id in lineage:
                return True
        return False

    def hub_ids_for(self, *roles: str) -> set[int] | None:
        """Units where the user holds one of `roles`, with every unit below them; None means
        every unit (admin or unscoped role)."""
        ids: set[int] = set()
        for r in self.roles:
            if r.role == "admin" or (r.role in roles and r.hub_id is None):
                return None
            if r.role in roles:
                ids.add(r.hub_id)
        if not ids:
            return ids
        return set(db.session.scalars(select(Hub.id).where(
            or_(*(Hub.path.like(f"%/{i}/%") for i in sorted(ids))))))

    @property
    def role_names(self) -> list[str]:
        return sorted({r.role for r in self.roles})

    @property
    def rank(self) -> int:
        """The highest of RANK among the roles held (0: none of them)."""
        return max((RANK.get(r.role, 0) for r in self.roles), default=0)

    @property
    def is_staff(self) -> bool:
        return any(r.role in ("volunteer", "organizer", "admin") for r in self.roles)


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role", "hub_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"),
                                               index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])
    hub = relationship("Hub", lazy="select")
    granted_by = relationship("User", foreign_keys=[granted_by_id], lazy="select")


class UserSession(db.Model):
    """A signed-in device. The session cookie and the remember-me cookie carry the session's
    token (hashed here), so ending the row ends both: logout ends one, a password reset or change,
    a phone change, an account deletion and a role revocation end all of a user's."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_ended", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class Invitation(db.Model):
    """An invitation to hold `role` on the unit `hub_id`: for the account of `phone` (it waits
    for the registration with that phone), or, with `phone` None, a one-time link whose token is
    stored hashed. Accepted once, before `expires_at`, unless revoked."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_phone_open", "phone", "accepted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # HUB_ROLES
    phone: Mapped[str | None] = mapped_column(String(16))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]

    hub = relationship("Hub", lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id], lazy="select")


class OneTimeCode(db.Model):
    """A short-lived secret for one purpose ("reset": a password reset, issued by a volunteer or
    sent by SMS; "verify_phone": a registration's phone check by SMS), stored hashed, used once,
    with a count of wrong tries (services/phone_codes.py). A registration waiting for its code
    keeps what was typed in `pending` (the name, the password's hash, the language) until the code
    is right, replaced or purged."""

    __tablename__ = "one_time_codes"
    __table_args__ = (Index("ix_one_time_codes_phone_purpose", "phone", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12))
    phone: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(256))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    tries: Mapped[int] = mapped_column(default=0)
    pending: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
