"""VietQR: NAPAS examples, CRC, building, strict parsing, bank list, CLI and a scannable SVG."""
import json
import re

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from app.services import vietqr
from app.services.vietqr import VietQR, VietQRError, crc16, decode, encode

# The two examples of the NAPAS VietQR specification.
NAPAS_CARD = ("00020101021138600010A00000072701300006970403011697040311012345670208QRIBFTTC"
              "53037045802VN63044F52")
NAPAS_ACCOUNT = ("00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA"
                 "530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E")


def tlv_split(data: str) -> list[tuple[str, str]]:
    """Independent of the module under test: [(id, value), ...]."""
    out, pos = [], 0
    while pos < len(data):
        length = int(data[pos + 2:pos + 4])
        out.append((data[pos:pos + 2], data[pos + 4:pos + 4 + length]))
        pos += 4 + length
    return out


def tlv_join(fields) -> str:
    return "".join(f"{fid}{len(value):02d}{value}" for fid, value in fields)


def with_crc(body: str) -> str:
    """body (no field 63) + a correct CRC."""
    body += "6304"
    return body + f"{crc16(body.encode()):04X}"


def strip_crc(payload: str) -> str:
    assert payload[-8:-4] == "6304"
    return payload[:-8]


def error_of(payload: str) -> VietQRError:
    with pytest.raises(VietQRError) as info:
        decode(payload)
    return info.value


# --- the official examples -------------------------------------------------------------------

@pytest.mark.parametrize("payload", [NAPAS_CARD, NAPAS_ACCOUNT])
def test_napas_examples_round_trip_exactly(payload):
    assert encode(decode(payload)) == payload


def test_napas_examples_are_in_canonical_order():
    assert [fid for fid, _ in tlv_split(NAPAS_CARD)] == ["00", "01", "38", "53", "58", "63"]
    assert [fid for fid, _ in tlv_split(NAPAS_ACCOUNT)] == \
        ["00", "01", "38", "53", "54", "58", "62", "63"]


def test_napas_examples_decode_to_their_fields():
    assert decode(NAPAS_CARD) == VietQR(bin="970403", account="9704031101234567", service="card",
                                        dynamic=False)
    assert decode(NAPAS_ACCOUNT) == VietQR(
        bin="970403", account="0011012345678", service="account", amount=180000,
        purpose="thanh toan don hang", bill_number="NPS6869", dynamic=True,
    )


# --- CRC -------------------------------------------------------------------------------------

def test_crc16_ccitt_false_check_value():
    assert crc16(b"123456789") == 0x29B1
    assert crc16(b"") == 0xFFFF


def test_crc_covers_everything_up_to_6304():
    assert f"{crc16(NAPAS_ACCOUNT[:-4].encode()):04X}" == "2E2E"
    assert f"{crc16(NAPAS_CARD[:-4].encode()):04X}" == "4F52"


# --- building --------------------------------------------------------------------------------

def test_static_without_amount_dynamic_with_amount():
    static = encode(vietqr.build("970436", "0123456789"))
    dynamic = encode(vietqr.build("970436", "0123456789", amount=50000))
    assert static.startswith("000201010211") and "54" not in [f for f, _ in tlv_split(static)]
    assert dynamic.startswith("000201010212") and ("54", "50000") in tlv_split(dynamic)
    assert decode(static).dynamic is False and decode(static).amount is None
    assert decode(dynamic).dynamic is True and decode(dynamic).amount == 50000


def test_card_and_account_services():
    account = dict(tlv_split(dict(tlv_split(encode(vietqr.build("970436", "0123456789"))))["38"]))
    card = dict(tlv_split(dict(tlv_split(encode(vietqr.build("970436", "9704 3601 2345 6789",
                                                               card=True))))["38"]))
    assert account["02"] == "QRIBFTTA" and card["02"] == "QRIBFTTC"
    assert dict(tlv_split(card["01"])) == {"00": "970436", "01": "9704360123456789"}
    with pytest.raises(VietQRError) as info:
        vietqr.build("970436", "0123456789", card=True)  # 10 digits is no card number
    assert info.value.field == "38/01/01"


