"""Practice wallets ("ví tập") of a market event and their double-entry ledger of points.

Rules, the same on SQLite and PostgreSQL:
- Every movement is one Transfer row; the balances it moves are changed in the same transaction by
  UPDATEs whose payer side is conditional (`balance >= amount`, row count checked), so no balance
  ever goes below zero. Wallet rows are updated in id order, so two transfers never deadlock.
- A transfer carries an idempotency key (UNIQUE): the same key again — a retry, a double tap, twenty
  requests at the same instant — answers with the first transfer and moves nothing. The row is
  inserted before the balances move, so a racing twin waits on the key and then fails on it.
- A credit comes from the event (from no wallet), once per wallet (its key is derived from the
  wallet); a refund is a new, opposite transfer, at most one per payment (UNIQUE refund_of).
So at any moment the balances of an event's wallets add up to the credit it issued: check_ledger.

Wallet cards: the desk prints a card whose QR is a signed URL (itsdangerous, SECRET_KEY) naming the
wallet and the event and expiring at the event's end; the booth scans it and the participant types
a 4-digit PIN (hashed; locked after MAX_PIN_ATTEMPTS wrong ones in a row).
"""
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import write_transaction
from ..extensions import db
from ..models import Booth, MarketEvent, Transfer, User, Wallet
from ..models.base import utcnow
from .errors import ServiceError
from .phones import InvalidPhone, normalize_vn_mobile
from .text import clean_line

MAX_PIN_ATTEMPTS = 5
MAX_AMOUNT = 100_000_000  # điểm in one payment (a balance is far smaller anyway)
PIN_HASH = "pbkdf2:sha256:50000"  # a 4-digit PIN is guarded by the attempt limit, not the hash
CARD_SALT = "market-wallet-card"
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what new_key() makes
_PIN = re.compile(r"\d{4}")


class WalletError(ServiceError):
    """Something a participant or a booth must hear; `field` names the form field."""


def new_key() -> str:
    """An idempotency key for a form: rendered into it, sent back with it."""
    return secrets.token_urlsafe(18)


def _checked_key(key: str | None) -> str:
    if not key or not KEY_PATTERN.fullmatch(key):
        raise WalletError(_l("Phiên thao tác đã hết hạn. Vui lòng tải lại trang và làm lại."))
    return key


def checked_amount(amount) -> int:
    if type(amount) is not int or amount <= 0:
        raise WalletError(_l("Số điểm phải là số nguyên lớn hơn 0."), "amount")
    if amount > MAX_AMOUNT:
        raise WalletError(_l("Số điểm quá lớn."), "amount")
    return amount


def _event_open(event: MarketEvent, now: datetime | None) -> None:
    if not event.is_open(now or utcnow()):
        raise WalletError(_l("Phiên chợ “%(name)s” đã đóng: không thể trả hay nhận điểm nữa.",
                             name=event.name))


# ---------------------------------------------------------------- the ledger's one primitive

# The balance UPDATEs are built once (bound parameters): a payment runs them thousands of times
# an hour, and SQLAlchemy then reuses the statement and its compiled SQL as they are.
_DEBIT = (update(Wallet)
          .where(Wallet.id == bindparam("wallet"), Wallet.balance >= bindparam("amount"),
                 exists().where(MarketEvent.id == bindparam("event"),
                                MarketEvent.status == "open",
                                MarketEvent.ends_at > bindparam("now", type_=db.DateTime)))
          .values(balance=Wallet.balance - bindparam("amount"))
          .execution_options(synchronize_session=False))
_CREDIT = (update(Wallet).where(Wallet.id == bindparam("wallet"))
           .values(balance=Wallet.balance + bindparam("amount"))
           .execution_options(synchronize_session=False))


