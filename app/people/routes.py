"""People of a union unit (issue #11): who holds which role since when, inviting by phone or by a
one-time link shown as a QR code, cancelling invitations and revoking roles — for the unit's
organizers (a unit outside their subtree is a 404, a role above their own a 403). And the invited
person's side: the link's page, and their account's invitations by phone."""
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Invitation, UserRole
from ..services import people as svc
from ..services.hubs import unit_for
from ..services.vietqr import qr_svg
from .forms import InviteForm

bp = Blueprint("people", __name__)

LINKS_KEPT = 5  # link tokens the organizer's session keeps to show again (newest first)


def _unit(hub_id: int):
    return unit_for(current_user, hub_id) or abort(404)


def _page(hub, form, status=200):
    return render_template("people/unit.html", hub=hub, form=form,
                           holders=svc.people_of(hub), invitations=svc.open_invitations(hub.id),
                           role_labels=svc.ROLE_LABELS), status


@bp.get("/quan-ly/don-vi/<int:hub_id>/thanh-vien")
@login_required
def unit(hub_id: int):
    return _page(_unit(hub_id), InviteForm())


@bp.post("/quan-ly/don-vi/<int:hub_id>/thanh-vien/moi")
@login_required
def invite(hub_id: int):
    hub = _unit(hub_id)
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(hub, form, 422)
    try:
        created = svc.invite(current_user.id, hub.id, form.role.data, form.invited_phone())
    except LookupError:
        abort(404)
    except svc.NotAllowed:
        abort(403)
    except svc.PeopleError as exc:
        form.show(exc)
        return _page(hub, form, 422)
    if created.token is None:
        flash(_("Đã gửi lời mời. Người được mời nhận lời trong trang Tài khoản sau khi đăng nhập "
                "hoặc đăng ký bằng số này."), "success")
        return redirect(url_for(".unit", hub_id=hub.id), code=303)
    # The link's secret is stored hashed: this session keeps it so that the page can show it.
    links = {str(created.invitation_id): created.token, **session.get("invite_links", {})}
    session["invite_links"] = dict(list(links.items())[:LINKS_KEPT])
    return redirect(url_for(".invitation", hub_id=hub.id, invitation_id=created.invitation_id),
                    code=303)


def _invitation(hub_id: int, invitation_id: int) -> Invitation:
    hub = _unit(hub_id)
    inv = db.session.get(Invitation, invitation_id)
    if inv is None or inv.hub_id != hub.id:
        abort(404)
    return inv


@bp.get("/quan-ly/don-vi/<int:hub_id>/loi-moi/<int:invitation_id>")
@login_required
def invitation(hub_id: int, invitation_id: int):
    """A link invitation: the link and its QR code, while this session still knows the secret."""
    inv = _invitation(hub_id, invitation_id)
    token = session.get("invite_links", {}).get(str(inv.id)) if svc.is_open(inv) else None
    link = url_for(".join", token=token, _external=True) if token else None
    return render_template("people/invitation.html", inv=inv, hub=inv.hub, link=link,
                           qr=qr_svg(link) if link else None, open=svc.is_open(inv),
                           role_labels=svc.ROLE_LABELS)


@bp.route("/quan-ly/don-vi/<int:hub_id>/loi-moi/<int:invitation_id>/huy",
          methods=["GET", "POST"])
@login_required
def cancel_invitation(hub_id: int, invitation_id: int):
    inv = _invitation(hub_id, invitation_id)
    if request.method == "GET":
        return render_template("people/cancel.html", inv=inv, hub=inv.hub,
                               open=svc.is_open(inv), role_labels=svc.ROLE_LABELS)
    svc.cancel(current_user.id, inv.id)
    flash(_("Đã hủy lời mời."), "success")
    return redirect(url_for(".unit", hub_id=hub_id), code=303)


@bp.route("/quan-ly/don-vi/<int:hub_id>/vai-tro/<int:role_id>/thu-hoi", methods=["GET", "POST"])
@login_required
def revoke(hub_id: int, role_id: int):
    """GET: what revoking does and the button; POST: revoke (the holder is signed out)."""
    hub = _unit(hub_id)
    role = svc.role_in_reach(current_user, role_id)
    if role is None and db.session.get(UserRole, role_id) is None:
        # Revoked meanwhile (another organizer, a second press): nothing left to do.
        flash(_("Vai trò này đã được thu hồi."), "success")
        return redirect(url_for(".unit", hub_id=hub.id), code=303)
    if role is None or role.hub_id != hub.id:
        abort(404)
    if not svc.may_grant(current_user, role.role, hub.id):
        abort(403)
    error = None
    if request.method == "POST":
        try:
            name = svc.revoke(current_user.id, role.id)
        except LookupError:
            abort(404)
        except svc.PeopleError as exc:
            error = str(exc.message)
        else:
            flash(_("Đã thu hồi vai trò của %(name)s.", name=name), "success")
            return redirect(url_for(".unit", hub_id=hub.id), code=303)
    return render_template("people/revoke.html", role=role, hub=hub, error=error,
                           role_labels=svc.ROLE_LABELS), 422 if error else 200


# ---------------------------------------------------------------- the invited person

def _welcome(role):
    flash(_("Bạn đã là %(role)s của %(unit)s.", role=svc.ROLE_LABELS[role.role],
            unit=role.hub.name), "success")
    if role.role == "volunteer" and role.hub.holds_stock:
        return redirect(url_for("store.manage"), code=303)
    if role.role == "organizer":
        return redirect(url_for("units.detail", hub_id=role.hub_id), code=303)
    return redirect(url_for("accounts.profile"), code=303)


@bp.get("/loi-moi/<token>")
def join(token: str):
    """A one-time link's page: who invites to what until when; a signed-in person accepts it."""
    inv = svc.by_token(token) or abort(404)
    return _join_page(inv, token, svc.is_open(inv))


@bp.post("/loi-moi/<token>/nhan")
@login_required
def take(token: str):
    inv = svc.by_token(token) or abort(404)
    try:
        return _welcome(svc.accept(current_user.id, inv.id))
    except svc.PeopleError:
        return _join_page(inv, token, False, 422)


def _join_page(inv, token, is_open, status=None):
    return render_template("people/join.html", inv=inv, open=is_open, token=token,
                           role_labels=svc.ROLE_LABELS), status or (200 if is_open else 410)


@bp.get("/tai-khoan/loi-moi")
@login_required
def mine():
    return render_template("people/mine.html", invitations=svc.for_phone(current_user.phone),
                           role_labels=svc.ROLE_LABELS)


@bp.post("/tai-khoan/loi-moi/<int:invitation_id>/nhan")
@login_required
def accept(invitation_id: int):
    try:
        return _welcome(svc.accept(current_user.id, invitation_id))
    except LookupError:
        abort(404)
    except svc.PeopleError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for(".mine"), code=303)


@bp.post("/tai-khoan/loi-moi/<int:invitation_id>/tu-choi")
@login_required
def decline(invitation_id: int):
    try:
        svc.decline(current_user.id, invitation_id)
    except LookupError:
        abort(404)
    flash(_("Đã từ chối lời mời."), "success")
    return redirect(url_for(".mine"), code=303)
