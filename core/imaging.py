"""Fast, safe image opening: one decode gives the model's input and the thumbnail."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

RAW_EXTENSIONS = frozenset(
    {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"}
)
PHOTO_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic",
     ".heif", ".avif"}
) | RAW_EXTENSIONS
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".3gp", ".mts", ".m2ts", ".mpg",
     ".mpeg", ".wmv"}
)
# Refuse images whose declared size is beyond any camera (about 16k x 12k); checked before decode.
MAX_PIXELS = 200_000_000
THUMB_SIZE = 384
HASH_CHUNK = 64 * 1024

# Pillow's own bomb check warns at MAX_IMAGE_PIXELS; ours runs first with a clear reason.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageError(Exception):
    """A file that cannot be used as a photo; the message is the recorded reason."""


@dataclass
class Decoded:
    image: Image.Image  # upright RGB, at least `min_side` on its short side where possible
    width: int  # full size, upright
    height: int
    meta: dict = field(default_factory=dict)


def is_photo(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in PHOTO_EXTENSIONS


def is_video(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def is_media(name: str) -> bool:
    """A file Snapseek catalogs: a photo, a RAW or a video."""
    ext = os.path.splitext(name)[1].lower()
    return ext in PHOTO_EXTENSIONS or ext in VIDEO_EXTENSIONS


def kind_of(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return "raw" if ext in RAW_EXTENSIONS else "video" if ext in VIDEO_EXTENSIONS else "photo"


_heif_registered = False


def _register_heif() -> None:
    """HEIC/HEIF through pillow-heif (phones write them); AVIF Pillow reads by itself."""
    global _heif_registered
    if not _heif_registered:
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
        except ImportError:  # optional: HEIC files are then recorded as unreadable
            pass
        _heif_registered = True


def _open_raw(path) -> Image.Image:
    """A camera RAW file: its embedded JPEG preview when there is one (fast, and what the
    camera showed), else a half-size demosaic. rawpy is optional."""
    import io

    try:
        import rawpy
    except ImportError as exc:
        raise ImageError("RAW support is not installed (pip install rawpy)") from exc
    try:
        with rawpy.imread(os.fspath(path)) as raw:
            try:
                thumb = raw.extract_thumb()
            except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
                thumb = None
            if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
                return Image.open(io.BytesIO(thumb.data))
            if thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
                return Image.fromarray(thumb.data)
            return Image.fromarray(raw.postprocess(half_size=True, use_camera_wb=True))
    except rawpy.LibRawError as exc:
        raise ImageError(f"not a readable RAW file ({type(exc).__name__})") from exc


def head_tail_hash(path: str | os.PathLike, chunk: int = HASH_CHUNK, size: int | None = None,
                   digest_size: int = 16) -> str:
    """Hash of size + head + tail: identifies a file without reading it whole."""
    h = hashlib.blake2b(digest_size=digest_size)
    with open(path, "rb") as f:
        if size is None:
            size = os.fstat(f.fileno()).st_size
        h.update(size.to_bytes(8, "little"))
        h.update(f.read(chunk))
        if size > 2 * chunk:
            f.seek(size - chunk)
            h.update(f.read(chunk))
    return h.hexdigest()


def content_hash(path: str | os.PathLike, size: int | None = None) -> str:
    """What recognises a renamed or copied photo: size and its first and last 64 KiB."""
    return head_tail_hash(path, HASH_CHUNK, size)


def open_image(path: str | os.PathLike, min_side: int) -> Decoded:
    """Decode a photo to an upright RGB image no smaller than `min_side` where the file allows.

    Order matters: open → size check → draft (JPEG decodes at 1/2, 1/4, 1/8 scale) →
    exif_transpose → resize.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if kind_of(os.fspath(path)) == "raw":
                im = _open_raw(path)
            else:
                _register_heif()
                im = Image.open(path)
            try:
                return _decode(im, min_side)
            finally:
                im.close()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image too large to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not a readable image (unknown or corrupt format)") from exc
    except FileNotFoundError as exc:
        raise ImageError("file vanished before it could be read") from exc
    except PermissionError as exc:
        raise ImageError("permission denied") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"corrupt or truncated image ({exc})") from exc


