"""The confirm step of an action that cannot be undone (cancelling a request, closing a market,
rejecting, refunding, cancelling an order or a sale).

The action's button posts as before; that first post changes nothing and answers this page: what
will happen, "Xác nhận …" and "Quay lại". Only the post of its "Xác nhận" button (confirm=yes,
with the same CSRF token and whatever the first post carried, such as a reason) acts. No
JavaScript needed; one pattern for every such button. A route checks who may act *before* it
answers the page (someone else's object is a 404 at either step).
"""
from flask import render_template, request


def confirmed() -> bool:
    """The post comes from the confirm page's "Xác nhận" button."""
    return request.form.get("confirm") == "yes"


def confirm_page(heading: str, effects: list[str], confirm_label: str, back: str,
                 carry: tuple[str, ...] = ()):
    """The confirm page, posting back to this URL; `carry` names the posted fields it sends
    again (a reason typed with the button)."""
    carried = {name: request.form.get(name, "") for name in carry}
    return render_template("confirm.html", heading=heading, effects=effects,
                           confirm_label=confirm_label, back=back, carried=carried)
