"""People and roles of a union unit: an organizer invites someone to be a volunteer or organizer
of a unit, by phone number or by a one-time link, and revokes roles.

- By phone: the invitation waits for the account of that phone (registered now or later); the
  person accepts it on their account page.
- By link: a random token, stored hashed, shown once to the organizer as a link and a QR code to
  scan at a meeting; whoever signs in with it accepts it, once.
Both expire after VALID_FOR and can be cancelled. Nobody grants a role above their own (RANK) or
outside the units they organize; an admin may do everything. Revoking a role ends every session
of that person, so that a revoked volunteer's open pages stop working at once. Roles are audited
(UserRole is in the audit log with who granted them, and when)."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..database import write_transaction
from ..extensions import db
from ..models import Hub, Invitation, User, UserRole
from ..models.base import utcnow
from ..models.user import HUB_ROLES, RANK
from . import messages, notifications, sessions
from .errors import ServiceError
from .phones import InvalidPhone, normalize_vn_mobile

VALID_FOR = timedelta(days=7)
INVITES_PER_HOUR = 30  # invitations one person may create in an hour

ROLE_LABELS = {"volunteer": _l("Tình nguyện viên"), "organizer": _l("Cán bộ Đoàn")}


class PeopleError(ServiceError):
    pass


class NotAllowed(PeopleError):
    """A role above the actor's own, or a unit they do not organize (the route answers 403)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- who may

def may_grant(actor: User, role: str, hub_id: int) -> bool:
    """An organizer of the unit (or one above it) grants roles up to their own; an admin any."""
    if role not in HUB_ROLES:
        return False
    return actor.has_role("organizer", hub_id) and RANK[role] <= actor.rank


def _check_grant(actor: User, role: str, hub_id: int) -> None:
    if not may_grant(actor, role, hub_id):
        raise NotAllowed(_l("Bạn không thể trao vai trò này: chỉ trao được vai trò không cao hơn "
                            "vai trò của bạn, trong đơn vị bạn phụ trách."), "role")


# ---------------------------------------------------------------- inviting

@dataclass(frozen=True)
class Created:
    invitation_id: int
    token: str | None  # the link's secret (shown once); None for an invitation by phone
    expires_at: datetime


def _recent(session, actor_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.created_by_id == actor_id,
        Invitation.created_at > utcnow() - timedelta(hours=1)))