def test_purpose_is_folded_to_ascii_keeping_case_and_cut():
    qr = vietqr.build("970436", "0123456789", amount=1000, purpose="Thanh toán đơn ĐH-0042 🎉")
    assert qr.purpose == "Thanh toan don DH-0042"
    long = vietqr.build("970436", "0123456789", purpose="Ủng hộ gian hàng 0 đồng " * 10)
    assert len(long.purpose) == 25 and long.purpose.isascii() and long.purpose.isprintable()
    assert long.purpose == "Ung ho gian hang 0 dong U"
    assert vietqr.build("970436", "0123456789", purpose="🎉\u200b\t").purpose is None
    assert ("62", "0822Thanh toan don DH-0042") in tlv_split(encode(qr))


def test_name_city_and_bill_number_in_ascii():
    qr = vietqr.build("970436", "0123456789", amount=25000, bill_number="ĐH-0042",
                      name="Nguyễn Thị Ánh", city="Thành phố Hồ Chí Minh")
    assert (qr.bill_number, qr.merchant_name, qr.city) == \
        ("DH-0042", "Nguyen Thi Anh", "Thanh pho Ho Ch")
    payload = encode(qr)
    assert [f for f, _ in tlv_split(payload)] == \
        ["00", "01", "38", "53", "54", "58", "59", "60", "62", "63"]
    assert decode(payload) == qr


@pytest.mark.parametrize("amount", [0, -5000, 10**13, True, 1.5])
def test_amount_must_be_positive_whole_dong_with_at_most_13_digits(amount):
    with pytest.raises(VietQRError) as info:
        VietQR(bin="970436", account="0123456789", amount=amount)
    assert info.value.field == "54"


def test_largest_amount_is_13_digits():
    payload = encode(VietQR(bin="970436", account="0123456789", amount=10**13 - 1))
    assert ("54", "9999999999999") in tlv_split(payload)


def test_direct_construction_rejects_non_ascii_text():
    with pytest.raises(VietQRError) as info:
        VietQR(bin="970436", account="0123456789", purpose="Thanh toán")
    assert info.value.field == "62/08"


@pytest.mark.parametrize("bank_bin", ["97043", "9704366", "97O436", "", "٩٧٠٤٣٦"])
def test_bin_must_be_six_ascii_digits(bank_bin):
    with pytest.raises(VietQRError) as info:
        vietqr.build(bank_bin, "0123456789")
    assert info.value.field == "38/01/00"


def test_validate_account_number():
    assert vietqr.validate_account_number(" 0123 456 789 ") == "0123456789"
    assert vietqr.validate_account_number("9704 3601 2345 6789", card=True) == "9704360123456789"
    for bad in ["12345", "1" * 20, "0123-456-789", "01234abc", "١٢٣٤٥٦٧", ""]:
        with pytest.raises(VietQRError) as info:
            vietqr.validate_account_number(bad)
        assert info.value.field == "38/01/01"
        assert "6" in str(info.value.message) and "19" in str(info.value.message)
    with pytest.raises(VietQRError, match="16"):
        vietqr.validate_account_number("970436012345678", card=True)  # 15 digits


# --- parsing ---------------------------------------------------------------------------------

def test_any_top_level_order_after_00_is_accepted():
    fields = tlv_split(strip_crc(NAPAS_ACCOUNT))
    assert fields[0][0] == "00"
    shuffled = [fields[0]] + list(reversed(fields[1:]))  # 00 62 58 54 53 38 01
    payload = with_crc(tlv_join(shuffled))
    assert decode(payload) == decode(NAPAS_ACCOUNT)
    assert encode(decode(payload)) == NAPAS_ACCOUNT


def test_any_order_inside_38_and_38_01_and_62():
    fields = dict(tlv_split(strip_crc(NAPAS_ACCOUNT)))
    merchant = tlv_split(fields["38"])
    beneficiary = tlv_split(merchant[1][1])
    merchant = [merchant[2], ("01", tlv_join(reversed(beneficiary))), merchant[0]]
    fields["38"] = tlv_join(merchant)
    fields["62"] = tlv_join(reversed(tlv_split(fields["62"])))
    payload = with_crc(tlv_join(fields.items()))
    assert payload != NAPAS_ACCOUNT
    assert encode(decode(payload)) == NAPAS_ACCOUNT


