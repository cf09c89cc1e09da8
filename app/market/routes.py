"""Phiên chợ 4.0: events and booths (organizer, vendor), practice wallets (participant, welcome
desk), paying a booth by practice QR or wallet card, real sales by VietQR, the live scoreboard and
the report.

A participant has no account: their wallet of an event is remembered in their session. Booth
screens are for the booth's vendor and the hub's organizers, the desk for its volunteers and
organizers; anything else is a 404. The live fragments answer 204 (htmx swaps nothing) while the
event's numbers have not changed.
"""
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from ..confirm import confirm_page, confirmed
from ..extensions import db, limiter
from ..forms import choices
from ..models import Booth, MarketEvent, Transfer, Wallet
from ..models.base import utcnow
from ..services import market, orders, payments, vietqr, wallets
from ..services.formatting import format_vnd
from ..store.routes import wants_fragment
from .forms import (
    ActionForm,
    BasketForm,
    CardPayForm,
    DeskForm,
    EventForm,
    InviteForm,
    JoinForm,
    PayForm,
    PinForm,
    basket_form,
)

bp = Blueprint("market", __name__, url_prefix="/phien-cho")

SESSION_KEY = "vi_tap"  # {event id: wallet id} of this browser's participant


@bp.context_processor
def _helpers():
    return {"points": wallets.points, "sale_statuses": market.SALE_STATUS_LABELS,
            "booth_statuses": market.BOOTH_STATUS_LABELS}


def _my_wallet_id(event_id: int) -> int | None:
    return session.get(SESSION_KEY, {}).get(str(event_id))


def _pay_rate_key() -> str:
    """Per participant: at a market every phone may share one address behind the venue's Wi-Fi."""
    mine = session.get(SESSION_KEY)
    return f"wallets:{sorted(mine.values())}" if mine else get_remote_address()


pay_limit = limiter.limit(lambda: current_app.config.get("MARKET_PAY_RATE_LIMIT", "30 per minute"),
                          key_func=_pay_rate_key, methods=["POST"])
join_limit = limiter.limit(lambda: current_app.config.get("MARKET_JOIN_RATE_LIMIT",
                                                          "60 per minute"), methods=["POST"])


def _event(event_id: int) -> MarketEvent:
    return db.get_or_404(MarketEvent, event_id)


def _managed(event_id: int) -> MarketEvent:
    event = _event(event_id)
    return event if market.organizes(current_user, event) else abort(404)


def _staff_booth(booth_id: int) -> Booth:
    booth = db.get_or_404(Booth, booth_id)
    return booth if market.runs_booth(current_user, booth) else abort(404)


def _live(page: str, fragment: str, version: str, **context):
    """The full page, or its live fragment for htmx; 204 when nothing changed since `v`."""
    if wants_fragment() and request.args.get("v") == version:
        return "", 204
    response = make_response(render_template(fragment if wants_fragment() else page,
                                             version=version, **context))
    response.vary.add("HX-Request")
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- events

@bp.get("/")
def index():
    current, past = market.events_list()
    mine = market.booths_of_user(current_user.id) if current_user.is_authenticated else []
    organizing = current_user.is_authenticated and current_user.has_role("organizer")
    return render_template("market/index.html", current=current, past=past[:10], booths=mine,
                           organizing=organizing)


@bp.route("/tao", methods=["GET", "POST"])
@login_required
def create():
    hubs = market.organizer_hubs(current_user)
    if not hubs:
        abort(404)
    form = EventForm(hubs)
    if form.validate_on_submit():
        try:
            event = market.create_event(current_user.id, form.fields())
        except market.MarketError as exc:
            form.show(exc)
        else:
            flash(_("Đã tạo phiên chợ. Hãy mời các gian hàng."), "success")
            return redirect(url_for(".event", event_id=event.id), code=303)
    return render_template("market/event_form.html", form=form), 422 if form.errors else 200


@bp.get("/<int:event_id>")
def event(event_id: int):
    event = _event(event_id)
    managing = market.organizes(current_user, event)
    invite_form = InviteForm()
    invite_form.vendor_ids.choices = choices((v.id, v.business_name) for v in
                                             market.invitable_vendors(event)) if managing else []
    return render_template(
        "market/event.html", event=event, managing=managing, invite_form=invite_form,
        booths=market.booths_of(event.id) if managing else market.accepted_booths(event.id),
        is_open=event.is_open(utcnow()), wallet_id=_my_wallet_id(event.id),
        desk=wallets.acts_for_desk(current_user if current_user.is_authenticated else None,
                                   event))


