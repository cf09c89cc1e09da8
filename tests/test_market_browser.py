"""Phiên chợ 4.0 in real phone-sized Chromium (CSRF on, strict CSP): a participant scans a booth's
practice QR, joins and pays; the booth screen shows the payment within two seconds (with its flash);
the projector's scoreboard moves; a booth reads a wallet card with the (fake) camera and the
participant confirms with the PIN. Screenshots are left in the test's tmp_path."""
from playwright.sync_api import expect, sync_playwright

from app.models import MarketEvent
from app.services import wallets
from app.services.phones import display_phone
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    live_server,
    phone_browser,
    require_chromium,
)
from tests.factories import PASSWORD, make_user
from tests.test_handover import _qr_video
from tests.test_wallets import booth_of, market_event


def _watch(page, problems):
    """Script errors and CSP violations; a form answered 422 (the house's "fix the fields") is
    logged by Chromium as a failed resource and is not one."""
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and "status of 422" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))


def _log_in(page, base, user):
    page.goto(f"{base}/tai-khoan/dang-nhap")
    page.fill("#phone", display_phone(user.phone))
    page.fill("#password", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url(lambda url: "dang-nhap" not in url)


def test_a_participant_pays_by_practice_qr_and_the_booth_sees_it_live(database_url, db,
                                                                      tmp_path):
    require_chromium()
    event = market_event()
    booth = booth_of(event)
    booth_id, event_id, vendor = booth.id, event.id, booth.vendor.user
    problems = []
    with live_server(database_url, str(tmp_path)) as (base, _), phone_browser() as phone:
        stall = phone.context.browser.new_context(viewport=PHONE, is_mobile=True,
                                                  has_touch=True, locale="vi-VN").new_page()
        stall.set_default_timeout(15000)
        for page in (phone, stall):
            _watch(page, problems)
        # the booth: its screen, polling every second, and its poster
        _log_in(stall, base, vendor)
        stall.goto(f"{base}/phien-cho/gian-hang/{booth_id}/ap-phich")
        expect(stall.locator(".poster-code svg")).to_have_count(2)
        stall.screenshot(path=str(tmp_path / "poster.png"), full_page=True)
        stall.goto(f"{base}/phien-cho/gian-hang/{booth_id}")
        expect(stall.locator("#sound-toggle")).to_be_visible()  # market.js ran under the CSP
        stall.click("#sound-toggle")

        # the participant scans the practice QR: not joined yet, so the join form first
        phone.goto(f"{base}/phien-cho/gian-hang/{booth_id}/tra-diem")
        phone.fill("#name", "Trần Thị Cúc")
        phone.fill("#phone", "0912 000 111")
        phone.check('input[name="first_qr"][value="yes"]')
        phone.check("#consent")
        phone.click("form button.primary")
        phone.wait_for_url(f"{base}/phien-cho/gian-hang/{booth_id}/tra-diem")
        expect(phone.locator(".pay-page")).to_contain_text("100.000 điểm")
        phone.fill(".basket-line:has-text('Bánh tráng') input", "2")
        phone.click("text=Tiếp tục")
        expect(phone.locator(".confirm-amount")).to_have_text("70.000 điểm")
        phone.screenshot(path=str(tmp_path / "pay-confirm.png"), full_page=True)
        phone.click("#confirm-pay")
        expect(phone.locator(".receipt-ok")).to_contain_text("Đã trả")
        phone.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)

        # the booth sees it within two seconds, flashed
        row = stall.locator(".feed-item.is-new", has_text="Trần Thị Cúc")
        expect(row).to_be_visible(timeout=2000)
        expect(stall.locator(".booth-kpis .practice .kpi-value")).to_have_text("70.000")
        stall.screenshot(path=str(tmp_path / "booth.png"), full_page=True)

        # the projector's scoreboard
        stall.goto(f"{base}/phien-cho/{event_id}/bang-diem")
        expect(stall.locator(".score-kpis .kpi-value").first).to_have_text("1")
        phone.goto(f"{base}/phien-cho/gian-hang/{booth_id}/tra-diem?amount=5.000")
        phone.click("#confirm-pay")
        expect(stall.locator(".score-kpis .kpi-value").first).to_have_text("2", timeout=3000)
        stall.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        expect(phone.locator(".receipt-ok")).to_be_visible()
        # two payments, two refund buttons: the page's element ids stay unique (live_server
        # checks every page), so htmx's settling never copies attributes between them
        stall.goto(f"{base}/phien-cho/gian-hang/{booth_id}")
        expect(stall.locator(".feed-item form")).to_have_count(2)
    assert not problems, problems
    db.session.rollback()
    assert wallets.check_ledger(event_id).ok


def test_a_booth_reads_a_wallet_card_with_the_camera_and_takes_the_pin(app, database_url, db,
                                                                        tmp_path):
    require_chromium()
    event = market_event()
    booth = booth_of(event)
    volunteer = make_user(roles=("volunteer",), hub=event.hub)
    card = wallets.join(event.id, wallets.Participant("Bà Tư", "", True, "2468"),
                        wallets.new_key(), volunteer.id)
    with app.test_request_context():
        token = wallets.card_token(card, db.session.get(MarketEvent, event.id))
    booth_id, vendor, card_id = booth.id, booth.vendor.user, card.id
    problems = []
    with live_server(database_url, str(tmp_path)) as (base, _), sync_playwright() as pw:
        _qr_video(tmp_path / "qr.y4m", f"{base}/phien-cho/the/{token}")
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={tmp_path / 'qr.y4m'}"])
        page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
        page.set_default_timeout(15000)
        _watch(page, problems)
        try:
            _log_in(page, base, volunteer)  # the desk prints the card
            page.goto(f"{base}/phien-cho/vi/{card_id}/the-in")
            expect(page.locator(".wallet-card svg")).to_be_visible()
            page.screenshot(path=str(tmp_path / "wallet-card.png"), full_page=True)
            page.context.clear_cookies()
            _log_in(page, base, vendor)
            page.goto(f"{base}/phien-cho/gian-hang/{booth_id}/the")
            page.click("#card-scan-start")
            # decoding camera frames in JS is slow on a busy 2-core machine: allow it time
            expect(page.locator("main")).to_contain_text("Bà Tư", timeout=60000)  # scanned, read
            page.fill("#amount", "35.000")
            page.fill("#pin", "1111")
            page.click("text=Trả điểm")
            expect(page.locator(".error")).to_contain_text("còn 4 lần thử")
            page.fill("#pin", "2468")
            page.click("text=Trả điểm")
            expect(page.locator(".flash-success")).to_contain_text("Bà Tư đã trả 35.000 điểm")
            page.screenshot(path=str(tmp_path / "card-paid.png"), full_page=True)
        finally:
            browser.close()
    assert not problems, problems
    db.session.rollback()
    assert wallets.history(card_id)[0].amount == 35_000