def test_unknown_fields_are_length_checked_then_ignored():
    fields = tlv_split(strip_crc(NAPAS_ACCOUNT))
    payload = with_crc(tlv_join(fields[:3] + [("52", "5999")] + fields[3:]))
    assert decode(payload) == decode(NAPAS_ACCOUNT)


def test_lowercase_crc_is_accepted():
    assert decode(NAPAS_CARD[:-4] + "4f52") == decode(NAPAS_CARD)
    assert decode(f"  {NAPAS_CARD}\n") == decode(NAPAS_CARD)


def test_wrong_crc_is_rejected():
    exc = error_of(NAPAS_CARD[:-4] + "4F53")
    assert exc.field == "63" and "CRC" in str(exc) and "4F52" in str(exc)


def test_tampered_amount_breaks_the_crc():
    exc = error_of(NAPAS_ACCOUNT.replace("5406180000", "5406980000"))
    assert exc.field == "63" and "CRC" in str(exc)


@pytest.mark.parametrize("cut, field", [(50, "38"), (len(NAPAS_CARD) - 6, None), (2, None)])
def test_truncated_payload_is_rejected(cut, field):
    exc = error_of(NAPAS_CARD[:cut])
    assert exc.field == field
    assert "cụt" in str(exc)


def test_missing_crc_is_rejected():
    exc = error_of(NAPAS_CARD[:-8])
    assert exc.field == "63" and "63" in str(exc)


def test_length_running_past_the_end_is_rejected():
    exc = error_of(NAPAS_ACCOUNT.replace("62340107", "62990107"))
    assert exc.field == "62" and "99" in str(exc)
    exc = error_of(NAPAS_ACCOUNT.replace("01270006", "01990006"))  # inside 38
    assert exc.field == "38/01" and "99" in str(exc)


def test_non_numeric_length_is_rejected():
    exc = error_of(NAPAS_CARD.replace("5303704", "53x3704"))
    assert exc.field == "53" and "x3" in str(exc)
    exc = error_of(NAPAS_CARD.replace("0208QRIBFTTC", "02 8QRIBFTTC"))
    assert exc.field == "38/02"


def test_zero_length_and_non_numeric_id_are_rejected():
    assert error_of(with_crc(strip_crc(NAPAS_CARD) + "6000")).field == "60"
    exc = error_of(with_crc(strip_crc(NAPAS_CARD) + "A102xy"))
    assert "A1" in str(exc)


def test_wrong_guid_is_rejected():
    exc = error_of(with_crc(strip_crc(NAPAS_CARD).replace("A000000727", "A000000728")))
    assert exc.field == "38/00" and "A000000728" in str(exc)


def test_wrong_currency_and_country_are_rejected():
    exc = error_of(with_crc(strip_crc(NAPAS_CARD).replace("5303704", "5303840")))
    assert exc.field == "53" and "840" in str(exc)
    exc = error_of(with_crc(strip_crc(NAPAS_CARD).replace("5802VN", "5802SG")))
    assert exc.field == "58" and "SG" in str(exc)


def test_missing_38_is_rejected():
    fields = [f for f in tlv_split(strip_crc(NAPAS_CARD)) if f[0] != "38"]
    exc = error_of(with_crc(tlv_join(fields)))
    assert exc.field == "38" and "Thiếu" in str(exc)


def test_missing_bin_and_bad_service_are_rejected():
    fields = dict(tlv_split(strip_crc(NAPAS_CARD)))
    guid, beneficiary, service = tlv_split(fields["38"])
    account_only = [f for f in tlv_split(beneficiary[1]) if f[0] != "00"]
    fields["38"] = tlv_join([guid, ("01", tlv_join(account_only)), service])
    exc = error_of(with_crc(tlv_join(fields.items())))
    assert exc.field == "38/01/00" and "Thiếu" in str(exc)
    wrong_service = with_crc(strip_crc(NAPAS_CARD).replace("QRIBFTTC", "QRCASHXX"))
    assert error_of(wrong_service).field == "38/02"