@bp.post("/<int:event_id>/moi")
@login_required
def invite(event_id: int):
    event = _managed(event_id)
    form = InviteForm()
    form.vendor_ids.choices = choices((v.id, v.business_name)
                                      for v in market.invitable_vendors(event))
    try:
        if not form.validate_on_submit():
            raise market.MarketError(_("Vui lòng chọn gian hàng để mời."))
        booths = market.invite(current_user.id, event.id, form.vendor_ids.data)
    except market.MarketError as exc:
        flash(str(exc.message), "error")
    else:
        flash(ngettext("Đã gửi lời mời tới %(n)s gian hàng.", "Đã gửi lời mời tới %(n)s gian hàng.",
                       len(booths), n=len(booths)), "success")
    return redirect(url_for(".event", event_id=event.id), code=303)


@bp.post("/<int:event_id>/dong")
@login_required
def close(event_id: int):
    event = _managed(event_id)
    if event.status == "open" and not confirmed():
        return confirm_page(
            _("Đóng %(name)s?", name=event.name),
            [_("Phiên chợ kết thúc ngay và không mở lại được: không ai tham gia, trả điểm hay "
               "hoàn điểm được nữa."),
             _("Số liệu của phiên chợ được chốt vào báo cáo.")],
            _("Xác nhận đóng phiên chợ"), url_for(".event", event_id=event.id))
    if ActionForm().validate_on_submit():
        market.close_event(current_user.id, event.id)
        flash(_("Phiên chợ đã đóng. Báo cáo đã sẵn sàng."), "success")
    return redirect(url_for(".report", event_id=event.id), code=303)


# ---------------------------------------------------------------- booths

def _booth_action(action, booth_id: int, done: str):
    booth = db.get_or_404(Booth, booth_id)
    try:
        if not ActionForm().validate_on_submit():
            abort(400)
        action(current_user.id, booth_id)
    except LookupError:
        abort(404)
    except market.MarketError as exc:
        flash(str(exc.message), "error")
    else:
        flash(done, "success")
    back = ".event" if market.organizes(current_user, booth.event) else ".index"
    return redirect(url_for(back, event_id=booth.event_id), code=303)


@bp.post("/gian-hang/<int:booth_id>/nhan-loi")
@login_required
def accept(booth_id: int):
    return _booth_action(market.accept_booth, booth_id, _("Đã xếp gian hàng vào phiên chợ."))


@bp.post("/gian-hang/<int:booth_id>/tu-choi")
@login_required
def decline(booth_id: int):
    return _booth_action(market.decline_booth, booth_id, _("Đã từ chối lời mời."))


@bp.get("/gian-hang/<int:booth_id>")
@login_required
def booth(booth_id: int):
    booth = _staff_booth(booth_id)
    if booth.status != "accepted":
        abort(404)
    feed = market.booth_feed(booth)
    return _live("market/booth.html", "market/_booth_live.html", market.version(booth.event_id),
                 booth=booth, event=booth.event, figures=market.booth_figures(booth), feed=feed,
                 sales=market.booth_sales(booth.id), seen=request.args.get("sau", type=int),
                 refunded=wallets.refunded_ids(t.id for t in feed))


@bp.get("/gian-hang/<int:booth_id>/ap-phich")
@login_required
def poster(booth_id: int):
    booth = _staff_booth(booth_id)
    if booth.status != "accepted":
        abort(404)
    vendor = booth.vendor
    real = vietqr.build(vendor.bank_bin, vendor.account_number, name=vendor.account_holder)
    practice_url = url_for(".pay", booth_id=booth.id, _external=True)
    return render_template("market/poster.html", booth=booth, event=booth.event, vendor=vendor,
                           size="a5" if request.args.get("kho") == "a5" else "a4",
                           bank=vietqr.bank_by_bin(vendor.bank_bin),
                           real_svg=vietqr.qr_svg(vietqr.encode(real)),
                           practice_svg=vietqr.qr_svg(practice_url), practice_url=practice_url)


# ---------------------------------------------------------------- participants: joining

def _remember(wallet: Wallet) -> None:
    session.permanent = True  # a closed browser tab keeps the wallet until the event is over
    session[SESSION_KEY] = {**session.get(SESSION_KEY, {}), str(wallet.event_id): wallet.id}


