"""Fast, safe image opening: one decode gives the model's input and the thumbnail."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

# The one list of what Snapseek reads, by extension (README, "The command line", lists them too).
RAW_EXTENSIONS = frozenset(
    {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"}
)
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})  # .hif: Sony and Canon cameras
PHOTO_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff",
     ".avif", ".mpo"}  # .mpo: 3D and multi-picture JPEG, its first picture is the photo
) | HEIF_EXTENSIONS | RAW_EXTENSIONS
# Containers PyAV (FFmpeg) opens; .ts also names TypeScript sources, recorded as not a video.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".divx", ".3gp", ".3g2",
     ".ts", ".mts", ".m2ts", ".m2t", ".mpg", ".mpeg", ".m2v", ".vob", ".wmv", ".asf",
     ".flv", ".f4v", ".ogv", ".dv", ".mxf"}
)
# Refuse images whose declared size is beyond any camera (about 16k x 12k); checked before decode.
MAX_PIXELS = 200_000_000
THUMB_SIZE = 384
HASH_CHUNK = 64 * 1024
# A picture still this large after draft() (a HEIC without an embedded thumbnail, a big PNG or
# TIFF: formats that decode only in full) is decoded in a child process: its full-size pixels
# (600 MB for 200 MP) never land in the app, whose memory stays bounded whatever the photo, and
# a decoder that crashes on it takes only the child down.
def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        log.warning("%s is not a whole number: %d is used", name, default)
        return default


# 50 MP: a 48 MP phone HEIC (its thumbnail too small to stand in) still decodes here, at about
# 350 MB; a 61 MP camera HEIF without a usable thumbnail, or a 200 MP one, goes to the child.
BIG_PIXELS = _env_int("SNAPSEEK_BIG_PIXELS", 50_000_000)
CHILD_TIMEOUT_S = 300  # a decoder that hangs on a crafted file is stopped

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
# ISO base media "ftyp" brands of HEIF stills and sequences (what pillow-heif reads)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm",
                          b"hevs", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


def _register_heif() -> None:
    """HEIC/HEIF through pillow-heif (phones write them); AVIF Pillow reads by itself."""
    global _heif_registered
    if not _heif_registered:
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
        except Exception:  # optional (or a broken install): HEIC files then say what they need
            pass
        _heif_registered = True


def _has_module(name: str) -> bool:
    try:
        __import__(name)
    except Exception:  # not installed, or installed without its native library
        return False
    return True


def _missing_decoder(path) -> str | None:
    """For a file Pillow could not identify: the optional decoder it needs, when that is
    the reason (a HEIC without pillow-heif is not a corrupt file)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    brand = head[8:12] if head[4:8] == b"ftyp" else b""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if (brand in _HEIF_BRANDS or (ext in HEIF_EXTENSIONS and not brand)) \
            and not _has_module("pillow_heif"):
        return "needs pillow-heif to read HEIF/HEIC photos (pip install pillow-heif)"
    if brand in _AVIF_BRANDS:
        from PIL import features

        if not features.check("avif"):
            return "needs a Pillow built with AVIF support (pip install -U pillow)"
    return None


def _open_raw(path) -> Image.Image:
    """A camera RAW file: its embedded JPEG preview when there is one (fast, and what the
    camera showed), else a half-size demosaic. rawpy is optional."""
    import io

    try:
        import rawpy
    except Exception as exc:  # not installed, or without its native library
        raise ImageError("needs rawpy to read camera RAW files (pip install rawpy)") from exc
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

    Order matters: open → size check → draft (JPEG decodes at 1/2, 1/4, 1/8 scale; HEIF from
    an embedded thumbnail) → full decode → resize → RGB → upright. A file that does not decode
    in full is an error (no partial pictures), except a JPEG cut short at the end. Whatever a
    decoder raises on a crafted file becomes an ImageError with one line: the recorded reason.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if kind_of(os.fspath(path)) == "raw":
                im = _open_raw(path)
            else:
                _register_heif()
                try:
                    im = Image.open(path)
                except UnidentifiedImageError as exc:
                    needed = _missing_decoder(path)
                    if needed:
                        raise ImageError(needed) from exc
                    raise
            try:
                return _decode(im, min_side, path)
            finally:
                im.close()
    except _DecodeApart:
        return _decode_in_child(path, min_side)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image too large to decode safely ({_reason(exc)})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not a readable image (unknown or corrupt format)") from exc
    except FileNotFoundError as exc:
        raise ImageError("file vanished before it could be read") from exc
    except PermissionError as exc:
        raise ImageError("permission denied") from exc
    except MemoryError as exc:
        raise ImageError("not enough memory to decode this image") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"corrupt or truncated image ({_reason(exc)})") from exc
    except Exception as exc:  # crafted files make decoders raise anything (TypeError, ...)
        raise ImageError(f"corrupt image ({type(exc).__name__}: {_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message, short; its class name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


# EXIF orientation → the transpose that makes the picture upright (as ImageOps.exif_transpose)
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def _decode(im: Image.Image, min_side: int, path) -> Decoded:
    source = im
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError("image has no pixels")
    if w * h > MAX_PIXELS:
        raise ImageError(f"image too large to decode safely ({w}x{h} pixels)")
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)  # animations, multi-page TIFFs, MPO: the first picture
    # JPEG decodes at 1/2, 1/4 or 1/8 scale and HEIF from an embedded thumbnail, never below
    # the requested size on either side; other formats ignore it
    im.draft("RGB", (min_side, min_side))
    if im.size[0] * im.size[1] > BIG_PIXELS and not _IN_CHILD:
        raise _DecodeApart
    note = None
    try:
        im.load()  # in full, now: a decoder error here is the file's, never swallowed later
    except OSError as exc:
        if im.format not in ("JPEG", "MPO") or "truncated" not in str(exc):
            raise
        im, note = _truncated_jpeg(path, min_side)
        log.warning("%s: %s", os.fspath(path), note)
    meta = read_exif(source)
    orientation = meta.pop("orientation", 1)
    # shrink first where Pillow can (not 16-bit, and palettes would shrink by nearest pixel):
    # colour conversions then cost little
    if im.mode not in ("1", "P", "PA") and not im.mode.startswith("I;"):
        im = _shrink(im, min_side)
    im = _shrink(_to_rgb(im), min_side)
    if orientation in _UPRIGHT:
        im = im.transpose(_UPRIGHT[orientation])
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    if im is source:
        im = im.copy()  # detach from the file, which the caller closes
    meta["width"], meta["height"] = w, h
    if note:
        meta["note"] = note
    return Decoded(im, w, h, meta)


