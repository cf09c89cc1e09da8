"""VietQR: the NAPAS 247 bank-transfer QR that every Vietnamese banking app scans (DESIGN.md §6).

Specification: NAPAS, "Tài liệu quy định về định dạng mã VietQR trong dịch vụ chuyển nhanh
NAPAS247", a profile of the EMVCo merchant-presented QR. A payload is a list of TLV fields
`IDLLvalue`: a two-digit id, a two-digit decimal length, the value.

    build("970436", "0123 456 789", amount=50000, purpose="Thanh toán đơn ĐH-0042")
        -> VietQR         (free text folded to ASCII and cut to size, spaces in the number removed)
    encode(vietqr) -> payload string      decode(payload) -> VietQR
    qr_svg(payload) -> inline SVG for templates

Every problem raises VietQRError naming the TLV field ("38/01/00", "54", "63", ...).
`decode` checks the lengths of fields VietQR does not use (52 merchant category, 62/07 terminal,
...) and then ignores them, so decode → encode gives back the same string exactly when the payload
holds only VietQR fields in the canonical order — as the NAPAS examples and everything `encode`
writes do.
"""
import io
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import qrcode
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from markupsafe import Markup
from qrcode.image.svg import SvgPathFillImage

from .text import fold

GUID = "A000000727"  # NAPAS, 38/00
SERVICES = {"account": "QRIBFTTA", "card": "QRIBFTTC"}  # 38/02
CURRENCY = "704"  # VND, 53
COUNTRY = "VN"  # 58
MAX_AMOUNT = 10**13 - 1  # 54: at most 13 digits
MAX_PURPOSE = 25  # 62/08, the message bank apps pre-fill
MAX_BILL_NUMBER = 25  # 62/01
MAX_NAME = 25  # 59
MAX_CITY = 15  # 60
BANKS_FILE = Path(__file__).resolve().parent.parent / "data" / "banks.json"

_PRINTABLE_ASCII = frozenset(map(chr, range(0x20, 0x7F)))
# dataclass attribute → (TLV field, maximum length)
_TEXT_FIELDS = {
    "purpose": ("62/08", MAX_PURPOSE),
    "bill_number": ("62/01", MAX_BILL_NUMBER),
    "merchant_name": ("59", MAX_NAME),
    "city": ("60", MAX_CITY),
}


class VietQRError(ValueError):
    """What is wrong; `field` is the TLV path ("38/01/01"), `message` the bare text for a form."""

    def __init__(self, message, field: str | None = None):
        self.message = message
        self.field = field
        super().__init__(_("Trường %(field)s: %(message)s", field=field, message=message)
                         if field else str(message))


@dataclass(frozen=True)
class VietQR:
    """One VietQR. `dynamic` (01=12, a one-off code) defaults to "has an amount"."""

    bin: str
    account: str
    service: str = "account"  # 'account' (QRIBFTTA) | 'card' (QRIBFTTC)
    amount: int | None = None  # đồng
    purpose: str | None = None
    bill_number: str | None = None
    merchant_name: str | None = None
    city: str | None = None
    dynamic: bool | None = None

    def __post_init__(self):
        if self.dynamic is None:
            object.__setattr__(self, "dynamic", self.amount is not None)
        if self.service not in SERVICES:
            raise VietQRError(_l("Dịch vụ phải là QRIBFTTA (tài khoản) hoặc QRIBFTTC (thẻ)."),
                              "38/02")
        _check_bin(self.bin)
        _check_account(self.account, card=self.service == "card")
        if self.amount is not None and (type(self.amount) is not int
                                        or not 0 < self.amount <= MAX_AMOUNT):
            raise VietQRError(_l("Số tiền phải là số nguyên đồng lớn hơn 0, tối đa 13 chữ số."),
                              "54")
        for attr, (field, max_len) in _TEXT_FIELDS.items():
            value = getattr(self, attr)
            if value == "":
                object.__setattr__(self, attr, None)
            elif value is not None and (len(value) > max_len or not set(value) <= _PRINTABLE_ASCII):
                raise VietQRError(_l("Chỉ được dùng chữ không dấu (ASCII), tối đa %(max)d ký tự.",
                                     max=max_len), field)


def _is_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _check_bin(bin: str) -> None:
    if not (len(bin) == 6 and _is_digits(bin)):
        raise VietQRError(_l("Mã BIN ngân hàng phải gồm đúng 6 chữ số."), "38/01/00")


def _check_account(number: str, card: bool) -> None:
    if card and not (16 <= len(number) <= 19 and _is_digits(number)):
        raise VietQRError(_l("Số thẻ chỉ gồm chữ số, từ 16 đến 19 số."), "38/01/01")
    if not (6 <= len(number) <= 19 and _is_digits(number)):
        raise VietQRError(_l("Số tài khoản chỉ gồm chữ số, từ 6 đến 19 số."), "38/01/01")