def _decode(im: Image.Image, min_side: int) -> Decoded:
    source = im
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError("image has no pixels")
    if w * h > MAX_PIXELS:
        raise ImageError(f"image too large to decode safely ({w}x{h} pixels)")
    meta = read_exif(im)
    orientation = meta.pop("orientation", 1)
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)
    if im.format == "JPEG":
        # draft decodes at 1/2, 1/4 or 1/8 scale, never below the requested size on either side
        im.draft("RGB", (min_side, min_side))
    im = ImageOps.exif_transpose(im) if orientation != 1 else im
    im = _to_rgb(im)
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    short = min(im.size)
    if short > min_side:
        f = min_side / short
        im = im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))),
                       Image.Resampling.BICUBIC, reducing_gap=2.0)
    if im is source:
        im = im.copy()  # detach from the file, which the caller closes
    meta["width"], meta["height"] = w, h
    return Decoded(im, w, h, meta)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        im.load()
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping to white
        im = im.point(lambda v: v / 256).convert("L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return im.convert("RGB")


_EXIF_DATETIME_ORIGINAL = 0x9003
_EXIF_OFFSET_ORIGINAL = 0x9011
_EXIF_SUBSEC_ORIGINAL = 0x9291
_EXIF_LENS_MODEL = 0xA434


def read_exif(im: Image.Image) -> dict:
    """Orientation, date taken (with offset and subseconds), camera, lens and GPS, where
    present."""
    meta: dict = {}
    try:
        exif = im.getexif()
    except Exception:  # broken EXIF must never stop the photo itself
        return meta
    try:
        meta["orientation"] = int(exif.get(0x0112, 1) or 1)
        if meta["orientation"] not in range(1, 9):
            meta["orientation"] = 1
        make, model = exif.get(0x010F), exif.get(0x0110)
        camera = " ".join(str(x).strip("\x00 ") for x in (make, model) if x)
        if camera:
            meta["camera"] = camera
        sub = exif.get_ifd(0x8769)
        taken = _parse_exif_date(sub.get(_EXIF_DATETIME_ORIGINAL) or exif.get(0x0132),
                                 sub.get(_EXIF_OFFSET_ORIGINAL), sub.get(_EXIF_SUBSEC_ORIGINAL))
        if taken is not None:
            meta["taken_at"], meta["taken_source"] = taken, "exif"
        lens = sub.get(_EXIF_LENS_MODEL)
        if lens and str(lens).strip("\x00 "):
            meta["lens"] = str(lens).strip("\x00 ")
        meta.update(_gps(exif.get_ifd(0x8825)))
    except Exception:
        meta.setdefault("orientation", 1)
    return meta


def _gps(gps) -> dict:
    """Decimal degrees from the GPS IFD; nothing when it is missing or nonsense."""
    try:
        lat, lon = _degrees(gps.get(2)), _degrees(gps.get(4))
    except (TypeError, ValueError, ZeroDivisionError):
        return {}
    if lat is None or lon is None:
        return {}
    if str(gps.get(1, "N")).strip("\x00 ").upper() == "S":
        lat = -lat
    if str(gps.get(3, "E")).strip("\x00 ").upper() == "W":
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return {}
    return {"gps_lat": round(lat, 7), "gps_lon": round(lon, 7)}


def _degrees(value) -> float | None:
    if not value or len(value) != 3:
        return None
    d, m, sec = (float(x) for x in value)
    return d + m / 60 + sec / 3600


def _parse_exif_date(value, offset, subsec) -> float | None:
    if not value:
        return None
    try:
        when = dt.datetime.strptime(str(value).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if subsec:
        digits = "".join(c for c in str(subsec) if c.isdigit())[:6]
        if digits:
            when = when.replace(microsecond=int(digits.ljust(6, "0")))
    tz = dt.timezone.utc  # without an offset, treat the wall-clock time as UTC: stable sorting
    if offset:
        try:
            sign = -1 if str(offset).startswith("-") else 1
            hh, mm = str(offset).strip("+-\x00 ").split(":")[:2]
            tz = dt.timezone(sign * dt.timedelta(hours=int(hh), minutes=int(mm)))
        except ValueError:
            pass
    return when.replace(tzinfo=tz).timestamp()


def save_thumbnail(image: Image.Image, dest: Path, size: int = THUMB_SIZE) -> None:
    """Write a JPEG thumbnail atomically (temp file + rename)."""
    thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.BICUBIC)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(f".{os.getpid()}.tmp")
    thumb.save(tmp, "JPEG", quality=85)
    os.replace(tmp, dest)
