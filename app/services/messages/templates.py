"""The texts of outgoing messages: Vietnamese source strings translated like every other string
(messages.po), rendered in the recipient's language when the message is sent, from its key and
parameters.

An SMS must fit one GSM-7 segment (160 characters) once its diacritics are removed, the way cheap
phones and Vietnamese gateways carry it unaccented. Every text starts with who sends it ("Gian hang
0 dong - <unit>:"); each parameter is cut to a length that keeps the whole within 160
(tests/test_messages.py renders every template at those lengths in both languages).
"""
import unicodedata

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

SMS_LIMIT = 160

# The longest each parameter may be in a message (longer values are cut, ending "...").
PARAM_LIMITS = {"hub": 28, "code": 8, "reason": 50, "place": 40, "tracking": 20, "day": 10,
                "title": 30, "name": 24, "amount": 13, "route": 10, "stops": 3}

TEMPLATES = {
    "request_approved": _l("Gian hàng 0 đồng - %(hub)s: yêu cầu %(code)s của bạn đã được duyệt. "
                           "Chúng tôi sẽ báo khi đồ sẵn sàng."),
    "request_rejected": _l("Gian hàng 0 đồng - %(hub)s: yêu cầu %(code)s chưa được duyệt. "
                           "Lý do: %(reason)s"),
    "request_ready": _l("Gian hàng 0 đồng - %(hub)s: đồ của yêu cầu %(code)s đã sẵn sàng. "
                        "Nhận tại %(place)s, nhớ mang mã nhận hàng."),
    "request_out_for_delivery": _l("Gian hàng 0 đồng - %(hub)s: tình nguyện viên đang mang yêu "
                                   "cầu %(code)s đến cho bạn hôm nay."),
    "request_posted": _l("Gian hàng 0 đồng - %(hub)s: yêu cầu %(code)s đã gửi qua bưu điện, "
                         "mã vận đơn %(tracking)s."),
    "request_delivered": _l("Gian hàng 0 đồng - %(hub)s: yêu cầu %(code)s đã được giao. "
                            "Chúc bạn học tốt!"),
    # One-time codes (services/phone_codes.py: valid 10 minutes, as the texts say).
    "code_verify_phone": _l("Gian hàng 0 đồng: mã xác minh số điện thoại của bạn là %(code)s, "
                            "dùng trong 10 phút. Không ai của Đoàn hỏi mã này: đừng đưa cho ai."),
    "code_reset_password": _l("Gian hàng 0 đồng: mã đặt lại mật khẩu của bạn là %(code)s, dùng "
                              "trong 10 phút. Không ai của Đoàn hỏi mã này: đừng đưa cho ai."),
    "code_phone_has_account": _l("Gian hàng 0 đồng: số này đã có tài khoản nên không tạo tài "
                                 "khoản mới. Quên mật khẩu? Chọn \"Quên mật khẩu\" ở trang "
                                 "đăng nhập."),
    "waitlist_offer": _l("Gian hàng 0 đồng - %(hub)s: món \"%(title)s\" bạn chờ đã có lại và "
                         "được dành cho bạn (yêu cầu %(code)s)."),
    # `hub` here is the vendor's shop: the buyer paid them, through us.
    "order_paid": _l("Gian hàng 0 đồng - %(hub)s: người bán đã nhận %(amount)s đồng cho đơn "
                     "%(code)s. Cảm ơn bạn!"),
    "vendor_approved": _l("Gian hàng 0 đồng - %(hub)s: gian hàng %(name)s đã được duyệt. Đăng "
                          "nhập để đăng sản phẩm."),
    "vendor_rejected": _l("Gian hàng 0 đồng - %(hub)s: gian hàng %(name)s chưa được duyệt. "
                          "Lý do: %(reason)s"),
    # `name` is the person who invites (the role is in the text: a label has no GSM-7 translation
    # of its own at send time).
    "invite_volunteer": _l("Gian hàng 0 đồng - %(hub)s: %(name)s mời bạn làm tình nguyện viên. "
                           "Đăng nhập hoặc đăng ký bằng số này để nhận lời."),
    "invite_organizer": _l("Gian hàng 0 đồng - %(hub)s: %(name)s mời bạn làm cán bộ Đoàn. "
                           "Đăng nhập hoặc đăng ký bằng số này để nhận lời."),
    # The evening before (services.messages.reminders).
    "remind_pickup": _l("Gian hàng 0 đồng - %(hub)s: ngày mai %(day)s bạn nhận đồ %(code)s "
                        "tại %(place)s. Nhớ mang mã nhận hàng."),
    "remind_delivery": _l("Gian hàng 0 đồng - %(hub)s: ngày mai %(day)s tình nguyện viên mang "
                          "đồ %(code)s đến cho bạn. Nhớ mang mã nhận hàng."),
    "remind_route": _l("Gian hàng 0 đồng - %(hub)s: ngày mai %(day)s bạn giao tuyến "
                       "%(route)s, %(stops)s điểm. Cảm ơn bạn!"),
}

# The parameters each text takes (and a ZNS template's template_data carries: no more, no less).
PARAMS = {
    "request_approved": ("hub", "code"),
    "request_rejected": ("hub", "code", "reason"),
    "request_ready": ("hub", "code", "place"),
    "request_out_for_delivery": ("hub", "code"),
    "request_posted": ("hub", "code", "tracking"),
    "request_delivered": ("hub", "code"),
    "code_verify_phone": ("code",),
    "code_reset_password": ("code",),
    "code_phone_has_account": (),
    "waitlist_offer": ("hub", "title", "code"),
    "order_paid": ("hub", "amount", "code"),
    "vendor_approved": ("hub", "name"),
    "vendor_rejected": ("hub", "name", "reason"),
    "invite_volunteer": ("hub", "name"),
    "invite_organizer": ("hub", "name"),
    "remind_pickup": ("hub", "day", "code", "place"),
    "remind_delivery": ("hub", "day", "code"),
    "remind_route": ("hub", "day", "route", "stops"),
}

# The GSM 03.38 basic character set; the extension characters count twice.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = set("^{}\\[~]|€")


def unaccented(text: str) -> str:
    """"Gian hàng 0 đồng" → "Gian hang 0 dong": what an SMS without Unicode carries."""
    text = text.replace("đ", "d").replace("Đ", "D").replace("…", "...")
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")


def gsm7_length(text: str) -> int | None:
    """The length of `text` in GSM-7 septets, or None when a character has no GSM-7 form."""
    length = 0
    for c in text:
        if c in GSM7_BASIC:
            length += 1
        elif c in GSM7_EXTENSION:
            length += 2
        else:
            return None
    return length


def _clip(name: str, value) -> str:
    value = " ".join(str(value).split())
    limit = PARAM_LIMITS.get(name, 40)
    return value if len(value) <= limit else value[:limit - 3].rstrip() + "..."


def render(key: str, params: dict, language: str) -> str:
    """The text of a message in `language` (with diacritics: for Zalo and the log)."""
    clipped = {name: _clip(name, value) for name, value in params.items()}
    with force_locale(language):
        return str(TEMPLATES[key]) % clipped


def render_sms(key: str, params: dict, language: str) -> str:
    """The text of an SMS: unaccented, one GSM-7 segment."""
    text = unaccented(render(key, params, language))
    return "".join(c for c in text if c in GSM7_BASIC or c in GSM7_EXTENSION)[:SMS_LIMIT]
