"""The audit log: what volunteers, organizers, vendors and admins change, written without touching
the services that change it.

A request hook (app.admin.register) puts the logged-in user in `current_actor` when they hold one of
ACTOR_ROLES; a student's own actions are not logged. Two session listeners then turn every write
to an audited model into an AuditEntry in the same transaction (rolled back with it):
- after_flush: the ORM's inserts, updates and deletes (attribute history tells what changed);
- do_orm_execute: UPDATE/INSERT/DELETE statements the services run themselves (the conditional
  updates of stock, statuses and balances), recorded only when they changed a row.
Field names are kept, plus the values of a few harmless fields (statuses, counts, prices) and
of the public settings a person reads back "before → after" (READABLE: a union unit's settings and
delivery wards, an item's listing): never a student's or donor's name, phone, address, codes or
tokens. A unit's contact phone is the union's own public number and may be kept.
"""
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import event, insert, inspect, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter

from ..models import (
    AuditEntry,
    BankTransaction,
    Booth,
    BoothSale,
    DeliveryRun,
    Donation,
    DonationLine,
    Hub,
    Invitation,
    Item,
    ItemRequest,
    MarketEvent,
    OneTimeCode,
    Order,
    Product,
    Route,
    RunStop,
    Transfer,
    User,
    UserRole,
    Vendor,
    VolunteerSignup,
    Wallet,
)
from . import geo
from .formatting import local_midnight_utc
from .phones import display_phone, normalize_vn_mobile

current_actor: ContextVar[int | None] = ContextVar("audit_actor", default=None)

ACTOR_ROLES = ("volunteer", "organizer", "vendor", "admin")

# What is logged, with the label the admin page shows.
AUDITED = {
    ItemRequest: _l("Yêu cầu nhận đồ"), Item: _l("Món đồ"), Donation: _l("Quà tặng"),
    DonationLine: _l("Món quà tặng"), DeliveryRun: _l("Chuyến giao"), Route: _l("Tuyến giao"),
    RunStop: _l("Bưu kiện"), VolunteerSignup: _l("Lịch giao"), Vendor: _l("Gian hàng"),
    Product: _l("Sản phẩm"), Order: _l("Đơn hàng"), BankTransaction: _l("Chuyển khoản"),
    MarketEvent: _l("Phiên chợ"), Booth: _l("Gian hàng phiên chợ"),
    BoothSale: _l("Bán hàng tại phiên chợ"), Wallet: _l("Ví tập"), Transfer: _l("Giao dịch ví"),
    UserRole: _l("Vai trò"), OneTimeCode: _l("Mã khôi phục"), Hub: _l("Đơn vị Đoàn"),
    Invitation: _l("Lời mời"),
}
LABELS = {model.__name__: label for model, label in AUDITED.items()}
_BY_TABLE = {model.__table__.name: model for model in AUDITED}

ACTION_LABELS = {"create": _l("Tạo"), "update": _l("Sửa"), "delete": _l("Xóa")}

# Fields whose values may be shown: statuses, counts and money, never personal data or secrets.
VALUE_FIELDS = frozenset({
    "status", "outcome", "kind", "role", "hub_id", "is_listed", "quantity", "available", "stock",
    "price", "total", "amount", "balance", "received_quantity", "accepted_quantity", "paid_via",
    "number", "via",
})
# How those fields are named on the page (the others are counted: "và 2 thông tin khác").
FIELD_LABELS = {
    "status": _l("Trạng thái"), "outcome": _l("Kết quả"), "role": _l("Vai trò"),
    "hub_id": _l("Đơn vị"), "is_listed": _l("Đang hiển thị"), "quantity": _l("Số lượng"),
    "available": _l("Còn lại"), "price": _l("Giá"), "amount": _l("Số tiền"),
    "stock": _l("Tồn kho"), "total": _l("Tổng tiền"), "balance": _l("Số dư"),
    "received_quantity": _l("Số lượng nhận"), "accepted_quantity": _l("Số lượng nhận vào kho"),
}
STOP_OUTCOME_LABELS = {  # models.delivery.OUTCOMES
    "delivered": _l("Đã giao"), "missed": _l("Giao chưa thành công"),
    "to_stock": _l("Trả món đồ về kho"), "returned": _l("Bưu điện trả lại"),
}
SKIPPED_FIELDS = frozenset({"updated_at"})  # changes with every update: says nothing

