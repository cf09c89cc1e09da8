"""Vietnamese mobile numbers, validated and normalised with `phonenumbers`."""
import phonenumbers
from flask_babel import lazy_gettext as _l
from phonenumbers import NumberParseException, PhoneNumberType


class InvalidPhone(ValueError):
    pass


def normalize_vn_mobile(raw: str) -> str:
    """"0912 345 678" / "+84912345678" → "+84912345678"; raises InvalidPhone otherwise."""
    raw = (raw or "").strip()
    if not raw or len(raw) > 20:
        raise InvalidPhone(_l("Số điện thoại không hợp lệ."))
    try:
        number = phonenumbers.parse(raw, "VN")
    except NumberParseException as exc:
        raise InvalidPhone(_l("Số điện thoại không hợp lệ.")) from exc
    if number.country_code != 84:
        raise InvalidPhone(_l("Vui lòng dùng số điện thoại di động Việt Nam."))
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in (
        PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidPhone(_l("Số điện thoại di động Việt Nam không hợp lệ (ví dụ: 0912 345 678)."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str | None) -> str:
    """"+84912345678" → "0912 345 678"."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, "VN"), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except NumberParseException:
        return e164


def national_digits(e164: str | None) -> str:
    """"+84912345678" → "0912345678": the number as zalo.me links and Vietnamese keypads take it."""
    return "".join(c for c in display_phone(e164) if c.isdigit())