def validate_account_number(number: str, card: bool = False) -> str:
    """The account (6–19 digits) or card number (16–19) without the spaces people type; raises
    VietQRError."""
    number = "".join((number or "").split())
    _check_account(number, card)
    return number


def to_ascii(text: str | None, max_len: int) -> str | None:
    """Free text as VietQR carries it: Vietnamese folded to ASCII keeping case ("Đơn ĐH-0042 🎉" →
    "Don DH-0042"), anything else unprintable (emoji, control characters) dropped, spaces collapsed,
    cut to max_len. None when nothing is left. Never raises: long or odd text is trimmed."""
    plain = []
    for char in text or "":
        folded = " " if char.isspace() else fold(char)
        cased = folded.upper() if char.isupper() else folded
        plain.extend(c for c in cased if c in _PRINTABLE_ASCII)
    return " ".join("".join(plain).split())[:max_len].rstrip() or None


def build(bin: str, account: str, *, amount: int | None = None, purpose: str | None = None,
          bill_number: str | None = None, card: bool = False, name: str | None = None,
          city: str | None = None) -> VietQR:
    """A VietQR from what a person typed (see to_ascii); static without amount, dynamic with one."""
    return VietQR(
        bin=(bin or "").strip(),
        account=validate_account_number(account, card),
        service="card" if card else "account",
        amount=amount,
        purpose=to_ascii(purpose, MAX_PURPOSE),
        bill_number=to_ascii(bill_number, MAX_BILL_NUMBER),
        merchant_name=to_ascii(name, MAX_NAME),
        city=to_ascii(city, MAX_CITY),
    )


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


def _checksum(body: str) -> str:
    return f"{crc16(body.encode('utf-8')):04X}"


def _tlv(field_id: str, value: str | None) -> str:
    return f"{field_id}{len(value):02d}{value}" if value else ""


def encode(qr: VietQR) -> str:
    """The payload, fields in canonical order 00 01 38 53 54 58 59 60 62 63."""
    beneficiary = _tlv("00", qr.bin) + _tlv("01", qr.account)
    merchant = _tlv("00", GUID) + _tlv("01", beneficiary) + _tlv("02", SERVICES[qr.service])
    body = (
        _tlv("00", "01")
        + _tlv("01", "12" if qr.dynamic else "11")
        + _tlv("38", merchant)
        + _tlv("53", CURRENCY)
        + _tlv("54", None if qr.amount is None else str(qr.amount))
        + _tlv("58", COUNTRY)
        + _tlv("59", qr.merchant_name)
        + _tlv("60", qr.city)
        + _tlv("62", _tlv("01", qr.bill_number) + _tlv("08", qr.purpose))
        + "6304"
    )
    return body + _checksum(body)


def _path(parent: str | None, field_id: str) -> str:
    return f"{parent}/{field_id}" if parent else field_id