# Public settings whose values are kept and shown "label: before → after", with how to show them.
# None of them holds a student's or donor's personal data.
READABLE: dict[type, dict[str, tuple]] = {
    Hub: {
        "name": (_l("Tên đơn vị"), "text"), "parent_id": (_l("Đơn vị cấp trên"), "hub"),
        "level": (_l("Cấp"), "level"), "holds_stock": (_l("Giữ và phát đồ"), "bool"),
        "province_code": (_l("Tỉnh/thành phố"), "province"),
        "ward_code": (_l("Phường/xã"), "ward"),
        "pickup_place": (_l("Nơi nhận đồ"), "text"), "pickup_hours": (_l("Giờ nhận đồ"), "text"),
        "description": (_l("Giới thiệu"), "text"),
        "contact_phone": (_l("Điện thoại liên hệ"), "phone"), "zalo_phone": (_l("Zalo"), "phone"),
        "map_url": (_l("Bản đồ"), "text"),
        "delivery_weekday": (_l("Ngày giao"), "weekday"),
        "cutoff_weekday": (_l("Ngày chốt danh sách"), "weekday"),
        "cutoff_minutes": (_l("Giờ chốt danh sách"), "time"),
        "stops_per_route": (_l("Số điểm mỗi tuyến"), "int"),
        "weekly_limit": (_l("Số món mỗi tuần"), "int"),
        "retention_days": (_l("Số ngày giữ thông tin người nhận"), "int"),
        "delivery_wards": (_l("Phường/xã giao hàng"), "wards"),
    },
    Item: {
        "title": (_l("Tên món đồ"), "text"), "category": (_l("Danh mục"), "category"),
        "size": (_l("Cỡ"), "text"), "condition": (_l("Tình trạng"), "condition"),
        "description": (_l("Mô tả"), "text"), "quantity": (_l("Số lượng"), "int"),
        "available": (_l("Còn lại"), "int"), "is_listed": (_l("Đang hiển thị"), "bool"),
        "hub_id": (_l("Điểm phát"), "hub"),
    },
}
_READABLE_BY_NAME = {model.__name__: fields for model, fields in READABLE.items()}
MAX_KEPT_TEXT = 200  # a long description is kept cut, with "…"


def _keep_old_values(_target, value, _old, _initiator):
    return value


# The value a READABLE column had before a change must be known even when the object was expired
# (after a commit) and the change set it without reading it first: an attribute "set" listener
# with active_history loads the old value before it is replaced, so the flush's history has it.
for _model, _fields in READABLE.items():
    for _key in _fields:
        if _key in _model.__table__.c:
            event.listen(getattr(_model, _key), "set", _keep_old_values, active_history=True,
                         retval=True)

# How to reach the hub of a model without a hub_id column of its own.
_HUB_VIA = {DonationLine: ("donation",), Route: ("run",), RunStop: ("run",),
            Product: ("vendor",), Order: ("vendor",), Booth: ("event",),
            BoothSale: ("booth", "event")}


def _hub_id(obj) -> int | None:
    if isinstance(obj, Hub):
        return obj.id
    for name in _HUB_VIA.get(type(obj), ()):
        obj = getattr(obj, name, None)
    return getattr(obj, "hub_id", None)


def _row(actor_id: int, action: str, model, target_id: int | None, hub_id: int | None,
         fields, values: dict | None = None, rows: int | None = None) -> dict:
    details: dict = {"fields": sorted(fields)}
    if values:
        details["values"] = values
    if rows is not None:
        details["rows"] = rows
    return {"actor_id": actor_id, "action": action, "target_type": model.__name__,
            "target_id": target_id, "hub_id": hub_id, "details": details}


def _write(session: Session, rows: list[dict]) -> None:
    if rows:  # straight on the flush's connection: part of the same transaction, no new flush
        session.connection().execute(insert(AuditEntry), rows)


# ---------------------------------------------------------------- the ORM's own writes

def _kept(value):
    if isinstance(value, str) and len(value) > MAX_KEPT_TEXT:
        return value[:MAX_KEPT_TEXT - 1] + "…"
    return value


def _wards_change(state, action: str) -> list | None:
    """A unit's delivery wards before and after, as sorted ward codes (None: unchanged)."""
    history = state.attrs["delivery_wards"].history
    if action == "update" and not history.has_changes():
        return None
    kept = [w.ward_code for w in history.unchanged or ()]
    old = sorted(kept + [w.ward_code for w in history.deleted or ()])
    new = sorted(kept + [w.ward_code for w in history.added or ()])
    if action == "create":
        return [None, new] if new else None
    return [old, new] if old != new else None


