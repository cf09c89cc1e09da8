"""Photos: uploads are checked to be real images, re-encoded as pixels only (no EXIF and its
GPS, no XMP, IPTC, ICC, JPEG comments or PNG text: nothing a phone or a person wrote into the
file), resized, and given a small square thumbnail for the catalog. Files live in UPLOAD_FOLDER
as <stem>.jpg and <stem>_t.jpg and are served by main.media."""
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from .errors import ServiceError

FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_SIDE = 1200          # the full-size image
THUMB_SIDE = 320         # the square catalog thumbnail
THUMB_MAX_BYTES = 20 * 1024
MAX_PIXELS = 40_000_000  # larger pictures are refused before decoding (decompression bombs)
FULL_QUALITY = 82
_THUMB_TRIES = [(side, q) for side in (THUMB_SIDE, 256, 200) for q in (75, 65, 55, 45, 35)]


class ImageError(ServiceError):
    """A file that cannot be used as a photo; the message is for the person who sent it."""


@dataclass(frozen=True)
class SavedImage:
    stem: str
    width: int
    height: int


def save_image(source) -> SavedImage:
    """Check, clean and store one photo (a FileStorage, a file object or bytes). Raises
    ImageError."""
    image = _open(_read(source))
    full = _to_rgb(ImageOps.exif_transpose(image))
    full.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # Pillow carries the source's metadata in `info` through copies and resizes, and its JPEG
    # writer puts `info["comment"]` (a JPEG COM segment, or a PNG text chunk) back into the file.
    full.info = {}
    thumb = ImageOps.fit(full, (THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)

    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    stem = secrets.token_hex(16)
    # `info` emptied and no exif=/icc_profile=/comment= arguments: the JPEGs carry pixels only.
    full.save(folder / f"{stem}.jpg", "JPEG", quality=FULL_QUALITY, optimize=True, progressive=True)
    (folder / f"{stem}_t.jpg").write_bytes(_thumbnail_bytes(thumb))
    return SavedImage(stem, full.width, full.height)


def delete_images(stems) -> None:
    """Remove stored files (e.g. when the transaction that would have used them failed)."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    for stem in stems:
        for name in (f"{stem}.jpg", f"{stem}_t.jpg"):
            (folder / name).unlink(missing_ok=True)


def _read(source) -> bytes:
    limit = current_app.config["MAX_IMAGE_BYTES"]
    data = bytes(source) if isinstance(source, (bytes, bytearray)) else source.read(limit + 1)
    if not data:
        raise ImageError(_l("Tệp ảnh trống."))
    if len(data) > limit:
        raise ImageError(_l("Ảnh quá lớn (tối đa %(mb)s MB).", mb=limit // (1024 * 1024)))
    return data


def _open(data: bytes) -> Image.Image:
    too_large = ImageError(_l("Ảnh có kích thước quá lớn."))
    try:
        image = Image.open(io.BytesIO(data), formats=sorted(FORMATS))
        if image.width * image.height > MAX_PIXELS:
            raise too_large
        image.load()  # decodes now: truncated or corrupt files fail here, not later
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own limit, checked when opening
        raise too_large from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(_l("Tệp không phải ảnh JPEG, PNG hoặc WebP hợp lệ.")) from exc
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB on a white background (transparent PNG/WebP areas become white, not black)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _thumbnail_bytes(thumb: Image.Image) -> bytes:
    """The best quality JPEG of at most THUMB_MAX_BYTES: lower quality, then size, until it fits."""
    for side, quality in _THUMB_TRIES:
        img = thumb if side == THUMB_SIDE else thumb.resize((side, side), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
        if buf.tell() <= THUMB_MAX_BYTES:
            break
    return buf.getvalue()