def _transfer(event_id: int, kind: str, from_id: int | None, to_id: int, amount: int, key: str,
              now: datetime | None = None, **fields) -> Transfer:
    """Record one transfer and move both balances (helpers only flush). The payer's UPDATE is
    conditional on its balance and on the event being open at `now`: WalletError otherwise."""
    transfer = Transfer(event_id=event_id, kind=kind, from_wallet_id=from_id, to_wallet_id=to_id,
                        amount=amount, idempotency_key=key, **fields)
    db.session.add(transfer)
    db.session.flush()  # claims the key first: a concurrent twin waits here, then fails
    for wallet_id in sorted({from_id, to_id} - {None}):  # id order: no deadlock between two
        if wallet_id != from_id:
            db.session.execute(_CREDIT, {"wallet": wallet_id, "amount": amount})
            continue
        moved = db.session.execute(_DEBIT, {"wallet": wallet_id, "amount": amount,
                                            "event": event_id, "now": now or utcnow()})
        if moved.rowcount != 1:
            balance = db.session.scalar(select(Wallet.balance).where(Wallet.id == wallet_id))
            if balance >= amount:  # then the event closed
                _event_open(db.session.get(MarketEvent, event_id), now)
            raise WalletError(_l("Ví chỉ còn %(balance)s điểm, không đủ để trả %(amount)s "
                                 "điểm.", balance=points(balance), amount=points(amount)),
                              "amount")
    return transfer


def points(n: int | None) -> str:
    """100000 → "100.000" (the caller says "điểm": practice points are never shown as ₫)."""
    return f"{int(n or 0):,}".replace(",", ".")


def _by_key(key: str, kind: str, from_id: int | None, to_id: int | None = None,
            booth_id: int | None = None) -> Transfer | None:
    """The transfer this key already made; a key of another wallet or booth is no way in."""
    done = db.session.scalar(select(Transfer).where(Transfer.idempotency_key == key))
    if done is not None and ((done.kind, done.from_wallet_id) != (kind, from_id)
                             or (to_id is not None and done.to_wallet_id != to_id)
                             or (booth_id is not None and done.to_wallet.booth_id != booth_id)):
        raise WalletError(_l("Phiên thao tác đã hết hạn. Vui lòng tải lại trang và làm lại."))
    return done


def _once(key: str, work, keep_loaded: bool = False, **match) -> Transfer:
    """Run `work` in one write transaction; the key's UNIQUE constraint makes a repeated key (a
    retry, a double tap, a twin racing at the same instant) fail there, and it then answers with
    the first transfer (`match`: what that transfer must have been, see _by_key)."""
    try:
        with write_transaction(keep_loaded=keep_loaded):
            return work()
    except IntegrityError:
        db.session.rollback()
        if done := _by_key(key, **match):
            return done
        raise


# ---------------------------------------------------------------- joining

@dataclass(frozen=True)
class Participant:
    name: str
    phone: str
    first_qr: bool | None  # None: not answered
    pin: str = ""  # wallet cards (the desk) only


def _checked_participant(p: Participant, at_desk: bool) -> tuple[str, str | None]:
    name = clean_line(p.name, 120)
    if not name:
        raise WalletError(_l("Vui lòng nhập họ tên."), "name")
    phone = None
    if p.phone.strip() or not at_desk:
        try:
            phone = normalize_vn_mobile(p.phone)
        except InvalidPhone as exc:
            raise WalletError(_l("Số điện thoại di động Việt Nam không hợp lệ (ví dụ: 0912 345 "
                                 "678)."), "phone") from exc
    if p.first_qr is None:
        raise WalletError(_l("Vui lòng cho biết đây có phải lần đầu bạn thanh toán bằng mã QR."),
                          "first_qr")
    if at_desk and not _PIN.fullmatch(p.pin or ""):
        raise WalletError(_l("Mã PIN gồm đúng 4 chữ số."), "pin")
    return name, phone


