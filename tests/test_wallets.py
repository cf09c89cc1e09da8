"""Practice wallets and their ledger: joining with credit, paying a booth, refunds, wallet cards
with a signed QR and a PIN, and the invariant — balances add up to the credit issued — under real
threads (SQLite file and PostgreSQL alike).

The small factories at the top (market_event, booth_of) are shared by test_market and
test_market_browser.
"""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash

from app.extensions import db as _db
from app.models import Booth, MarketEvent, Transfer, Wallet
from app.models.base import utcnow
from app.services import market, wallets
from app.services.wallets import Participant, WalletError
from tests import factories
from tests.test_vendors import make_product, make_vendor
from tests.threads import run_together

CREDIT = 100_000


def market_event(hub=None, credit=CREDIT, organizer=None, **kw) -> MarketEvent:
    """An open event of a hub (started an hour ago, ending in five) with its organizer."""
    hub = hub or factories.make_hub()
    organizer = organizer or factories.make_user(roles=("organizer",), hub=hub, name="Tổ chức")
    now = utcnow()
    event = MarketEvent(hub_id=hub.id, name=kw.pop("name", "Phiên chợ 4.0 tháng 10"),
                        place="Sân trường", starts_at=now - timedelta(hours=1),
                        ends_at=kw.pop("ends_at", now + timedelta(hours=5)),
                        practice_credit=credit, created_by_id=organizer.id, **kw)
    _db.session.add(event)
    _db.session.commit()
    return event


def booth_of(event, vendor=None, products=True) -> Booth:
    """An accepted booth of the event (through the service: number and wallet)."""
    vendor = vendor or make_vendor(event.hub, business_name=f"Gian {factories.unique_phone()}")
    if products:
        make_product(vendor, "Nón lá", price=60_000)
        make_product(vendor, "Bánh tráng", price=35_000)
    booth = Booth(event_id=event.id, vendor_id=vendor.id)
    _db.session.add(booth)
    _db.session.commit()
    return market.accept_booth(event.created_by_id, booth.id)


def person(name="Nguyễn Văn Bình", phone=None, first_qr=True, pin="") -> Participant:
    return Participant(name, phone if phone is not None else factories.unique_phone(), first_qr,
                       pin)


def join(event, key=None, **kw) -> Wallet:
    return wallets.join(event.id, person(**kw), key or wallets.new_key())


def balance(wallet_id) -> int:
    _db.session.rollback()
    return _db.session.scalar(select(Wallet.balance).where(Wallet.id == wallet_id))


def transfers(kind=None) -> int:
    _db.session.rollback()
    stmt = select(func.count()).select_from(Transfer)
    return _db.session.scalar(stmt.where(Transfer.kind == kind) if kind else stmt)


@pytest.fixture
def event(db):
    return market_event()


@pytest.fixture
def booth(event):
    return booth_of(event)


# ---------------------------------------------------------------- joining

def test_joining_credits_the_event_practice_points_once(event):
    key = wallets.new_key()
    wallet = join(event, key=key, phone="0912 345 678")
    assert (wallet.balance, wallet.phone, wallet.first_qr) == (CREDIT, "+84912345678", True)
    again = join(event, key=key, phone="0912 345 678")  # the form posted twice
    assert again.id == wallet.id and balance(wallet.id) == CREDIT
    assert transfers("credit") == 1
    check = wallets.check_ledger(event.id)
    assert check.ok and check.issued == check.balances == CREDIT


def test_one_phone_joins_an_event_once_with_a_clear_message(event):
    join(event, phone="0912345678")
    with pytest.raises(WalletError, match="đã tham gia") as exc:
        join(event, phone="+84 912 345 678")
    assert exc.value.field == "phone" and transfers("credit") == 1
    assert join(market_event(), phone="0912345678").balance == CREDIT  # another event: fine


@pytest.mark.parametrize("fields, field", [
    ({"name": "  "}, "name"), ({"phone": "12345"}, "phone"), ({"phone": ""}, "phone"),
    ({"first_qr": None}, "first_qr")])
def test_bad_join_details_name_the_field_and_save_nothing(event, fields, field):
    with pytest.raises(WalletError) as exc:
        join(event, **fields)
    assert exc.value.field == field and transfers() == 0


def test_nobody_joins_a_closed_event(event):
    market.close_event(event.created_by_id, event.id)
    with pytest.raises(WalletError, match="đã đóng"):
        join(event)
    assert transfers() == 0