def _fields(data: str, parent: str | None = None) -> dict[str, str]:
    """Split TLV data into {id: value} in order; every id and length is checked."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        head = data[pos:pos + 4]
        if len(head) < 4:
            raise VietQRError(_l("Mã bị cụt ở vị trí %(pos)d: chỉ còn “%(rest)s”, không đủ mã "
                                 "trường và độ dài.", pos=pos, rest=head), parent)
        field_id, length = head[:2], head[2:]
        if not _is_digits(field_id):
            raise VietQRError(_l("Mã trường “%(id)s” ở vị trí %(pos)d không phải hai chữ số.",
                                 id=field_id, pos=pos), parent)
        field = _path(parent, field_id)
        if not _is_digits(length) or length == "00":
            raise VietQRError(_l("Độ dài “%(length)s” không hợp lệ: phải là hai chữ số thập phân "
                                 "từ 01 đến 99.", length=length), field)
        end = pos + 4 + int(length)
        if end > len(data):
            left = len(data) - pos - 4
            raise VietQRError(lazy_ngettext(
                "Độ dài %(length)s vượt quá phần còn lại của mã (%(left)d ký tự): mã bị cụt hoặc "
                "sai độ dài.",
                "Độ dài %(length)s vượt quá phần còn lại của mã (%(left)d ký tự): mã bị cụt hoặc "
                "sai độ dài.", left, length=length, left=left), field)
        if field_id in fields:
            raise VietQRError(_l("Trường này xuất hiện hai lần."), field)
        fields[field_id] = data[pos + 4:end]
        pos = end
    return fields


def _required(fields: dict[str, str], field_id: str, parent: str | None = None) -> str:
    if field_id not in fields:
        raise VietQRError(_l("Thiếu trường bắt buộc."), _path(parent, field_id))
    return fields[field_id]


def decode(payload: str) -> VietQR:
    """Parse and check a payload; raises VietQRError naming the field.

    Any field order after 00 and inside 38, 38/01 and 62; the CRC in either case. Structure
    (ids, lengths, mandatory templates) is checked before the CRC so the message says where a
    payload is broken; the values are checked after it."""
    payload = (payload or "").strip()
    if not payload:
        raise VietQRError(_l("Mã VietQR trống."))
    root = _fields(payload)
    if next(iter(root)) != "00" or root["00"] != "01":
        raise VietQRError(_l("Mã phải bắt đầu bằng trường 00 có giá trị 01 (chuẩn EMVCo)."), "00")
    if list(root)[-1] != "63" or len(root["63"]) != 4:
        raise VietQRError(_l("Mã phải kết thúc bằng trường 63 (CRC) gồm 4 ký tự."), "63")
    merchant = _fields(_required(root, "38"), "38")
    beneficiary = _fields(_required(merchant, "01", "38"), "38/01")
    additional = _fields(root.get("62", ""), "62")
    expected = _checksum(payload[:-4])
    if root["63"].upper() != expected:
        raise VietQRError(_l("Sai mã kiểm tra CRC: mã ghi %(found)s nhưng tính ra %(expected)s — "
                             "mã đã bị sửa hoặc chép thiếu.", found=root["63"], expected=expected),
                          "63")
    if root.get("01", "11") not in ("11", "12"):
        raise VietQRError(_l("Phương thức khởi tạo phải là 11 (mã tĩnh) hoặc 12 (mã động)."), "01")
    if _required(merchant, "00", "38") != GUID:
        raise VietQRError(_l("GUID phải là %(guid)s (NAPAS), không phải “%(found)s”.",
                             guid=GUID, found=merchant["00"]), "38/00")
    service = {code: name for name, code in SERVICES.items()}.get(_required(merchant, "02", "38"))
    if service is None:
        raise VietQRError(_l("Dịch vụ phải là QRIBFTTA (tài khoản) hoặc QRIBFTTC (thẻ)."),
                          "38/02")
    if _required(root, "53") != CURRENCY:
        raise VietQRError(_l("Tiền tệ phải là 704 (đồng Việt Nam), không phải “%(found)s”.",
                             found=root["53"]), "53")
    if _required(root, "58") != COUNTRY:
        raise VietQRError(_l("Mã quốc gia phải là VN, không phải “%(found)s”.", found=root["58"]),
                          "58")
    amount = root.get("54")
    if amount is not None and not _is_digits(amount):
        raise VietQRError(_l("Số tiền phải là số nguyên đồng, không dấu phân cách: “%(found)s”.",
                             found=amount), "54")
    return VietQR(
        bin=_required(beneficiary, "00", "38/01"),
        account=_required(beneficiary, "01", "38/01"),
        service=service,
        amount=None if amount is None else int(amount),
        purpose=additional.get("08"),
        bill_number=additional.get("01"),
        merchant_name=root.get("59"),
        city=root.get("60"),
        dynamic=root.get("01") == "12" if "01" in root else None,
    )


@dataclass(frozen=True)
class Bank:
    code: str
    short_name: str
    name: str
    bin: str


@cache
def banks() -> tuple[Bank, ...]:
    """Vietnamese banks with their NAPAS BIN (app/data/banks.json), in the file's order."""
    return tuple(Bank(**row) for row in json.loads(BANKS_FILE.read_text(encoding="utf-8")))


def bank_by_bin(bin: str) -> Bank | None:
    return next((bank for bank in banks() if bank.bin == bin), None)


def qr_code(payload: str) -> qrcode.QRCode:
    """The QR symbol for a payload: error correction M, the standard 4-module quiet zone."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    return qr


def qr_svg(payload: str) -> Markup:
    """Inline SVG (no XML declaration, no id, white background so it scans on dark pages).

    Safe to embed as is: it holds only path coordinates, never the payload's text."""
    image = qr_code(payload).make_image(image_factory=SvgPathFillImage)
    image.path.attrib.pop("id")  # several codes may share a page
    image.get_image().set("class", "vietqr")
    return Markup(image.to_string(encoding="unicode"))


PNG_BOX = 10  # pixels per module: a 57-module code with its quiet zone is 650 px


def qr_png(payload: str) -> bytes:
    """The same symbol as qr_svg as a black-on-white PNG, for a buyer who pays from the phone that
    shows it: they save the picture and open it in their bank app's "scan from image"."""
    qr = qr_code(payload)
    qr.box_size = PNG_BOX
    out = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(out, format="PNG")
    return out.getvalue()