def join(event_id: int, p: Participant, key: str, desk_user_id: int | None = None,
         now: datetime | None = None) -> Wallet:
    """A participant joins and receives the event's practice credit, in one transaction. At the
    desk (`desk_user_id`, a volunteer or organizer of the hub) the wallet gets a card PIN and the
    phone is optional. The same key again answers with the same wallet. Raises WalletError."""
    name, phone = _checked_participant(p, desk_user_id is not None)
    key = _checked_key(key)
    pin_hash = generate_password_hash(p.pin, method=PIN_HASH) if desk_user_id else None

    def by_key() -> Wallet | None:
        wallet = db.session.scalar(select(Wallet).where(Wallet.join_key == key))
        if wallet is not None and wallet.event_id != event_id:
            raise WalletError(_l("Phiên thao tác đã hết hạn. Vui lòng tải lại trang và làm lại."))
        return wallet

    try:
        with write_transaction() as session:
            event = session.get(MarketEvent, event_id)
            if event is None:
                raise LookupError(event_id)
            if done := by_key():
                return done
            _event_open(event, now)
            if desk_user_id is not None and not acts_for_desk(session.get(User, desk_user_id),
                                                              event):
                raise LookupError(event_id)
            if phone and session.scalar(select(Wallet.id).where(Wallet.event_id == event_id,
                                                                Wallet.phone == phone)):
                raise _phone_taken()
            wallet = Wallet(event_id=event_id, name=name, phone=phone, first_qr=p.first_qr,
                            pin_hash=pin_hash, registered_by_id=desk_user_id, join_key=key)
            session.add(wallet)
            session.flush()
            _transfer(event_id, "credit", None, wallet.id, event.practice_credit,
                      f"credit:{wallet.id}", actor_id=desk_user_id)
    except IntegrityError:
        db.session.rollback()
        if done := by_key():
            return done
        if phone and db.session.scalar(select(Wallet.id).where(Wallet.event_id == event_id,
                                                               Wallet.phone == phone)):
            raise _phone_taken() from None
        raise
    db.session.refresh(wallet)
    return wallet


def _phone_taken() -> WalletError:
    return WalletError(_l("Số điện thoại này đã tham gia phiên chợ. Hãy dùng điện thoại đã đăng "
                          "ký, hoặc đến bàn hỗ trợ để được in thẻ ví."), "phone")


def acts_for_desk(user: User | None, event: MarketEvent) -> bool:
    """Volunteers and organizers of the event's hub register participants at the welcome desk."""
    return user is not None and (user.has_role("volunteer", event.hub_id)
                                 or user.has_role("organizer", event.hub_id))


def set_pin(actor_id: int, wallet_id: int, pin: str) -> Wallet:
    """The desk gives a participant's wallet a (new) card PIN, which also unlocks a locked card."""
    if not _PIN.fullmatch(pin or ""):
        raise WalletError(_l("Mã PIN gồm đúng 4 chữ số."), "pin")
    pin_hash = generate_password_hash(pin, method=PIN_HASH)
    with write_transaction() as session:
        wallet = session.get(Wallet, wallet_id)
        if wallet is None or wallet.booth_id is not None or \
                not acts_for_desk(session.get(User, actor_id), session.get(MarketEvent,
                                                                           wallet.event_id)):
            raise LookupError(wallet_id)
        wallet.pin_hash, wallet.pin_attempts = pin_hash, 0
    return wallet


# ---------------------------------------------------------------- paying a booth

_TILL = aliased(Wallet)
# What a payment from a participant wallet to a booth needs to know, in one query built once:
# the payer's event, the booth's event, status and wallet, and the transfer its key already made.
_BEFORE_PAYMENT = (
    select(Wallet.event_id, Booth.event_id, Booth.status, _TILL.id,
           select(Transfer.id).where(Transfer.idempotency_key == bindparam("key"))
           .scalar_subquery())
    .select_from(Wallet)
    .outerjoin(Booth, Booth.id == bindparam("booth"))
    .outerjoin(_TILL, _TILL.booth_id == Booth.id)
    .where(Wallet.id == bindparam("payer"), Wallet.booth_id.is_(None)))