def test_bad_bin_in_payload_is_rejected():
    payload = with_crc(strip_crc(NAPAS_CARD).replace("0006970403", "000697040X"))
    assert error_of(payload).field == "38/01/00"


def test_payload_must_start_with_00():
    fields = tlv_split(strip_crc(NAPAS_CARD))
    assert error_of(with_crc(tlv_join(fields[1:] + fields[:1]))).field == "00"


def test_duplicate_field_and_bad_initiation_method_are_rejected():
    fields = tlv_split(strip_crc(NAPAS_CARD))
    assert error_of(with_crc(tlv_join(fields + [("53", "704")]))).field == "53"
    assert error_of(with_crc(strip_crc(NAPAS_CARD).replace("010211", "010213", 1))).field == "01"


@pytest.mark.parametrize("amount", ["180.000", "180000.00", "-18000", "0"])
def test_amount_in_payload_must_be_positive_whole_dong(amount):
    payload = with_crc(strip_crc(NAPAS_ACCOUNT).replace("5406180000",
                                                        f"54{len(amount):02d}{amount}"))
    assert error_of(payload).field == "54"


def test_empty_payload_is_rejected():
    assert "trống" in str(error_of("  "))


# --- banks -----------------------------------------------------------------------------------

def test_bank_list():
    expected = {
        "Vietcombank": "970436", "VietinBank": "970415", "BIDV": "970418", "Agribank": "970405",
        "MB": "970422", "Techcombank": "970407", "ACB": "970416", "VPBank": "970432",
        "TPBank": "970423", "Sacombank": "970403", "HDBank": "970437", "VIB": "970441",
        "SHB": "970443", "SeABank": "970440", "OCB": "970448", "MSB": "970426", "LPBank": "970449",
        "Eximbank": "970431", "Nam A Bank": "970428", "Bac A Bank": "970409",
        "PVcomBank": "970412", "Kienlongbank": "970452", "Saigonbank": "970400",
        "ABBANK": "970425", "BaoViet Bank": "970438", "VietABank": "970427", "BVBank": "970454",
        "NCB": "970419", "PG Bank": "970430", "Dong A Bank": "970406", "GPBank": "970408",
        "OceanBank": "970414", "SCB": "970429", "CIMB": "422589", "Cake by VPBank": "546034",
        "Timo": "963388",
    }
    banks = vietqr.banks()
    assert {b.short_name: b.bin for b in banks} == expected
    assert len({b.code for b in banks}) == len(banks)
    assert all(b.name.startswith("Ngân hàng") for b in banks)
    assert vietqr.bank_by_bin("970436").name == "Ngân hàng TMCP Ngoại thương Việt Nam"
    assert vietqr.bank_by_bin("000000") is None


# --- CLI -------------------------------------------------------------------------------------

def test_cli_encode_then_decode(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["vietqr", "encode", "--bin", "970436", "--account", "0123456789",
                                 "--amount", "50000", "--purpose", "Thanh toán đơn ĐH-0042 🎉",
                                 "--name", "Lê Văn Đức", "--city", "Hà Nội"])
    assert result.exit_code == 0, result.output
    payload = result.stdout.strip()
    assert payload == encode(vietqr.build("970436", "0123456789", amount=50000,
                                          purpose="Thanh toan don DH-0042", name="Le Van Duc",
                                          city="Ha Noi"))
    result = runner.invoke(args=["vietqr", "decode", payload])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "bin": "970436", "account": "0123456789", "service": "account", "amount": 50000,
        "purpose": "Thanh toan don DH-0042", "bill_number": None, "merchant_name": "Le Van Duc",
        "city": "Ha Noi", "dynamic": True, "bank": "Vietcombank",
    }


def test_cli_card_and_long_purpose_are_cut_not_refused(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["vietqr", "encode", "--bin", "970403", "--account",
                                 "9704031101234567", "--card", "--purpose", "🎉" + "á" * 199])
    assert result.exit_code == 0, result.output
    qr = decode(result.stdout.strip())
    assert qr.service == "card" and qr.purpose == "a" * 25 and qr.dynamic is False


