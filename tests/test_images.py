"""The photo pipeline: real images only, size limits, EXIF (GPS) removed, small thumbnails."""
import io
import os
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from werkzeug.datastructures import FileStorage

from app.services import images


def encode(img: Image.Image, fmt="JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def photo_with_gps(size=(1600, 900), orientation=1) -> bytes:
    """A JPEG as a phone writes it: camera make, GPS position, orientation."""
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCam"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (10.0, 24.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (106.0, 10.0, 5.0)
    return encode(img, exif=exif.tobytes())


def files(app, saved):
    folder = Path(app.config["UPLOAD_FOLDER"])
    return folder / f"{saved.stem}.jpg", folder / f"{saved.stem}_t.jpg"


def test_exif_and_gps_are_removed(app):
    data = photo_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # precondition
    with app.app_context():
        saved = images.save_image(data)
    for path in files(app, saved):
        out = Image.open(path)
        assert out.format == "JPEG"
        assert len(out.getexif()) == 0
        assert "exif" not in out.info
        raw = path.read_bytes()
        assert b"Exif" not in raw and b"PhoneCam" not in raw


def test_large_photo_is_resized_and_thumbnail_is_small(app):
    noisy = Image.frombytes("RGB", (2400, 1800), os.urandom(2400 * 1800 * 3))  # worst case for JPEG
    with app.app_context():
        saved = images.save_image(encode(noisy, quality=95))
    full, thumb = files(app, saved)
    assert (saved.width, saved.height) == (1200, 900) == Image.open(full).size
    assert thumb.stat().st_size <= images.THUMB_MAX_BYTES
    assert Image.open(thumb).width == Image.open(thumb).height  # square for the catalog grid


def test_ordinary_thumbnail_keeps_full_resolution(app):
    with app.app_context():
        saved = images.save_image(photo_with_gps())
    thumb = Image.open(files(app, saved)[1])
    assert thumb.size == (images.THUMB_SIDE, images.THUMB_SIDE)
    assert files(app, saved)[1].stat().st_size <= images.THUMB_MAX_BYTES


def test_exif_orientation_is_applied(app):
    with app.app_context():
        saved = images.save_image(photo_with_gps(size=(800, 400), orientation=6))  # rotated 90°
    assert (saved.width, saved.height) == (400, 800)


def test_png_with_transparency_becomes_white_not_black(app):
    img = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    img.paste((200, 30, 30, 255), (100, 50, 200, 150))
    with app.app_context():
        saved = images.save_image(encode(img, "PNG"))
    out = Image.open(files(app, saved)[0])
    assert out.mode == "RGB"
    assert min(out.getpixel((5, 5))) > 245            # was transparent
    assert out.getpixel((150, 100))[0] > 180           # the red square survives


def test_webp_and_file_storage_are_accepted(app):
    data = encode(Image.new("RGB", (500, 500), (20, 120, 200)), "WEBP")
    upload = FileStorage(io.BytesIO(data), filename="anh.webp", content_type="image/webp")
    with app.app_context():
        saved = images.save_image(upload)
    assert (saved.width, saved.height) == (500, 500)


@pytest.mark.parametrize("data", [
    b"",
    b"GIF89a not really",
    b"<html><script>alert(1)</script></html>",
    encode(Image.new("RGB", (50, 50)), "GIF"),          # a real image, but not an allowed format
    photo_with_gps()[:2000],                             # truncated JPEG
], ids=["empty", "text", "html", "gif", "truncated"])
def test_non_images_are_rejected_and_nothing_is_written(app, data):
    folder = Path(app.config["UPLOAD_FOLDER"])
    before = set(folder.iterdir()) if folder.exists() else set()
    with app.app_context(), pytest.raises(images.ImageError) as err:
        images.save_image(data)
    assert str(err.value)  # a message for the person who sent it
    assert (set(folder.iterdir()) if folder.exists() else set()) == before


def test_oversized_file_is_rejected(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_IMAGE_BYTES", 10_000)
    with app.app_context(), pytest.raises(images.ImageError, match="quá lớn"):
        images.save_image(photo_with_gps())


def test_decompression_bomb_is_rejected(app):
    bomb = encode(Image.new("1", (10_000, 8_000)), "PNG")  # tiny file, 80 megapixels
    assert len(bomb) < 200_000
    with app.app_context(), pytest.raises(images.ImageError):
        images.save_image(bomb)


def test_a_huge_picture_is_refused_as_too_large_not_as_invalid(app):
    huge = encode(Image.new("1", (20_000, 20_000)), "PNG")  # 400 megapixels: Pillow's own limit
    with app.app_context(), pytest.raises(images.ImageError, match="kích thước quá lớn"):
        images.save_image(huge)


SECRET = "GPS 10.512345N 105.634567E - nha em o hem 12 <script>alert(1)</script>"


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every JPEG segment before the image data."""
    assert data[:2] == b"\xff\xd8"
    pos, found = 2, []
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the pixels follow
            break
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        found.append((marker, data[pos + 4:pos + 2 + length]))
        pos += 2 + length
    return found


def with_iptc(jpeg: bytes) -> bytes:
    """An APP13 Photoshop/IPTC segment (a caption) right after the JPEG's start marker."""
    caption = SECRET.encode()
    record = b"\x1c\x02\x78" + len(caption).to_bytes(2, "big") + caption  # 2:120 caption
    block = b"8BIM\x04\x04\x00\x00" + len(record).to_bytes(4, "big") + record
    payload = b"Photoshop 3.0\x00" + block
    return jpeg[:2] + b"\xff\xed" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def metadata_kinds():
    from PIL import PngImagePlugin
    img = Image.linear_gradient("L").resize((800, 600)).convert("RGB")
    text = PngImagePlugin.PngInfo()
    text.add_text("comment", SECRET)  # Pillow reads it back as a JPEG comment
    text.add_itxt("Description", SECRET)
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>{SECRET}</rdf:Description>' \
        '</x:xmpmeta>'
    return {
        "exif": photo_with_gps(),
        "xmp": encode(img, xmp=xmp.encode()),
        "iptc": with_iptc(encode(img)),
        "com": encode(img, comment=SECRET),
        "png-text": encode(img, "PNG", pnginfo=text),
        "icc": encode(img, icc_profile=b"\x00" * 128 + SECRET.encode()),
    }


@pytest.mark.parametrize("kind", ["exif", "xmp", "iptc", "com", "png-text", "icc"])
def test_stored_files_carry_pixels_only(app, kind):
    source = metadata_kinds()[kind]
    with app.app_context():
        saved = images.save_image(source)
    for path in files(app, saved):
        data = path.read_bytes()
        markers = [m for m, _ in jpeg_segments(data)]
        # Only the frame, tables and the plain JFIF header: no APPn beyond APP0, no COM.
        assert set(markers) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD}, [hex(m) for m in markers]
        assert b"nha em" not in data and b"<script>" not in data and b"PhoneCam" not in data


def test_delete_images_removes_both_files(app):
    with app.app_context():
        saved = images.save_image(photo_with_gps())
        images.delete_images([saved.stem])
    assert not any(p.exists() for p in files(app, saved))