def _receiving_wallet(booth_id: int, payer_id: int, key: str) -> tuple[int, int, bool]:
    """(the event, the booth's wallet, whether the key was already used) of a payment from this
    participant wallet to this booth: an accepted booth of the payer's event, else WalletError;
    LookupError when there is no such participant wallet. Whether the event is still open, the
    payment's UPDATE checks (it may close meanwhile)."""
    row = db.session.execute(_BEFORE_PAYMENT, {"booth": booth_id, "payer": payer_id,
                                               "key": key}).one_or_none()
    if row is None:
        raise LookupError(payer_id)
    event_id, booth_event_id, status, till_id, done_id = row
    if done_id is None:
        if status != "accepted" or till_id is None:
            raise WalletError(_l("Gian hàng này không nhận thanh toán."))
        if booth_event_id != event_id:
            raise WalletError(_l("Gian hàng này thuộc phiên chợ khác: ví tập của bạn chỉ dùng "
                                 "được ở phiên chợ bạn đã tham gia."))
    return event_id, till_id, done_id is not None


def pay(wallet_id: int, booth_id: int, amount: int, key: str, note: str = "",
        now: datetime | None = None) -> Transfer:
    """A participant pays a booth of their event from their phone. Raises WalletError (balance
    short, closed event, booth of another event, bad amount; nothing moves then) or LookupError
    (no such participant wallet). The same key again answers with the first transfer."""
    amount, key = checked_amount(amount), _checked_key(key)
    # Read before the write transaction, so SQLite's single writer holds its lock only for the
    # three writes.
    event_id, to_id, used = _receiving_wallet(booth_id, wallet_id, key)
    if used:
        return _by_key(key, "payment", wallet_id, booth_id=booth_id)
    # Nothing the transaction changes is loaded: the receipt's redirect needs no reload.
    return _once(key, lambda: _transfer(event_id, "payment", wallet_id, to_id, amount, key, now,
                                        via="phone", note=clean_line(note, 200)),
                 keep_loaded=True, kind="payment", from_id=wallet_id, booth_id=booth_id)


# ---------------------------------------------------------------- wallet cards

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=CARD_SALT)


def card_token(wallet: Wallet, event: MarketEvent) -> str:
    """What the card's QR carries: the wallet, its event and the event's end, signed."""
    expires = int(event.ends_at.replace(tzinfo=UTC).timestamp())
    return _serializer().dumps({"w": wallet.id, "e": event.id, "x": expires})