@bp.route("/<int:event_id>/tham-gia", methods=["GET", "POST"])
@join_limit
def join(event_id: int):
    event = _event(event_id)
    back = request.args.get("tiep", "")
    back = back if back.startswith("/phien-cho/") else url_for(".wallet", event_id=event.id)
    if wallets.wallet_of(_my_wallet_id(event.id), event.id):
        return redirect(back, code=303)
    form = JoinForm()
    if form.validate_on_submit() and form.consented():
        try:
            wallet = wallets.join(event.id, form.participant(), form.key.data)
        except wallets.WalletError as exc:
            form.show(exc)
        else:
            _remember(wallet)
            return redirect(back, code=303)
    return render_template("market/join.html", event=event, form=form,
                           is_open=event.is_open(utcnow())), 422 if form.errors else 200


@bp.get("/<int:event_id>/vi")
def wallet(event_id: int):
    event = _event(event_id)
    wallet = wallets.wallet_of(_my_wallet_id(event.id), event.id)
    if wallet is None:
        return redirect(url_for(".join", event_id=event.id), code=303)
    return _live("market/wallet.html", "market/_wallet_live.html", market.version(event.id),
                 event=event, wallet=wallet, history=wallets.history(wallet.id),
                 booths=market.accepted_booths(event.id))


@bp.get("/the/<token>")
def card(token: str):
    """What a wallet card's QR opens: the card holder's balance (the PIN is still needed to pay)."""
    try:
        wallet = wallets.read_card(token)
    except wallets.WalletError as exc:
        return render_template("market/card.html", error=exc.message, wallet=None), 404
    return render_template("market/card.html", wallet=wallet, event=db.session.get(
        MarketEvent, wallet.event_id), history=wallets.history(wallet.id, 5), error=None)


# ---------------------------------------------------------------- paying a booth by phone

@bp.route("/gian-hang/<int:booth_id>/tra-diem", methods=["GET", "POST"])
@pay_limit
def pay(booth_id: int):
    """GET: the booth's products or an amount, then the confirmation; POST: the payment."""
    mine = session.get(SESSION_KEY, {})
    if request.method == "POST" and len(mine) == 1:  # the hot path: one wallet, one query less
        return _pay_confirmed(booth_id, next(iter(mine.values())))  # its event is checked there
    booth = db.get_or_404(Booth, booth_id)
    event, wallet_id = booth.event, _my_wallet_id(booth.event_id)
    if request.method == "POST" and wallet_id:
        return _pay_confirmed(booth_id, wallet_id)
    wallet = wallets.wallet_of(wallet_id, event.id)
    if wallet is None:
        return redirect(url_for(".join", event_id=event.id, tiep=request.path), code=303)
    form = basket_form(BasketForm, market.booth_products(booth), csrf=False,
                       formdata=request.args or None)
    confirm = None
    if request.args and form.validate():
        try:
            chosen = market.basket(booth, form.quantities(), form.amount.data)
        except market.MarketError as exc:
            form.show(exc)
        else:
            confirm = PayForm(formdata=None, amount=chosen.total, note=chosen.note,
                              key=wallets.new_key())
    return render_template("market/pay.html", booth=booth, event=event, wallet=wallet,
                           form=None if confirm else form, confirm=confirm,
                           is_open=event.is_open(utcnow())), 422 if form.errors else 200


def _pay_confirmed(booth_id: int, wallet_id: int):
    confirm = PayForm()
    if confirm.validate_on_submit():
        try:
            done = wallets.pay(wallet_id, booth_id, confirm.amount.data, confirm.key.data,
                               confirm.note.data or "")
        except LookupError:  # a wallet this browser remembers no longer exists
            session.pop(SESSION_KEY, None)
            return redirect(url_for(".pay", booth_id=booth_id), code=303)
        except wallets.WalletError as exc:
            confirm.show(exc)
        else:
            return redirect(url_for(".receipt", transfer_id=done.id), code=303)
    booth = db.get_or_404(Booth, booth_id)
    wallet = wallets.wallet_of(wallet_id, booth.event_id)
    if wallet is None:  # this browser's wallet is of another event
        return redirect(url_for(".join", event_id=booth.event_id, tiep=request.path), code=303)
    is_open = booth.event.is_open(utcnow())
    if not is_open:  # the page says it once, in place of the payment (not as a form's error)
        confirm.form_errors.clear()
    return render_template("market/pay.html", booth=booth, event=booth.event, wallet=wallet,
                           confirm=confirm, form=None, is_open=is_open), 422