class _DecodeApart(Exception):
    """This picture is decoded in a child process (see BIG_PIXELS)."""


_IN_CHILD = False  # True in the decoding child: it decodes whatever it is given
_child_pool = None
_child_lock = threading.Lock()


def _child_decode(path: str, min_side: int) -> tuple:
    """In the decoding child: open_image, and what it took handed back to the system (the child
    stays for the next huge picture)."""
    from .runtime import give_back_memory

    global _IN_CHILD
    _IN_CHILD = True
    try:
        got = open_image(path, min_side)
        out = ("ok", got.image.mode, got.image.size, got.image.tobytes(), got.width,
               got.height, got.meta)
    except ImageError as exc:
        out = ("error", str(exc))
    got = None
    give_back_memory()
    return out


def _child_pool_now():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _child_pool
    with _child_lock:
        if _child_pool is None:
            _child_pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _child_pool


def _drop_child_pool(pool, kill: bool = False) -> None:
    global _child_pool
    with _child_lock:
        if _child_pool is pool:
            _child_pool = None
    if kill:  # hung: its process is stopped, not waited for
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _decode_in_child(path, min_side: int, attempts: int = 3) -> Decoded:
    """open_image in a child process, started by `spawn` so that it holds nothing of the app
    (and works in a frozen app). One picture at a time (two huge ones at once would need twice
    the memory). A child that dies takes down the pictures waiting behind it too: each is tried
    again in a fresh child, so only a file that kills the decoder every time is an error."""
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    for attempt in range(attempts):
        pool = _child_pool_now()
        try:
            try:
                future = pool.submit(_child_decode, os.fspath(path), min_side)
            except RuntimeError as exc:  # another thread dropped this pool meanwhile
                raise BrokenProcessPool(str(exc)) from exc
            got = future.result(CHILD_TIMEOUT_S)
            break
        except BrokenProcessPool as exc:
            _drop_child_pool(pool)
            if attempt == attempts - 1:
                raise ImageError("the decoder crashed on this file (corrupt or unsupported)"
                                 ) from exc
        except FutureTimeout as exc:
            _drop_child_pool(pool, kill=True)
            raise ImageError(f"decoding took longer than {CHILD_TIMEOUT_S} s (stopped)") from exc
        except Exception as exc:  # e.g. what it read could not be sent back: still one line
            raise ImageError(f"corrupt image ({type(exc).__name__}: {_reason(exc)})") from exc
    if got[0] == "error":
        raise ImageError(got[1])
    _, mode, size, data, width, height, meta = got
    return Decoded(Image.frombytes(mode, size, data), width, height, meta)


def _shrink(im: Image.Image, min_side: int) -> Image.Image:
    short = min(im.size)
    if short <= min_side:
        return im
    f = min_side / short
    return im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))),
                     Image.Resampling.BICUBIC, reducing_gap=2.0)


_JPEG_END = b"\xff\xd9"
# a JPEG cut short keeps its picture when at least this share of it is in the file
MIN_TRUNCATED_SHARE = 0.5


def _truncated_jpeg(path, min_side: int) -> tuple[Image.Image, str]:
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


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any mode Pillow reads, as 8-bit RGB; transparency over white."""
    if im.mode == "RGB":
        im.load()
        return im
    if im.mode in ("I", "F") or im.mode.startswith("I;"):
        im = _deep_grey_to_l(im)
    if im.mode in ("La", "RGBa"):  # premultiplied alpha
        im = im.convert(im.mode.upper())
    if im.mode in ("RGBA", "LA", "PA") or (im.mode in ("P", "L", "1") and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return im.convert("RGB")


def _deep_grey_to_l(im: Image.Image) -> Image.Image:
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


def read_exif(im: Image.Image) -> dict:
    """Orientation, date taken (with offset and subseconds), camera, lens, GPS, keywords and
    caption, where present (EXIF, XMP and IPTC: see core/metadata.py)."""
    from .metadata import read_photo

    return read_photo(im)


def save_thumbnail(image: Image.Image, dest: Path, size: int = THUMB_SIZE) -> None:
    """Write a JPEG thumbnail atomically (temp file + rename)."""
    thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.BICUBIC)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(f".{os.getpid()}.tmp")
    thumb.save(tmp, "JPEG", quality=85)
    os.replace(tmp, dest)