def invite(actor_id: int, hub_id: int, role: str, phone: str | None = None) -> Created:
    """An invitation to hold `role` on `hub_id`: for the account of `phone`, or (phone None) a
    one-time link. Raises LookupError (no such unit), NotAllowed or PeopleError."""
    with write_transaction() as session:
        actor = session.get(User, actor_id)
        hub = session.get(Hub, hub_id)
        if hub is None or actor is None or not actor.has_role("organizer", hub_id):
            raise LookupError(hub_id)
        _check_grant(actor, role, hub_id)
        if _recent(session, actor_id) >= INVITES_PER_HOUR:
            raise PeopleError(_l("Bạn đã tạo quá nhiều lời mời trong một giờ. Vui lòng thử lại "
                                 "sau."), "phone")
        now = utcnow()
        token = holder = None
        if phone is not None:
            try:
                phone = normalize_vn_mobile(phone)
            except InvalidPhone as exc:
                raise PeopleError(str(exc), "phone") from None
            holder = session.scalar(select(User).where(User.phone == phone,
                                                       User.deleted_at.is_(None)))
            if holder is not None and holder.has_role(role, hub_id) and \
                    holder.rank >= RANK[role]:
                raise PeopleError(_l("%(name)s đã giữ vai trò này ở %(unit)s.",
                                     name=holder.name, unit=hub.name), "phone")
            # A new invitation replaces an open one for the same person, unit and role.
            session.execute(update(Invitation).where(
                Invitation.phone == phone, Invitation.hub_id == hub_id, Invitation.role == role,
                Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
                .values(revoked_at=now).execution_options(synchronize_session=False))
        else:
            token = secrets.token_urlsafe(24)
        row = Invitation(hub_id=hub_id, role=role, phone=phone,
                         token_hash=token_hash(token) if token else None,
                         created_by_id=actor_id, created_at=now, expires_at=now + VALID_FOR)
        session.add(row)
        session.flush()
        if phone is not None and holder is not None:
            notifications.notify(holder.id, "role_invited", "/tai-khoan/loi-moi", unit=hub.name,
                                 role=ROLE_LABELS[role])
        if phone is not None:  # by phone: they may have no account yet, so tell the phone
            messages.enqueue(session, phone, f"invite_{role}", {"hub": hub.name,
                                                                 "name": actor.name},
                             holder.locale if holder else None, f"invitation:{row.id}",
                             hub_id=hub_id)
        created = Created(row.id, token, row.expires_at)
    return created


def is_open(inv: Invitation, now: datetime | None = None) -> bool:
    return inv.accepted_at is None and inv.revoked_at is None and \
        inv.expires_at > (now or utcnow())


CLOSED = _l("Lời mời này đã hết hạn, đã được dùng hoặc đã bị hủy. Hãy nhờ cán bộ Đoàn gửi lời mời "
            "mới.")


def by_token(token: str) -> Invitation | None:
    """The link's invitation (open or not), or None for a token that never existed."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))


def for_phone(phone: str) -> list[Invitation]:
    """The open invitations waiting for the account of `phone`."""
    return list(db.session.scalars(select(Invitation).where(
        Invitation.phone == phone, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow())
        .order_by(Invitation.id)))


def accept(user_id: int, invitation_id: int) -> UserRole:
    """`user_id` takes the invitation's role. A phone invitation only for the account of that
    phone (else LookupError: it is someone else's); raises PeopleError when it is not open."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        inv = session.get(Invitation, invitation_id)
        if inv is None or user is None or (inv.phone is not None and inv.phone != user.phone):
            raise LookupError(invitation_id)
        now = utcnow()
        # One acceptance, even when two devices press at once.
        taken = session.execute(update(Invitation).where(
            Invitation.id == inv.id, Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None), Invitation.expires_at > now)
            .values(accepted_at=now, accepted_by_id=user.id)
            .execution_options(synchronize_session=False)).rowcount
        if not taken:
            raise PeopleError(CLOSED)
        role = next((r for r in user.roles if r.role == inv.role and r.hub_id == inv.hub_id),
                    None)
        if role is None:
            role = UserRole(role=inv.role, hub_id=inv.hub_id, granted_by_id=inv.created_by_id,
                            created_at=now)
            user.roles.append(role)
        session.flush()
    return role


def decline(user_id: int, invitation_id: int) -> None:
    """The invited person says no to a phone invitation (it is cancelled)."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        inv = session.get(Invitation, invitation_id)
        if inv is None or user is None or inv.phone is None or inv.phone != user.phone:
            raise LookupError(invitation_id)
        if is_open(inv):
            inv.revoked_at = utcnow()


def cancel(actor_id: int, invitation_id: int) -> None:
    """An organizer of the invitation's unit cancels it (LookupError otherwise)."""
    with write_transaction() as session:
        actor = session.get(User, actor_id)
        inv = session.get(Invitation, invitation_id)
        if inv is None or actor is None or not actor.has_role("organizer", inv.hub_id):
            raise LookupError(invitation_id)
        if is_open(inv):
            inv.revoked_at = utcnow()


# ---------------------------------------------------------------- roles

def role_in_reach(actor: User, role_id: int) -> UserRole | None:
    """A hub role of a unit `actor` organizes (None: another unit's, or not a hub role)."""
    role = db.session.get(UserRole, role_id)
    if role is None or role.hub_id is None or role.role not in HUB_ROLES or \
            not actor.has_role("organizer", role.hub_id):
        return None
    return role


def revoke(actor_id: int, role_id: int) -> str:
    """Take a role away: every session of its holder ends; returns the holder's name. Raises
    LookupError (a role of another unit), NotAllowed (above the actor's rank) or PeopleError (one's
    own role)."""
    with write_transaction() as session:
        actor = session.get(User, actor_id)
        role = role_in_reach(actor, role_id) if actor else None
        if role is None:
            raise LookupError(role_id)
        _check_grant(actor, role.role, role.hub_id)
        if role.user_id == actor_id:
            raise PeopleError(_l("Bạn không thể tự thu hồi vai trò của mình. Hãy nhờ cán bộ Đoàn "
                                 "cấp trên."))
        holder_id, name = role.user_id, role.user.name
        notifications.notify(holder_id, "role_revoked", role=ROLE_LABELS[role.role],
                             unit=role.hub.name)
        session.delete(role)
        session.flush()
        sessions.end_all(session, holder_id)
    return name


@dataclass(frozen=True)
class Holder:
    role: UserRole
    inherited: bool  # held on a unit above this one


def people_of(hub: Hub) -> list[Holder]:
    """Who holds a role on `hub` (since when, granted by whom), then those who hold one on a unit
    above it and so act here too."""
    lineage = list(hub.lineage)
    rows = db.session.scalars(select(UserRole).join(User, User.id == UserRole.user_id).where(
        UserRole.hub_id.in_(lineage), UserRole.role.in_(HUB_ROLES), User.deleted_at.is_(None))
        .order_by(UserRole.created_at))
    order = {role: k for k, role in enumerate(reversed(HUB_ROLES))}
    holders = [Holder(r, r.hub_id != hub.id) for r in rows]
    return sorted(holders, key=lambda h: (h.inherited, order[h.role.role]))


def open_invitations(hub_id: int) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(
        Invitation.hub_id == hub_id, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow())
        .order_by(Invitation.id.desc())))
