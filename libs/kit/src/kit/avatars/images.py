"""Turning an uploaded file into a safe avatar (blocking: run it in a thread).

- The type is decided by the file's first bytes, never by its name or the client's content type,
  and only JPEG, PNG and WebP are opened (Pillow is told which single format to try).
- The pixel count is read from the header and refused above the limit *before* anything is
  decoded, so a small file claiming 50,000 x 50,000 pixels (a decompression bomb) costs nothing.
- The image is turned upright by its EXIF orientation, cropped to a centred square, scaled to
  512 px and 128 px, and re-encoded as WebP from raw pixels: no EXIF, GPS, ICC, XMP or trailing
  bytes (polyglot payloads) survive.
Any failure to read the file is an `InvalidImage` (a 422), never a 500.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

LARGE = 512
SMALL = 128
WEBP_QUALITY = 85

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)


class InvalidImage(Exception):
    def __init__(self, message: str, code: str = "invalid_image") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ProcessedAvatar:
    large: bytes
    small: bytes


def sniff(data: bytes) -> str | None:
    """The Pillow format name of a JPEG, PNG or WebP file, from its content; None otherwise."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def process(data: bytes, *, max_pixels: int) -> ProcessedAvatar:
    fmt = sniff(data)
    if fmt is None:
        raise InvalidImage("Upload a JPEG, PNG or WebP image.", "unsupported_image")
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            width, height = image.size  # from the header; nothing decoded yet
            if width < 1 or height < 1 or width * height > max_pixels:
                raise _too_many_pixels(max_pixels)
            if fmt == "JPEG":
                # decode at a reduced scale when the file is much larger than needed
                image.draft(None, (LARGE, LARGE))
            image.load()  # the first frame only, for animations
            upright = ImageOps.exif_transpose(image) or image
            square = _square(_normalise(upright))
            return ProcessedAvatar(large=_webp(square, LARGE), small=_webp(square, SMALL))
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    except Exception as exc:  # any decoder failure means a bad file
        raise InvalidImage("This image could not be read; upload another file.") from exc


def _too_many_pixels(max_pixels: int) -> InvalidImage:
    return InvalidImage(
        f"The image has too many pixels (at most {max_pixels // 1_000_000} megapixels).",
        "image_too_large",
    )


def _normalise(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    target = "RGBA" if has_alpha else "RGB"
    if image.mode == target:
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        image = image.convert("I").point(lambda v: v / 256).convert("L")  # 16-bit grey
    return image.convert(target)


def _square(image: Image.Image) -> Image.Image:
    side = min(image.size)
    left = (image.width - side) // 2
    top = (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def _webp(square: Image.Image, size: int) -> bytes:
    side = min(size, square.width)  # never enlarge a small picture
    scaled = (
        square.resize((side, side), Image.Resampling.LANCZOS) if side != square.width else square
    )
    # rebuilt from raw pixels: whatever metadata rode along is gone
    clean = Image.frombytes(scaled.mode, scaled.size, scaled.tobytes())
    out = io.BytesIO()
    clean.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()
