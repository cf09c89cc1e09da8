"""Delivering the outbox: claim what is due, call the provider, record the attempt.

A batch is claimed in one short transaction, then each message goes through two more around
its one provider call:
1. claim — the due rows (queued and next_attempt_at reached) are marked "sending" with the time
   of the claim; PostgreSQL takes them `FOR UPDATE SKIP LOCKED`, so several workers share the
   queue without waiting for or taking each other's rows; SQLite serialises claims in the app's
   write transaction (BEGIN IMMEDIATE).
2. start — just before the call, the attempt is opened (attempt count raised) and committed.
3. record — the provider's answer closes the attempt: sent; failed for good (the provider's
   reason); or queued again after an exponential back-off (30 s, 1 min, 2 min, ... at most an
   hour, longer if a 429 asks for it) until MESSAGE_MAX_ATTEMPTS, then failed with the last reason.

A crash between start and record (a killed worker, a lost database connection after the call)
leaves the row "sending" with an open attempt: whether the provider got the message is unknown.
(Rows claimed but not started are simply taken over: no provider ever saw them.) We record
"sending" *before* the call precisely so that this is visible, and treat it conservatively:
once the claim is older than the lease (MESSAGE_LEASE_SECONDS, well above the HTTP time-out), the
next sender closes the open attempt as "unknown" and
- resends it when the provider is idempotent for us (eSMS: the same RequestId, derived from the
  outbox key, is refused as "124 Duplicate RequestId" if the first call got through — counted as
  sent — and carried out if it did not; eSMS remembers a RequestId for 24 hours, far longer
  than the lease; the console provider only repeats a log line);
- otherwise (Zalo ZNS, which has no way to refuse a repeat) marks the message "unknown" for
  staff to look at, and never sends it again: a message missed is better than a message twice.
So a message is never sent twice for the same idempotency key (UNIQUE in the outbox), and none
is lost: every row ends sent, failed or unknown, each with its attempts.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from ...database import write_transaction
from ...models import MessageAttempt, OutboundMessage
from ...models.base import utcnow
from .providers import Outgoing, Provider, Result

log = logging.getLogger("gianhang.messages")

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


@dataclass
class Batch:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    unknown: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retry + self.failed


@dataclass(frozen=True)
class _Claim:
    message_id: int
    claimed_at: datetime
    outgoing: Outgoing


def _claim(provider: Provider, now: datetime, size: int, lease: timedelta,
           batch: Batch, only: int | None = None) -> list[_Claim]:
    """Take up to `size` due rows for this sender (no provider is called yet); `only`: just the
    message of that id, if it is due."""
    with write_transaction() as session:
        query = select(OutboundMessage)
        if only is not None:
            query = query.where(OutboundMessage.id == only)
        rows = session.scalars(
            query
            .where(or_(and_(OutboundMessage.status == "queued",
                            OutboundMessage.next_attempt_at <= now),
                       and_(OutboundMessage.status == "sending",
                            OutboundMessage.claimed_at <= now - lease)))
            .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
            .limit(size).with_for_update(skip_locked=True)).all()
        claims = []
        for m in rows:
            open_calls = [a for a in m.attempt_log if a.finished_at is None]
            if m.status == "sending" and open_calls:  # its sender stopped during a call
                for attempt in open_calls:
                    attempt.finished_at, attempt.outcome = now, "unknown"
                    attempt.error = "Người gửi dừng giữa chừng: không rõ đã gửi chưa"
                if not (provider.idempotent and m.provider == provider.name):
                    m.status, m.claimed_at = "unknown", None
                    m.last_error = "Không rõ đã gửi chưa (người gửi dừng giữa chừng); không gửi lại"
                    batch.unknown += 1
                    continue
            # A stale claim without an open call was never sent: it is simply taken over.
            m.status, m.claimed_at, m.provider = "sending", now, provider.name
            key = m.idempotency_key if not m.resends else f"{m.idempotency_key}#{m.resends}"
            claims.append(_Claim(m.id, now, Outgoing(
                key, m.phone, m.template, dict(m.params), m.language)))
    return claims


def _start(claim: _Claim, provider: Provider, now: datetime) -> int | None:
    """Open the attempt just before the provider's call (committed first, so that a crash during
    the call leaves it open); None when another sender took the message over meanwhile."""
    with write_transaction() as session:
        m = session.get(OutboundMessage, claim.message_id)
        if m.status != "sending" or m.claimed_at != claim.claimed_at:
            return None
        m.attempts += 1
        attempt = MessageAttempt(number=len(m.attempt_log) + 1, provider=provider.name,
                                 started_at=now)
        m.attempt_log.append(attempt)
        session.flush()
        return attempt.id


def _record(claim: _Claim, attempt_id: int, result: Result, now: datetime,
            max_attempts: int) -> None:
    with write_transaction() as session:
        attempt = session.get(MessageAttempt, attempt_id)
        attempt.finished_at, attempt.outcome = now, result.outcome
        attempt.provider_id, attempt.error = result.provider_id, result.error
        m = session.get(OutboundMessage, claim.message_id)
        if m.status != "sending" or m.claimed_at != claim.claimed_at:
            return  # another sender took it over after the lease: its record stands
        m.claimed_at = None
        if result.outcome == "sent":
            m.status, m.sent_at, m.provider_id = "sent", now, result.provider_id
            m.last_error = result.error
        elif result.outcome == "failed":
            m.status, m.last_error = "failed", result.error
        elif m.attempts >= max_attempts:
            m.status = "failed"
            m.last_error = f"Sau {m.attempts} lần thử: {result.error}"[:300]
        else:
            wait = backoff(m.attempts)
            if result.retry_after:
                wait = max(wait, timedelta(seconds=result.retry_after))
            m.status, m.next_attempt_at, m.last_error = "queued", now + wait, result.error


def send_due(provider: Provider, now: datetime | None = None, size: int = 20,
             lease: timedelta = LEASE, max_attempts: int = MAX_ATTEMPTS,
             clock=utcnow, only: int | None = None) -> Batch:
    """One batch: up to `size` due messages through `provider`. `now` fixes the time of the
    claim (tests); the record uses `clock()` unless `now` is given. `only=id` sends just that
    message now if it is due (a one-time code, right after its commit), by the same claim, attempt
    and record as every batch: a failure is retried by the worker, and a message another sender
    claimed meanwhile is left to it — never sent twice."""
    batch = Batch()
    for claim in _claim(provider, now or clock(), size, lease, batch, only):
        attempt_id = _start(claim, provider, now or clock())
        if attempt_id is None:
            continue
        try:
            result = provider.send(claim.outgoing)
        except Exception as exc:  # a provider's bug must not lose the message: try again later
            log.exception("provider %s failed on message %s", provider.name, claim.message_id)
            result = Result("retry", error=f"{type(exc).__name__}: {exc}"[:300])
        _record(claim, attempt_id, result, now or clock(), max_attempts)
        setattr(batch, result.outcome, getattr(batch, result.outcome) + 1)
    return batch