@bp.get("/giao-dich/<int:transfer_id>")
def receipt(transfer_id: int):
    transfer = db.get_or_404(Transfer, transfer_id)
    if transfer.kind == "credit":
        abort(404)
    payer = transfer.from_wallet if transfer.kind == "payment" else transfer.to_wallet
    booth = (transfer.to_wallet if transfer.kind == "payment" else transfer.from_wallet).booth
    if _my_wallet_id(transfer.event_id) != payer.id and not market.runs_booth(current_user, booth):
        abort(404)
    return render_template("market/receipt.html", transfer=transfer, payer=payer, booth=booth,
                           refunded=wallets.refunded_ids([transfer.id]))


@bp.post("/giao-dich/<int:transfer_id>/hoan")
@login_required
def refund(transfer_id: int):
    transfer = db.get_or_404(Transfer, transfer_id)
    booth = transfer.to_wallet.booth if transfer.kind == "payment" else None
    if booth is None or not market.runs_booth(current_user, booth):
        abort(404)
    if not confirmed():
        return confirm_page(
            ngettext("Hoàn %(n)s điểm cho %(name)s?", "Hoàn %(n)s điểm cho %(name)s?",
                     transfer.amount, n=wallets.points(transfer.amount),
                     name=transfer.from_wallet.name),
            [_("Số điểm trở lại ví của người trả; lần trả này không dùng lại được. Mỗi lần trả "
               "chỉ hoàn được một lần.")],
            _("Xác nhận hoàn điểm"), url_for(".booth", booth_id=booth.id))
    if ActionForm().validate_on_submit():
        try:
            wallets.refund(transfer.id, current_user.id)
        except wallets.WalletError as exc:
            flash(str(exc.message), "error")
        else:
            flash(ngettext("Đã hoàn %(n)s điểm cho %(name)s.", "Đã hoàn %(n)s điểm cho %(name)s.",
                           transfer.amount, n=wallets.points(transfer.amount),
                           name=transfer.from_wallet.name), "success")
    return redirect(url_for(".booth", booth_id=booth.id), code=303)


# ---------------------------------------------------------------- paying a booth by wallet card

@bp.route("/gian-hang/<int:booth_id>/the", methods=["GET", "POST"])
@login_required
def card_pay(booth_id: int):
    booth = _staff_booth(booth_id)
    form = basket_form(CardPayForm, market.booth_products(booth))
    text = form.card.data if request.method == "POST" else request.args.get("the", "")
    holder, error = None, None
    if text:
        try:
            holder = wallets.read_card(text)
            if holder.event_id != booth.event_id:
                raise wallets.WalletError(_("Thẻ này của phiên chợ khác."))
        except wallets.WalletError as exc:
            holder, error = None, exc.message
    if holder and form.validate_on_submit():
        try:
            chosen = market.basket(booth, form.quantities(), form.amount.data)
            done = wallets.pay_by_card(holder, booth.id, form.pin.data, chosen.total,
                                       form.key.data, chosen.note, current_user.id)
        except (market.MarketError, wallets.WalletError) as exc:
            form.show(exc)
        else:
            flash(ngettext("%(name)s đã trả %(n)s điểm.", "%(name)s đã trả %(n)s điểm.",
                           done.amount, name=holder.name, n=wallets.points(done.amount)),
                  "success")
            return redirect(url_for(".booth", booth_id=booth.id), code=303)
    form.card.data = text
    return render_template("market/card_pay.html", booth=booth, form=form, holder=holder,
                           error=error), 422 if form.errors or error else 200


# ---------------------------------------------------------------- real sales by VietQR

@bp.route("/gian-hang/<int:booth_id>/ban", methods=["GET", "POST"])
@login_required
def sale_new(booth_id: int):
    booth = _staff_booth(booth_id)
    form = basket_form(BasketForm, market.booth_products(booth))
    if form.validate_on_submit():
        try:
            chosen = market.basket(booth, form.quantities(), form.amount.data)
            sale = market.create_sale(current_user.id, booth.id, chosen, form.key.data)
        except market.MarketError as exc:
            form.show(exc)
        else:
            return redirect(url_for(".sale", sale_id=sale.id), code=303)
    return render_template("market/sale_form.html", booth=booth, form=form), \
        422 if form.errors else 200


@bp.get("/ban-hang/<int:sale_id>")
@login_required
def sale(sale_id: int):
    sale = market.sale_for(current_user, sale_id) or abort(404)
    payment = payments.payment_for(sale) if sale.status == "awaiting_payment" else None
    return _live("market/sale.html", "market/_sale_status.html", sale.status, sale=sale,
                 booth=sale.booth, payment=payment)