def _from_object(actor_id: int, action: str, obj) -> dict | None:
    state = inspect(obj)
    readable = READABLE.get(type(obj), {})
    fields, values = [], {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SKIPPED_FIELDS:
            continue
        shown = key in VALUE_FIELDS or key in readable
        if action == "update":
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            fields.append(key)
            if shown:
                values[key] = [_kept(history.deleted[0]) if history.deleted else None,
                               _kept(history.added[0]) if history.added else None]
        elif action == "create" and shown and state.dict.get(key) not in (None, ""):
            values[key] = [None, _kept(state.dict[key])]
    if "delivery_wards" in readable and action != "delete":
        wards = _wards_change(state, action)
        if wards is not None:
            values["delivery_wards"] = wards
            if action == "update":
                fields.append("delivery_wards")
    if action == "update" and not fields:
        return None  # only relationships or skipped fields moved
    target_id = state.identity[0] if state.identity else state.dict.get("id")  # new: not yet keyed
    return _row(actor_id, action, type(obj), target_id, _hub_id(obj), fields, values)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    actor_id = current_actor.get()
    if actor_id is None:
        return
    # After the flush the new/dirty/deleted lists and the attribute history still show what the
    # flush wrote, and new rows have their ids.
    changes = [("create", session.new), ("update", session.dirty), ("delete", session.deleted)]
    rows = [_from_object(actor_id, action, obj) for action, objs in changes for obj in objs
            if type(obj) in AUDITED]
    _write(session, [row for row in rows if row])


# ---------------------------------------------------------------- statements run directly

def _target_id(stmt) -> int | None:
    """The id in a `WHERE <table>.id = :value ...` clause, else None."""
    if stmt.whereclause is None:
        return None
    for el in visitors.iterate(stmt.whereclause):
        if isinstance(el, BinaryExpression) and el.operator is operators.eq \
                and isinstance(el.right, BindParameter) and getattr(el.left, "key", None) == "id" \
                and getattr(el.left, "table", None) is not None \
                and el.left.table.name == stmt.table.name:
            return el.right.value
    return None


def _set_values(stmt) -> dict:
    # SQLAlchemy has no public accessor for an UPDATE's SET clause; _values is stable in 2.x.
    return {getattr(col, "key", col): value for col, value in (stmt._values or {}).items()}


@event.listens_for(Session, "do_orm_execute")
def _statement(state) -> object:
    actor_id = current_actor.get()
    if actor_id is None or not (state.is_update or state.is_delete or state.is_insert):
        return None
    model = _BY_TABLE.get(state.statement.table.name)
    if model is None:
        return None
    result = state.invoke_statement()
    action = "update" if state.is_update else "delete" if state.is_delete else "create"
    params = state.parameters
    if isinstance(params, list) and params:  # one statement for many rows (bulk by primary key)
        fields = {key for p in params for key in p} - {"id"} - SKIPPED_FIELDS
        _write(state.session, [_row(actor_id, action, model, None, None, fields,
                                    rows=len(params))])
        return result
    if getattr(result, "rowcount", 1) == 0:
        return result  # a conditional update that found nothing to change did nothing
    sets = _set_values(state.statement) if state.is_update else {}
    readable = READABLE.get(model, {})
    values = {key: [None, _kept(v.value)] for key, v in sets.items()
              if (key in VALUE_FIELDS or key in readable) and isinstance(v, BindParameter)}
    target_id = _target_id(state.statement)
    obj = state.session.identity_map.get(state.session.identity_key(model, target_id)) \
        if target_id is not None else None
    _write(state.session, [_row(actor_id, action, model, target_id,
                                _hub_id(obj) if obj is not None else None,
                                set(sets) - SKIPPED_FIELDS, values)])
    return result


# ---------------------------------------------------------------- reading the log

@dataclass(frozen=True)
class LogFilter:
    actor: str = ""  # part of a name, or a phone number
    action: str = ""  # one of ACTION_LABELS
    target_type: str = ""  # a model name of LABELS
    since: date | None = None  # local dates, both included
    until: date | None = None


def entries(f: LogFilter = LogFilter()):
    """The log, newest first, as a select() for db.paginate."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if f.actor:
        actor = aliased(User)
        match = [actor.name.icontains(f.actor, autoescape=True)]
        try:
            match.append(actor.phone == normalize_vn_mobile(f.actor))
        except ValueError:
            pass
        stmt = stmt.where(AuditEntry.actor_id.in_(select(actor.id).where(or_(*match))))
    if f.action in ACTION_LABELS:
        stmt = stmt.where(AuditEntry.action == f.action)
    if f.target_type in LABELS:
        stmt = stmt.where(AuditEntry.target_type == f.target_type)
    if f.since:
        stmt = stmt.where(AuditEntry.created_at >= local_midnight_utc(f.since))
    if f.until:
        stmt = stmt.where(AuditEntry.created_at < local_midnight_utc(f.until + timedelta(days=1)))
    return stmt


def describe(entry: AuditEntry, hubs: dict[int, str] | None = None) -> str:
    """What changed, in words: "Giờ nhận đồ: 16:30–17:30 → 7:00–11:00, Ngày giao: Thứ Bảy" for
    the READABLE models (their other fields, such as the search text, are left out); for the
    others "Trạng thái: Đã gửi yêu cầu → Bị từ chối, 1 thông tin khác" — labels, values where
    kept, and how many other fields changed.
    `hubs` names units by id (the parent of a unit, an item's hub)."""
    values = entry.details.get("values", {})
    readable = _READABLE_BY_NAME.get(entry.target_type)
    parts, unnamed = [], 0
    names = entry.details.get("fields") or sorted(values)
    if readable is not None:  # in the order of READABLE, the order of the settings page
        names = [name for name in readable if name in names or name in values]
    for name in names:
        if readable is not None:
            parts.append(_readable(readable[name], values.get(name), hubs or {},
                                   entry.action == "update"))
        elif name in values:
            old, new = (_shown(entry.target_type, name, v, hubs or {}) if v is not None else None
                        for v in values[name])
            label = FIELD_LABELS.get(name, name)
            parts.append(f"{label}: {old} → {new}" if old is not None else f"{label}: {new}")
        elif name in FIELD_LABELS:
            parts.append(str(FIELD_LABELS[name]))
        else:
            unnamed += 1
    if unnamed:  # a person reads no column names
        parts.append(ngettext("%(num)s thông tin khác", "%(num)s thông tin khác", unnamed))
    if entry.details.get("rows"):
        parts.insert(0, f"×{entry.details['rows']}")
    return ", ".join(parts)


def _readable(spec: tuple, change: list | None, hubs: dict[int, str], update: bool) -> str:
    label, kind = spec
    if change is None:  # changed by a statement whose values were not kept
        return str(label)
    old, new = change
    if kind == "wards":
        before, after = set(old or ()), set(new or ())
        said = []
        if after - before:
            said.append(_("thêm %(wards)s", wards=_ward_names(after - before)))
        if before - after:
            said.append(_("bỏ %(wards)s", wards=_ward_names(before - after)))
        return f"{label}: {'; '.join(said)}"
    if old is None and not update:
        return f"{label}: {_value(kind, new, hubs)}"
    return f"{label}: {_value(kind, old, hubs)} → {_value(kind, new, hubs)}"


@lru_cache(maxsize=1)
def _value_labels() -> dict[tuple[str, str], dict]:
    """(model, field) → the words for its values: a status, a role."""
    from . import accounts, donations, market, orders, requests
    return {
        ("ItemRequest", "status"): requests.STATUS_LABELS,
        ("Donation", "status"): donations.STATUS_LABELS,
        ("DonationLine", "status"): donations.LINE_STATUS_LABELS,
        ("Order", "status"): orders.STATUS_LABELS,
        ("BoothSale", "status"): market.SALE_STATUS_LABELS,
        ("Booth", "status"): market.BOOTH_STATUS_LABELS,
        ("UserRole", "role"): accounts.ROLE_LABELS,
        ("RunStop", "outcome"): STOP_OUTCOME_LABELS,
    }


def _shown(model: str, field: str, value, hubs: dict[int, str]) -> str:
    """A kept value in words: "approved" → "Đã duyệt", a unit's id → its name."""
    if field == "hub_id":
        return _value("hub", value, hubs)
    if field == "is_listed":
        return _value("bool", value, hubs)
    labels = _value_labels().get((model, field), {})
    return str(labels.get(value, value))


def _ward_names(codes) -> str:
    from .text import fold
    return ", ".join(sorted((geo.ward_name(c) or str(c) for c in codes), key=fold))


def _value(kind: str, value, hubs: dict[int, str]) -> str:
    if value is None or value == "":
        return str(_("(trống)"))
    if kind == "bool":
        return str(_("có") if value else _("không"))
    if kind == "weekday":
        from .hubs import WEEKDAYS
        return str(WEEKDAYS[value]) if isinstance(value, int) and 0 <= value <= 6 else str(value)
    if kind == "time" and isinstance(value, int):
        return f"{value // 60}:{value % 60:02d}"
    if kind == "phone":
        return display_phone(value)
    if kind == "province":
        return geo.province_name(value) or str(value)
    if kind == "ward":
        return geo.ward_name(value) or str(value)
    if kind == "level":
        from .hubs import LEVEL_LABELS
        return str(LEVEL_LABELS.get(value, value))
    if kind == "hub":
        return hubs.get(value) or str(_("đơn vị #%(id)s", id=value))
    if kind in ("category", "condition"):
        from .catalog import CATEGORIES, CONDITIONS
        return str((CATEGORIES if kind == "category" else CONDITIONS).get(value, value))
    return str(value)
