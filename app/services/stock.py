"""The one stock rule, for donated items and start-up products alike.

A unit is taken by a conditional UPDATE (`counter >= n`) whose row count is checked, inside the
transaction that records the request/order, so the last unit never goes to two people. Helpers only
execute; the calling use-case commits.
"""
from sqlalchemy import update
from sqlalchemy.orm import InstrumentedAttribute

from ..extensions import db


def take(counter: InstrumentedAttribute, row_id: int, quantity: int) -> bool:
    """Take `quantity` units of a listed row's `counter` (e.g. Item.available); False if not
    enough."""
    model = counter.class_
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, counter >= quantity, model.is_listed.is_(True))
        .values({counter.key: counter - quantity})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def give_back(counter: InstrumentedAttribute, row_id: int, quantity: int) -> None:
    model = counter.class_
    db.session.execute(
        update(model).where(model.id == row_id).values({counter.key: counter + quantity})
        .execution_options(synchronize_session=False)
    )