def read_card(text: str | None, now: datetime | None = None) -> Wallet:
    """The wallet of a scanned card (its URL or bare token). Raises WalletError for a forged,
    altered, expired or unknown card."""
    token = (text or "").strip().split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    try:
        data = _serializer().loads(token)
        wallet_id, event_id, expires = int(data["w"]), int(data["e"]), int(data["x"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise WalletError(_l("Thẻ ví không hợp lệ: mã QR này không do ban tổ chức phát hành."),
                          "card") from None
    now = now or utcnow()
    if now.replace(tzinfo=UTC).timestamp() >= expires:
        raise WalletError(_l("Thẻ ví đã hết hạn: phiên chợ đã kết thúc."), "card")
    wallet = db.session.get(Wallet, wallet_id)
    if wallet is None or wallet.event_id != event_id or not wallet.has_card:
        raise WalletError(_l("Thẻ ví không hợp lệ: mã QR này không do ban tổ chức phát hành."),
                          "card")
    return wallet


def _locked() -> WalletError:
    return WalletError(_l("Thẻ đã bị khóa vì nhập sai mã PIN %(n)s lần. Mời người tham gia đến "
                          "bàn hỗ trợ để đặt lại mã PIN.", n=MAX_PIN_ATTEMPTS), "pin")


def _take_pin_try(wallet_id: int) -> int | None:
    """Count one PIN try before the PIN is checked: the number of this try, or None when the card
    is locked. One conditional update, so tries at several booths at once never pass the last."""
    with write_transaction() as session:
        taken = session.execute(update(Wallet).where(Wallet.id == wallet_id,
                                                     Wallet.pin_attempts < MAX_PIN_ATTEMPTS)
                                .values(pin_attempts=Wallet.pin_attempts + 1)
                                .execution_options(synchronize_session=False)).rowcount
        tries = session.scalar(select(Wallet.pin_attempts).where(Wallet.id == wallet_id))
    return tries if taken else None


def _clear_pin_tries(wallet_id: int) -> None:
    with write_transaction() as session:
        session.execute(update(Wallet).where(Wallet.id == wallet_id).values(pin_attempts=0)
                        .execution_options(synchronize_session=False))


def pay_by_card(wallet: Wallet, booth_id: int, pin: str, amount: int, key: str, note: str = "",
                actor_id: int | None = None, now: datetime | None = None) -> Transfer:
    """The booth scanned a card (see read_card) and the participant typed their PIN. Every try
    is counted before the PIN is checked, and a right PIN ends the count; after MAX_PIN_ATTEMPTS
    wrong ones in a row the card is locked until the desk sets a new PIN — exactly that many are
    checked, even at several booths at once. Raises WalletError; nothing moves then."""
    amount, key = checked_amount(amount), _checked_key(key)
    if done := _by_key(key, "payment", wallet.id, booth_id=booth_id):  # a retry of a paid one
        return done
    if not _PIN.fullmatch(pin or ""):
        raise WalletError(_l("Mã PIN gồm đúng 4 chữ số."), "pin")
    tries = _take_pin_try(wallet.id)
    if tries is None:
        raise _locked()
    if not check_password_hash(wallet.pin_hash or "", pin):  # slow on purpose: outside the lock
        if tries >= MAX_PIN_ATTEMPTS:
            raise _locked()
        left = MAX_PIN_ATTEMPTS - tries
        raise WalletError(lazy_ngettext("Mã PIN không đúng (còn %(left)s lần thử).",
                                        "Mã PIN không đúng (còn %(left)s lần thử).", left,
                                        left=left), "pin")

    def work() -> Transfer:
        event_id, to_id, _used = _receiving_wallet(booth_id, wallet.id, key)
        transfer = _transfer(event_id, "payment", wallet.id, to_id, amount, key, now,
                             via="card", note=clean_line(note, 200), actor_id=actor_id)
        db.session.execute(update(Wallet).where(Wallet.id == wallet.id).values(pin_attempts=0)
                           .execution_options(synchronize_session=False))
        return transfer

    try:
        return _once(key, work, kind="payment", from_id=wallet.id, booth_id=booth_id)
    except WalletError:
        _clear_pin_tries(wallet.id)  # the PIN was right even if the payment is refused
        raise


# ---------------------------------------------------------------- refunds

def refund(payment_id: int, actor_id: int | None = None, now: datetime | None = None) -> Transfer:
    """The booth gives a payment back: a new, opposite transfer, at most one per payment (its key
    and the UNIQUE refund_of make a second tap answer with the first refund). The caller checked
    that the actor runs the booth."""
    payment = db.session.get(Transfer, payment_id)
    if payment is None or payment.kind != "payment":
        raise LookupError(payment_id)
    key = f"refund:{payment.id}"

    def work() -> Transfer:
        return _transfer(payment.event_id, "refund", payment.to_wallet_id, payment.from_wallet_id,
                         payment.amount, key, now, refund_of_id=payment.id, via=payment.via,
                         note=payment.note, actor_id=actor_id)

    return _once(key, work, kind="refund", from_id=payment.to_wallet_id,
                 to_id=payment.from_wallet_id)


# ---------------------------------------------------------------- reading

def wallet_of(wallet_id: int | None, event_id: int) -> Wallet | None:
    """A participant's wallet of this event (None for another event's or a booth's)."""
    wallet = db.session.get(Wallet, wallet_id) if wallet_id else None
    return wallet if wallet and wallet.event_id == event_id and wallet.booth_id is None else None


def find(event_id: int, query: str, limit: int = 10) -> list[Wallet]:
    """The desk looks a participant up by phone number or by a part of their name."""
    query = clean_line(query, 60)
    if not query:
        return []
    try:
        match = Wallet.phone == normalize_vn_mobile(query)
    except InvalidPhone:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        match = Wallet.name.ilike(f"%{escaped}%", escape="\\")
    return list(db.session.scalars(select(Wallet).where(
        Wallet.event_id == event_id, Wallet.booth_id.is_(None), match)
        .order_by(Wallet.id.desc()).limit(limit)))


def cards(event_id: int, limit: int = 20) -> list[Wallet]:
    """The latest wallets with a card, for the desk to print again."""
    return list(db.session.scalars(select(Wallet).where(
        Wallet.event_id == event_id, Wallet.pin_hash.is_not(None))
        .order_by(Wallet.id.desc()).limit(limit)))


def history(wallet_id: int, limit: int = 20) -> list[Transfer]:
    """The wallet's latest transfers, in or out, newest first."""
    return list(db.session.scalars(
        select(Transfer).where((Transfer.from_wallet_id == wallet_id)
                               | (Transfer.to_wallet_id == wallet_id))
        .order_by(Transfer.id.desc()).limit(limit)))


def refunded_ids(payment_ids) -> set[int]:
    ids = list(payment_ids)
    return set(db.session.scalars(select(Transfer.refund_of_id).where(
        Transfer.refund_of_id.in_(ids)))) if ids else set()


@dataclass(frozen=True)
class LedgerCheck:
    """The ledger's invariant for an event (or every event): balances add up to the credit issued,
    each balance is what its transfers say, none is negative, no key was applied twice."""

    issued: int
    balances: int
    wallets: int
    transfers: int
    negative: int  # wallets below zero
    drifted: int  # wallets whose balance differs from their transfers
    duplicate_keys: int
    bad_refunds: int  # refunds not matching their payment

    @property
    def ok(self) -> bool:
        return self.issued == self.balances and not (self.negative or self.drifted
                                                      or self.duplicate_keys or self.bad_refunds)


def check_ledger(event_id: int | None = None) -> LedgerCheck:
    db.session.rollback()  # a fresh snapshot
    t, w = Transfer, Wallet

    def scoped(stmt, model):
        return stmt.where(model.event_id == event_id) if event_id is not None else stmt

    issued = db.session.scalar(scoped(select(func.coalesce(func.sum(t.amount), 0))
                                      .where(t.kind == "credit"), t))
    balances, wallets, negative = db.session.execute(scoped(select(
        func.coalesce(func.sum(w.balance), 0), func.count(w.id),
        func.count(w.id).filter(w.balance < 0)), w)).one()
    incoming = (select(t.to_wallet_id.label("wid"), t.amount.label("delta")))
    outgoing = (select(t.from_wallet_id.label("wid"), (-t.amount).label("delta"))
                .where(t.from_wallet_id.is_not(None)))
    moves = scoped(incoming, t).union_all(scoped(outgoing, t)).subquery()
    net = select(moves.c.wid, func.sum(moves.c.delta).label("net")).group_by(moves.c.wid) \
        .subquery()
    drifted = db.session.scalar(scoped(
        select(func.count(w.id)).select_from(w).outerjoin(net, net.c.wid == w.id)
        .where(w.balance != func.coalesce(net.c.net, 0)), w))
    duplicate_keys = db.session.scalar(select(func.count()).select_from(
        scoped(select(t.idempotency_key).group_by(t.idempotency_key)
               .having(func.count(t.id) > 1), t).subquery()))
    paid = aliased(Transfer)  # the payment a refund gives back
    bad_refunds = db.session.scalar(scoped(
        select(func.count(t.id)).join(paid, paid.id == t.refund_of_id, isouter=True)
        .where(t.kind == "refund", (paid.id.is_(None)) | (paid.kind != "payment")
               | (paid.amount != t.amount) | (paid.from_wallet_id != t.to_wallet_id)
               | (paid.to_wallet_id != t.from_wallet_id)), t))
    transfers = db.session.scalar(scoped(select(func.count(t.id)), t))
    db.session.rollback()
    return LedgerCheck(issued, balances, wallets, transfers, negative, drifted, duplicate_keys,
                       bad_refunds)
