"""One-time codes: the one mechanism behind the volunteer-issued reset code (resets.py) and the
codes sent by SMS (a registration's phone check, accounts.py; "send the code by SMS" on a
forgotten password, resets.py).

A code is for one phone and one purpose ("verify_phone", "reset"); only a keyed hash is stored
(HMAC-SHA256 with SECRET_KEY over purpose, phone and code: a copy of the table without the key
cannot be searched for the million 6-digit codes); a new code for the same phone and purpose
voids the older ones; it expires, is used once, and MAX_TRIES wrong tries make it dead.

A code sent by SMS goes through the outbox, queued in the use-case's transaction, and is sent
right after the commit by the sender's own path for that one message (`send_now`): if that call
fails, the worker retries it like any message, and the outbox key makes sure it never goes twice.
Sending is limited per phone (PHONE_CODE_PHONE_LIMIT, e.g. 3 per 15 minutes and 10 a day) and per
client address (PHONE_CODE_ADDRESS_LIMIT, generous: a class registers on one school Wi-Fi), counted
in the limiter's storage like the login lock, for phones with and without an account alike.
"""
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from limits import parse_many
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from ..extensions import limiter
from ..models import OneTimeCode
from ..models.base import utcnow
from .errors import ServiceError
from .formatting import local_today, to_local
from .messages import providers, sender

log = logging.getLogger("gianhang.messages")

VERIFY = "verify_phone"
DIGITS = 6
VALID_FOR = timedelta(minutes=10)  # the SMS texts say "10 phút" (messages/templates.py)
MAX_TRIES = 5
TEMPLATE = {VERIFY: "code_verify_phone", "reset": "code_reset_password"}


class CodeError(ServiceError):
    pass


class TooManyCodes(CodeError):
    """Too many codes asked for this phone or from this address: none is sent before `until`."""

    def __init__(self, until: datetime, per_phone: bool):
        local = to_local(until)
        when = local.strftime("%H:%M") if local.date() == local_today() \
            else local.strftime("%H:%M %d/%m/%Y")
        message = _l("Số điện thoại này đã được gửi mã quá nhiều lần. Vui lòng thử lại sau "
                     "%(time)s.", time=when) if per_phone else \
            _l("Đã có quá nhiều yêu cầu gửi mã từ mạng này. Vui lòng thử lại sau %(time)s.",
               time=when)
        super().__init__(message, "code")
        self.until = until

    @property
    def retry_after(self) -> int:
        """Whole seconds until a code may be asked again (the Retry-After header)."""
        return max(int((self.until - datetime.now(UTC).replace(tzinfo=None)).total_seconds()) + 1,
                   1)


def enabled() -> bool:
    """Are codes sent by SMS (PHONE_CODES: on by default with a real message provider)?"""
    return bool(current_app.config.get("PHONE_CODES"))


def new_code() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def clean(raw: str) -> str:
    """What a person typed: spaces and dashes dropped, upper case (the volunteer's code has
    letters)."""
    return "".join(ch for ch in (raw or "").upper() if ch not in " -")[:32]


def code_hash(phone: str, purpose: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"{purpose}\n{phone}\n{clean(code)}".encode(), hashlib.sha256)
    return "hmac-sha256$" + digest.hexdigest()


def replace(session: Session, phone: str, purpose: str, code: str, valid_for: timedelta = VALID_FOR,
            *, user_id: int | None = None, issued_by_id: int | None = None,
            pending: dict | None = None) -> OneTimeCode:
    """Inside the caller's unit of work: `code` becomes the phone's only open code for `purpose`
    (older ones are void, and forget what a registration had typed)."""
    now = utcnow()
    session.execute(update(OneTimeCode).where(
        OneTimeCode.phone == phone, OneTimeCode.purpose == purpose, OneTimeCode.used_at.is_(None))
        .values(expires_at=case((OneTimeCode.expires_at > now, now),
                                else_=OneTimeCode.expires_at), pending=None)
        .execution_options(synchronize_session=False))
    row = OneTimeCode(purpose=purpose, phone=phone, user_id=user_id, pending=pending,
                      code_hash=code_hash(phone, purpose, code), issued_by_id=issued_by_id,
                      expires_at=now + valid_for)
    session.add(row)
    session.flush()
    return row


def latest(session: Session, phone: str, purpose: str) -> OneTimeCode | None:
    """The phone's newest unused code for `purpose` (open, expired or dead), locked."""
    return session.scalar(select(OneTimeCode).where(
        OneTimeCode.phone == phone, OneTimeCode.purpose == purpose,
        OneTimeCode.used_at.is_(None)).order_by(OneTimeCode.id.desc()).limit(1)
        .with_for_update())


@dataclass(frozen=True)
class Checked:
    outcome: str  # "right" (now used), "wrong", "expired", "dead" or "none"
    row: OneTimeCode | None
    tries_left: int = 0


def check(session: Session, phone: str, purpose: str, code: str) -> Checked:
    """Inside the caller's unit of work: is `code` the phone's open code for `purpose`? A right
    code is marked used; a wrong one counts a try (the caller commits, then refuses)."""
    now = utcnow()
    row = latest(session, phone, purpose)
    if row is None:
        return Checked("none", None)
    if row.tries >= MAX_TRIES:
        return Checked("dead", row)
    if row.expires_at <= now:
        return Checked("expired", row)
    if not hmac.compare_digest(row.code_hash, code_hash(phone, purpose, code)):
        row.tries += 1
        return Checked("dead" if row.tries >= MAX_TRIES else "wrong", row, MAX_TRIES - row.tries)
    row.used_at = now
    return Checked("right", row)


def count_request(phone: str, address: str | None) -> None:
    """Count one code asked for `phone` from `address`; raises TooManyCodes past a limit (the
    address first: a flood from one place does not use up a stranger's phone). Off while rate
    limits are off."""
    if not limiter.enabled:
        return
    strategy = FixedWindowRateLimiter(limiter.storage)
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    config = current_app.config
    for per_phone, setting, key in ((False, "PHONE_CODE_ADDRESS_LIMIT", address or "-"),
                                    (True, "PHONE_CODE_PHONE_LIMIT", phone)):
        for item in parse_many(config[setting]):
            ids = (prefix, "phone-codes", "phone" if per_phone else "address", key)
            if not strategy.hit(item, *ids):
                reset_at = strategy.get_window_stats(item, *ids).reset_time
                raise TooManyCodes(datetime.fromtimestamp(reset_at, UTC).replace(tzinfo=None),
                                   per_phone)


def send_now(message_id: int) -> None:
    """Send one queued message at once, by the sender's normal path (after the commit that
    queued it). A failure leaves it to the worker's retries."""
    config = current_app.config
    provider = providers.from_config(config)
    if isinstance(provider, providers.ConsoleProvider) and not log.handlers \
            and not logging.getLogger().handlers:
        log.addHandler(logging.StreamHandler())  # the demo: the code shows in the server's log
        log.setLevel(logging.INFO)
    try:
        sender.send_due(provider, size=1, only=message_id,
                        lease=timedelta(seconds=config["MESSAGE_LEASE_SECONDS"]),
                        max_attempts=config["MESSAGE_MAX_ATTEMPTS"])
    except Exception:  # the message stays queued: the worker sends it
        log.exception("sending message %s right away failed", message_id)
