"""Decoded pixels to what the model and the thumbnails take: 8-bit RGB, upright, small."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.media.errors import ImageError

# EXIF orientation → the transpose that makes the picture upright (as ImageOps.exif_transpose)
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


# a frame whose 8×8 px block means span fewer grey levels than this holds nothing to find (a
# lens cap, a blank page): text or a face darkens or lightens a block by far more
BLANK_RANGE = 6


def blank(pixels: np.ndarray) -> bool:
    """A uniform frame, told from block means so that a thin stroke still counts."""
    grey = Image.fromarray(np.ascontiguousarray(pixels)).convert("L")
    if min(grey.size) >= 16:
        grey = grey.reduce(8)
    low, high = grey.getextrema()
    return high - low < BLANK_RANGE


def shrink(im: Image.Image, min_side: int, long_side: int = 0) -> Image.Image:
    """Smaller, never below `min_side` on the short side nor `long_side` on the long one."""
    f = max(min_side / min(im.size), long_side / max(im.size))
    if f >= 1:
        return im
    return im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))),
                     Image.Resampling.BICUBIC, reducing_gap=2.0)


_JPEG_END = b"\xff\xd9"
# a JPEG cut short keeps its picture when at least this share of it is in the file
MIN_TRUNCATED_SHARE = 0.5


def truncated_jpeg(path, min_side: int) -> tuple[Image.Image, str]:
    """A JPEG cut short at the end (an interrupted copy, a card pulled out): the rows that are
    in the file. The decoder fills what is missing; decoding with two different endings shows
    where the real rows stop."""
    import io

    with open(path, "rb") as f:
        data = f.read()

    def decode(ending: bytes) -> Image.Image:
        im = Image.open(io.BytesIO(data + ending))
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        im.draft("RGB", (min_side, min_side))
        im.load()
        return im

    first, second = decode(_JPEG_END), decode(b"\x55" * 4096 + _JPEG_END)
    a, b = np.asarray(first), np.asarray(second)
    if a.shape != b.shape:
        raise ImageError("truncated JPEG (the part in the file cannot be told apart)")
    differ = np.flatnonzero((a != b).reshape(a.shape[0], -1).any(axis=1))
    rows = int(differ[0]) if differ.size else first.height
    share = rows / first.height
    if share < MIN_TRUNCATED_SHARE:
        raise ImageError(f"truncated JPEG: only {share:.0%} of the picture is in the file")
    if rows == first.height:
        return first, "JPEG file truncated at the end; the whole picture decoded"
    return (first.crop((0, 0, first.width, rows)),
            f"JPEG file truncated at the end; the bottom {1 - share:.0%} of the picture is "
            "missing, the rest is indexed")


def to_rgb(im: Image.Image) -> Image.Image:
    """Any mode Pillow reads, as 8-bit RGB; transparency over white."""
    if im.mode == "RGB":
        im.load()
        return im
    if im.mode in ("I", "F") or im.mode.startswith("I;"):
        im = deep_grey_to_l(im)
    if im.mode in ("La", "RGBa"):  # premultiplied alpha
        im = im.convert(im.mode.upper())
    if im.mode in ("RGBA", "LA", "PA") or (im.mode in ("P", "L", "1") and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return im.convert("RGB")


def deep_grey_to_l(im: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float greyscale to 8 bits, scaled instead of clipped to white:
    16-bit modes by their full range; "I" and "F" by the range their values use (0-1, 0-255,
    0-65535, else their own minimum to maximum)."""
    a = np.asarray(im)
    if im.mode.startswith("I;16"):
        return Image.fromarray((a >> 8).astype(np.uint8))
    a = a.astype(np.float32)
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if lo >= 0 and hi <= 1.0 and im.mode == "F":
        lo, hi = 0.0, 1.0
    elif lo >= 0 and hi <= 255:
        lo, hi = 0.0, 255.0
    elif lo >= 0 and hi <= 65535:
        lo, hi = 0.0, 65535.0
    scaled = (np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo) - lo) * (255.0 / max(hi - lo, 1e-12))
    return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8))