def test_cli_decode_of_tampered_payload_fails_with_the_reason(app):
    result = app.test_cli_runner().invoke(args=["vietqr", "decode", NAPAS_CARD[:-1] + "3"])
    assert result.exit_code == 1
    assert "63" in result.stderr and "CRC" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


@pytest.mark.parametrize("args, field", [
    (["--bin", "97043", "--account", "0123456789"], "38/01/00"),
    (["--bin", "970436", "--account", "0123-ABC"], "38/01/01"),
    (["--bin", "970436", "--account", "0123456789", "--amount", "0"], "54"),
    (["--bin", "970436", "--account", "0123456789", "--amount", "-1"], "54"),
])
def test_cli_encode_rejects_bad_input_with_the_field(app, args, field):
    result = app.test_cli_runner().invoke(args=["vietqr", "encode", *args])
    assert result.exit_code == 1
    assert f"Trường {field}:" in result.stderr
    assert "Traceback" not in result.output


# --- the QR image ----------------------------------------------------------------------------

MODULE = re.compile(r"M(\d+),(\d+)H(\d+)V(\d+)H\1z")


def svg_matrix(svg: str) -> list[list[bool]]:
    """The module matrix drawn by qr_svg's single path (one unit square per dark module)."""
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    path = re.search(r' d="([^"]*)"', svg).group(1)
    squares = MODULE.findall(path)
    assert "".join(m.group(0) for m in MODULE.finditer(path)) == path  # nothing else drawn
    matrix = [[False] * size for _ in range(size)]
    for x, y, x2, y2 in squares:
        assert (int(x2), int(y2)) == (int(x) + 1, int(y) + 1)
        matrix[int(y)][int(x)] = True
    return matrix


def rasterise(matrix, scale=6) -> Image.Image:
    image = Image.new("L", (len(matrix) * scale,) * 2, 255)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle([x * scale, y * scale, (x + 1) * scale - 1, (y + 1) * scale - 1],
                               fill=0)
    return image


@pytest.mark.parametrize("payload", [NAPAS_ACCOUNT, encode(vietqr.build(
    "970436", "0123456789", amount=1_250_000, purpose="Thanh toán đơn ĐH-0042",
    name="Lê Văn Đức"))])
def test_qr_svg_scans_back_to_the_payload(payload):
    svg = vietqr.qr_svg(payload)
    assert svg.startswith("<svg") and "<?xml" not in svg and " id=" not in svg
    assert 'class="vietqr"' in svg and "<script" not in svg and payload not in svg

    matrix = svg_matrix(svg)
    assert matrix == vietqr.qr_code(payload).get_matrix()  # the same symbol the PIL image draws
    border = 4
    assert not any(matrix[i][j] for i in range(len(matrix)) for j in range(len(matrix))
                   if min(i, j) < border or max(i, j) >= len(matrix) - border)  # quiet zone

    for image in (rasterise(matrix), vietqr.qr_code(payload).make_image().get_image()):
        result = zxingcpp.read_barcode(image)
        assert result is not None and result.format == zxingcpp.BarcodeFormat.QRCode
        assert result.text == payload
        assert result.ec_level == "M"


def test_qr_png_is_the_svgs_symbol_as_a_picture():
    import io

    payload = encode(vietqr.build("970436", "0123456789", amount=335_000, purpose="GH0D DH4K7P9Q"))
    image = Image.open(io.BytesIO(vietqr.qr_png(payload)))
    assert image.format == "PNG"
    matrix = svg_matrix(vietqr.qr_svg(payload))
    box = vietqr.PNG_BOX
    assert image.size == (len(matrix) * box,) * 2
    grey = image.convert("L")
    drawn = [[grey.getpixel((x * box + box // 2, y * box + box // 2)) < 128
              for x in range(len(matrix))] for y in range(len(matrix))]
    assert drawn == matrix  # module by module, the code on the screen
    result = zxingcpp.read_barcode(image)
    assert result is not None and result.text == payload and result.ec_level == "M"