def test_the_desk_registers_a_card_with_a_pin_and_no_phone(event):
    volunteer = factories.make_user(roles=("volunteer",), hub=event.hub)
    wallet = wallets.join(event.id, person(phone="", pin="4321"), wallets.new_key(), volunteer.id)
    assert wallet.has_card and wallet.phone is None and wallet.registered_by_id == volunteer.id
    assert wallet.pin_hash != "4321"
    with pytest.raises(WalletError, match="PIN") as exc:
        wallets.join(event.id, person(pin="12"), wallets.new_key(), volunteer.id)
    assert exc.value.field == "pin"
    with pytest.raises(LookupError):  # a student is not the desk
        wallets.join(event.id, person(pin="1234"), wallets.new_key(), factories.make_user().id)


# ---------------------------------------------------------------- paying

def test_a_payment_moves_points_from_the_wallet_to_the_booth(event, booth):
    wallet = join(event)
    paid = wallets.pay(wallet.id, booth.id, 35_000, wallets.new_key(), "1 × Bánh tráng")
    assert (paid.kind, paid.amount, paid.via, paid.note) == ("payment", 35_000, "phone",
                                                            "1 × Bánh tráng")
    assert balance(wallet.id) == 65_000 and balance(booth.wallet.id) == 35_000
    assert wallets.check_ledger(event.id).ok


def test_the_same_key_again_is_the_first_payment(event, booth):
    wallet, key = join(event), wallets.new_key()
    first = wallets.pay(wallet.id, booth.id, 20_000, key)
    again = wallets.pay(wallet.id, booth.id, 20_000, key)
    assert again.id == first.id and balance(wallet.id) == 80_000 and transfers("payment") == 1
    other = join(event, name="Người khác")
    with pytest.raises(WalletError, match="hết hạn"):  # someone else's key is no way in
        wallets.pay(other.id, booth.id, 20_000, key)
    assert balance(other.id) == CREDIT


@pytest.mark.parametrize("amount", [0, -5_000, 150_001, "10000", 10.5, None])
def test_bad_amounts_move_nothing(event, booth, amount):
    wallet = join(event)
    with pytest.raises(WalletError) as exc:
        wallets.pay(wallet.id, booth.id, amount if amount != 150_001 else CREDIT + 1,
                    wallets.new_key())
    assert exc.value.field == "amount"
    assert balance(wallet.id) == CREDIT and balance(booth.wallet.id) == 0
    assert transfers("payment") == 0


def test_more_than_the_balance_says_what_is_left(event, booth):
    wallet = join(event)
    wallets.pay(wallet.id, booth.id, 90_000, wallets.new_key())
    with pytest.raises(WalletError, match="còn 10.000 điểm, không đủ để trả 20.000 điểm"):
        wallets.pay(wallet.id, booth.id, 20_000, wallets.new_key())
    assert balance(wallet.id) == 10_000 and wallets.check_ledger(event.id).ok


def test_a_closed_or_ended_event_takes_no_payment(event, booth):
    wallet = join(event)
    with pytest.raises(WalletError, match="đã đóng"):
        wallets.pay(wallet.id, booth.id, 1_000, wallets.new_key(),
                    now=event.ends_at + timedelta(seconds=1))
    market.close_event(event.created_by_id, event.id)
    with pytest.raises(WalletError, match="đã đóng"):
        wallets.pay(wallet.id, booth.id, 1_000, wallets.new_key())
    assert balance(wallet.id) == CREDIT and transfers("payment") == 0


def test_a_booth_of_another_event_is_refused(event, booth):
    elsewhere = booth_of(market_event(hub=event.hub, organizer=None))
    wallet = join(event)
    with pytest.raises(WalletError, match="phiên chợ khác"):
        wallets.pay(wallet.id, elsewhere.id, 1_000, wallets.new_key())
    invited = Booth(event_id=event.id, vendor_id=make_vendor(event.hub, business_name="Mới").id)
    _db.session.add(invited)
    _db.session.commit()
    with pytest.raises(WalletError, match="không nhận"):  # invited, not accepted yet
        wallets.pay(wallet.id, invited.id, 1_000, wallets.new_key())
    assert balance(wallet.id) == CREDIT