def _sale_action(action, sale_id: int, done: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        sale = action(current_user.id, sale_id)
    except LookupError:
        abort(404)
    except (orders.OrderError, market.MarketError) as exc:
        flash(str(exc.message), "error")
        return redirect(url_for(".sale", sale_id=sale_id), code=303)
    flash(done, "success")
    return redirect(url_for(".booth", booth_id=sale.booth_id), code=303)


@bp.post("/ban-hang/<int:sale_id>/da-nhan-tien")
@login_required
def sale_confirm(sale_id: int):
    return _sale_action(payments.confirm_sale, sale_id, _("Đã ghi nhận tiền về tài khoản."))


@bp.post("/ban-hang/<int:sale_id>/huy")
@login_required
def sale_cancel(sale_id: int):
    if not confirmed():
        sale = market.sale_for(current_user, sale_id) or abort(404)
        return confirm_page(
            _("Hủy giao dịch %(code)s (%(amount)s)?", code=sale.code,
              amount=format_vnd(sale.total)),
            [_("Giao dịch bị hủy và không khôi phục được; mã VietQR của nó không dùng được nữa."),
             _("Nếu người mua đã chuyển khoản, bạn tự trả lại tiền cho họ.")],
            _("Xác nhận hủy giao dịch"), url_for(".sale", sale_id=sale.id))
    return _sale_action(market.cancel_sale, sale_id, _("Đã hủy giao dịch."))


# ---------------------------------------------------------------- the welcome desk

def _desk_event(event_id: int) -> MarketEvent:
    event = _event(event_id)
    return event if wallets.acts_for_desk(current_user, event) else abort(404)


@bp.route("/<int:event_id>/ban-ho-tro", methods=["GET", "POST"])
@login_required
def desk(event_id: int):
    event = _desk_event(event_id)
    form = DeskForm()
    if form.validate_on_submit() and form.consented():
        try:
            wallet = wallets.join(event.id, form.participant(), form.key.data, current_user.id)
        except wallets.WalletError as exc:
            form.show(exc)
        else:
            return redirect(url_for(".wallet_card", wallet_id=wallet.id), code=303)
    found = wallets.find(event.id, request.args.get("tim", ""))
    return render_template("market/desk.html", event=event, form=form, found=found,
                           query=request.args.get("tim", ""), recent=wallets.cards(event.id)), \
        422 if form.errors else 200


@bp.route("/vi/<int:wallet_id>/the-in", methods=["GET", "POST"])
@login_required
def wallet_card(wallet_id: int):
    wallet = db.get_or_404(Wallet, wallet_id)
    event = _desk_event(wallet.event_id)
    if wallet.booth_id is not None:
        abort(404)
    form = PinForm()
    if form.validate_on_submit():
        try:
            wallet = wallets.set_pin(current_user.id, wallet.id, form.pin.data)
        except wallets.WalletError as exc:
            form.show(exc)
        else:
            flash(_("Đã đặt mã PIN mới. Thẻ dùng được ngay."), "success")
            return redirect(url_for(".wallet_card", wallet_id=wallet.id), code=303)
    url = url_for(".card", token=wallets.card_token(wallet, event), _external=True) \
        if wallet.has_card else None
    return render_template("market/wallet_card.html", wallet=wallet, event=event, form=form,
                           card_svg=vietqr.qr_svg(url) if url else None), \
        422 if form.errors else 200


# ---------------------------------------------------------------- scoreboard and report

@bp.get("/<int:event_id>/bang-diem")
def dashboard(event_id: int):
    event = _event(event_id)
    return _live("market/dashboard.html", "market/_dashboard_live.html", market.version(event.id),
                 event=event, figures=market.figures(event), bars=market.timeline(event),
                 chart=(market.CHART_WIDTH, market.CHART_HEIGHT))


@bp.get("/<int:event_id>/bao-cao")
@login_required
def report(event_id: int):
    event = _managed(event_id)
    return render_template("market/report.html", event=event, figures=market.figures(event),
                           ledger=wallets.check_ledger(event.id), bars=market.timeline(event),
                           chart=(market.CHART_WIDTH, market.CHART_HEIGHT))


@bp.get("/<int:event_id>/bao-cao.csv")
@login_required
def report_csv(event_id: int):
    event = _managed(event_id)
    return Response(market.report_csv(market.figures(event)), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="bao-cao-phien-cho-{event.id}.csv"'})