def test_a_refund_is_a_new_opposite_transfer_applied_once(event, booth):
    wallet = join(event)
    paid = wallets.pay(wallet.id, booth.id, 35_000, wallets.new_key())
    back = wallets.refund(paid.id)
    again = wallets.refund(paid.id)  # a double tap
    assert again.id == back.id and back.id != paid.id
    assert (back.kind, back.from_wallet_id, back.to_wallet_id, back.amount, back.refund_of_id) == \
        ("refund", booth.wallet.id, wallet.id, 35_000, paid.id)
    assert balance(wallet.id) == CREDIT and balance(booth.wallet.id) == 0
    assert transfers() == 3 and wallets.check_ledger(event.id).ok
    with pytest.raises(LookupError):
        wallets.refund(back.id)  # a refund is not refunded


def test_the_ledger_check_notices_a_balance_moved_behind_its_back(event, booth):
    wallet = join(event)
    wallets.pay(wallet.id, booth.id, 10_000, wallets.new_key())
    assert wallets.check_ledger().ok
    _db.session.execute(update(Wallet).where(Wallet.id == wallet.id).values(balance=95_000))
    _db.session.commit()
    check = wallets.check_ledger(event.id)
    assert not check.ok and check.drifted == 1 and check.balances == check.issued + 5_000


# ---------------------------------------------------------------- wallet cards

@pytest.fixture
def card(event):
    volunteer = factories.make_user(roles=("volunteer",), hub=event.hub)
    return wallets.join(event.id, person(pin="2468"), wallets.new_key(), volunteer.id)


def test_a_card_token_names_its_wallet_and_any_change_breaks_it(app, event, card):
    with app.test_request_context():
        token = wallets.card_token(card, event)
        assert wallets.read_card(f"https://cho.example/phien-cho/the/{token}").id == card.id
        assert wallets.read_card(token).id == card.id
        forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        for bad in (forged, "", "abc", token.replace(".", "", 1)):
            with pytest.raises(WalletError, match="không hợp lệ"):
                wallets.read_card(bad)
        app.config["SECRET_KEY"], secret = "another-key", app.config["SECRET_KEY"]
        try:  # signed with another server's key
            with pytest.raises(WalletError, match="không hợp lệ"):
                wallets.read_card(token)
        finally:
            app.config["SECRET_KEY"] = secret


def test_a_card_expires_at_the_end_of_its_event(app, event, card):
    with app.test_request_context():
        token = wallets.card_token(card, event)
        with pytest.raises(WalletError, match="hết hạn"):
            wallets.read_card(token, now=event.ends_at)
        assert wallets.read_card(token, now=event.ends_at - timedelta(seconds=1)).id == card.id


def test_a_phone_wallet_has_no_card_to_forge(app, event):
    wallet = join(event)
    with app.test_request_context():
        with pytest.raises(WalletError, match="không hợp lệ"):
            wallets.read_card(wallets.card_token(wallet, event))


def test_card_payment_needs_the_pin_and_five_wrong_ones_lock_it(event, booth, card):
    for left in (4, 3, 2, 1):
        with pytest.raises(WalletError, match=f"còn {left} lần") as exc:
            wallets.pay_by_card(card, booth.id, "1111", 10_000, wallets.new_key())
        assert exc.value.field == "pin"
    with pytest.raises(WalletError, match="khóa"):
        wallets.pay_by_card(card, booth.id, "1111", 10_000, wallets.new_key())
    with pytest.raises(WalletError, match="khóa"):  # even the right PIN now
        wallets.pay_by_card(card, booth.id, "2468", 10_000, wallets.new_key())
    assert balance(card.id) == CREDIT and transfers("payment") == 0

    desk = factories.make_user(roles=("volunteer",), hub=event.hub)
    wallets.set_pin(desk.id, card.id, "1357")
    paid = wallets.pay_by_card(_db.session.get(Wallet, card.id), booth.id, "1357", 10_000,
                               wallets.new_key(), actor_id=booth.vendor.user_id)
    assert (paid.via, paid.actor_id) == ("card", booth.vendor.user_id)
    assert balance(card.id) == 90_000 and _db.session.get(Wallet, card.id).pin_attempts == 0


def test_a_good_pin_resets_the_count_of_wrong_ones(event, booth, card):
    for _ in range(4):
        with pytest.raises(WalletError):
            wallets.pay_by_card(card, booth.id, "0000", 1_000, wallets.new_key())
    wallets.pay_by_card(card, booth.id, "2468", 1_000, wallets.new_key())
    with pytest.raises(WalletError, match="còn 4 lần"):
        wallets.pay_by_card(card, booth.id, "0000", 1_000, wallets.new_key())


def test_a_right_pin_ends_the_count_even_when_the_payment_is_refused(event, booth, card):
    for _ in range(3):
        with pytest.raises(WalletError):
            wallets.pay_by_card(card, booth.id, "0000", 1_000, wallets.new_key())
    with pytest.raises(WalletError, match="không đủ"):
        wallets.pay_by_card(card, booth.id, "2468", CREDIT + 1_000, wallets.new_key())
    assert _db.session.get(Wallet, card.id).pin_attempts == 0


# ---------------------------------------------------------------- under real threads

def test_wrong_pins_at_twelve_booths_at_once_check_exactly_five(app, event, booth, card,
                                                                  monkeypatch):
    """Each try is counted before its PIN is checked: five are checked, the others find the card
    locked, however the twelve interleave."""
    checked = []

    def counted(pwhash, pin):
        checked.append(pin)
        return check_password_hash(pwhash, pin)

    monkeypatch.setattr(wallets, "check_password_hash", counted)
    card_id, booth_id = card.id, booth.id
    _results, errors = run_together(app, lambda i: wallets.pay_by_card(
        _db.session.get(Wallet, card_id), booth_id, "0000", 1_000, wallets.new_key()), 12)
    assert len(checked) == wallets.MAX_PIN_ATTEMPTS
    messages = sorted(str(e.message) for e in errors)
    assert len(errors) == 12 and all(isinstance(e, WalletError) for e in errors)
    assert sum("lần thử" in m for m in messages) == 4 and sum("bị khóa" in m for m in messages) == 8
    _db.session.rollback()  # a fresh read of what the threads wrote
    assert _db.session.get(Wallet, card_id).pin_attempts == wallets.MAX_PIN_ATTEMPTS
    assert balance(card_id) == CREDIT

def test_twenty_concurrent_payments_never_overdraw_one_wallet(app, event, booth):
    """A double-spend attempt: 20 payments of 30.000 at once from a 100.000 wallet."""
    wallet_id, booth_id = join(event).id, booth.id
    results, errors = run_together(
        app, lambda i: wallets.pay(wallet_id, booth_id, 30_000, wallets.new_key()).id, 20)
    assert len(results) == 3 and len(errors) == 17, errors[:3]
    assert all(isinstance(e, WalletError) and "không đủ" in e.message for e in errors)
    assert balance(wallet_id) == 10_000 and balance(booth.wallet.id) == 90_000
    check = wallets.check_ledger(event.id)
    assert check.ok and check.negative == 0 and check.transfers == 4


def test_the_same_key_twenty_times_at_once_is_applied_once(app, event, booth):
    wallet_id, booth_id, key = join(event).id, booth.id, wallets.new_key()
    results, errors = run_together(
        app, lambda i: wallets.pay(wallet_id, booth_id, 25_000, key).id, 20)
    assert not errors, errors[:3]
    assert len(results) == 20 and len(set(results)) == 1
    assert balance(wallet_id) == 75_000 and transfers("payment") == 1
    assert wallets.check_ledger(event.id).ok


def test_payments_and_refunds_crossing_between_two_wallets_never_deadlock(app, event, booth):
    """Payments lock participant then booth, refunds booth then participant: in id order."""
    wallet = join(event)
    paid = [wallets.pay(wallet.id, booth.id, 1_000, wallets.new_key()).id for _ in range(10)]
    wallet_id, booth_id = wallet.id, booth.id

    def work(i):
        if i % 2:
            return wallets.refund(paid[i // 2]).id
        return wallets.pay(wallet_id, booth_id, 1_000, wallets.new_key()).id

    results, errors = run_together(app, work, 20)
    assert not errors, errors[:3]
    assert len(results) == 20
    assert balance(wallet.id) == CREDIT - 10_000 and wallets.check_ledger(event.id).ok


def test_concurrent_joins_with_one_phone_make_one_wallet(app, event):
    event_id = event.id
    results, errors = run_together(app, lambda i: wallets.join(
        event_id, person(phone="0987654321"), wallets.new_key()).id, 10)
    assert len(set(results)) == 1 and len(errors) == 9
    assert all(isinstance(e, WalletError) and e.field == "phone" for e in errors)
    check = wallets.check_ledger(event.id)
    assert check.ok and check.issued == CREDIT


def test_a_wallet_card_cannot_pay_after_the_event_ended(event, booth, card):
    with pytest.raises(WalletError, match="đã đóng"):
        wallets.pay_by_card(card, booth.id, "2468", 1_000, wallets.new_key(),
                            now=datetime(2999, 1, 1))
    assert balance(card.id) == CREDIT
