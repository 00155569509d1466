"""Fast, safe image opening: one decode gives the model's input and the thumbnail."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from core.children import WarmChild
from core.files import HASH_CHUNK, head_tail_hash
from core.media.errors import FILE_ERRORS, ImageError, file_error, reason
from core.media.metadata import read_photo
from core.media.pixels import UPRIGHT, shrink, to_rgb, truncated_jpeg
from core.osutil import give_back_memory

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


def content_hash(path: str | os.PathLike, size: int | None = None) -> str:
    """What recognises a renamed or copied photo: size and its first and last 64 KiB."""
    return head_tail_hash(path, HASH_CHUNK, size)


def open_image(path: str | os.PathLike, min_side: int, long_side: int = 0) -> Decoded:
    """Decode a photo to an upright RGB image no smaller than `min_side` on its short side and
    `long_side` on its long one where the file allows (indexing: the model's input on the
    short side, the thumbnail's on the long side, so a 12 MP JPEG decodes at 1/8 scale).

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
                return _decode(im, min_side, path, long_side)
            finally:
                im.close()
    except _DecodeApart:
        return _decode_in_child(path, min_side, long_side)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image too large to decode safely ({reason(exc)})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not a readable image (unknown or corrupt format)") from exc
    except FILE_ERRORS as exc:
        raise file_error(exc, "decode this image") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"corrupt or truncated image ({reason(exc)})") from exc
    except Exception as exc:  # crafted files make decoders raise anything (TypeError, ...)
        raise ImageError(f"corrupt image ({type(exc).__name__}: {reason(exc)})") from exc


def _decode(im: Image.Image, min_side: int, path, long_side: int = 0) -> Decoded:
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
    long_side = max(long_side, min_side)
    im.draft("RGB", (long_side, min_side) if w >= h else (min_side, long_side))
    if im.size[0] * im.size[1] > BIG_PIXELS and not _IN_CHILD:
        raise _DecodeApart
    note = None
    try:
        im.load()  # in full, now: a decoder error here is the file's, never swallowed later
    except OSError as exc:
        if im.format not in ("JPEG", "MPO") or "truncated" not in str(exc):
            raise
        im, note = truncated_jpeg(path, min_side)
        log.warning("%s: %s", os.fspath(path), note)
    meta = read_photo(source)
    orientation = meta.pop("orientation", 1)
    # shrink first where Pillow can (not 16-bit, and palettes would shrink by nearest pixel):
    # colour conversions then cost little
    if im.mode not in ("1", "P", "PA") and not im.mode.startswith("I;"):
        im = shrink(im, min_side, long_side)
    im = shrink(to_rgb(im), min_side, long_side)
    if orientation in UPRIGHT:
        im = im.transpose(UPRIGHT[orientation])
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
_child = WarmChild()


def _child_decode(path: str, min_side: int, long_side: int = 0) -> tuple:
    """In the decoding child: open_image, and what it took handed back to the system (the child
    stays for the next huge picture)."""
    global _IN_CHILD
    _IN_CHILD = True
    try:
        got = open_image(path, min_side, long_side)
        out = ("ok", got.image.mode, got.image.size, got.image.tobytes(), got.width,
               got.height, got.meta)
    except ImageError as exc:
        out = ("error", str(exc))
    got = None
    give_back_memory()
    return out


def _decode_in_child(path, min_side: int, long_side: int = 0, attempts: int = 3) -> Decoded:
    """open_image in a child process, started by `spawn` so that it holds nothing of the app
    (and works in a frozen app). One picture at a time (two huge ones at once would need twice
    the memory). A child that dies takes down the pictures waiting behind it too: each is tried
    again in a fresh child, so only a file that kills the decoder every time is an error."""
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures.process import BrokenProcessPool

    for attempt in range(attempts):
        try:
            future, end_child = _child.submit(_child_decode, os.fspath(path), min_side,
                                              long_side)
            got = future.result(CHILD_TIMEOUT_S)
            break
        except BrokenProcessPool as exc:  # (the next submit starts a fresh child)
            if attempt == attempts - 1:
                raise ImageError("the decoder crashed on this file (corrupt or unsupported)"
                                 ) from exc
        except FutureTimeout as exc:
            end_child()  # hung: its process is stopped, not waited for
            raise ImageError(f"decoding took longer than {CHILD_TIMEOUT_S} s (stopped)") from exc
        except Exception as exc:  # e.g. what it read could not be sent back: still one line
            raise ImageError(f"corrupt image ({type(exc).__name__}: {reason(exc)})") from exc
    if got[0] == "error":
        raise ImageError(got[1])
    _, mode, size, data, width, height, meta = got
    return Decoded(Image.frombytes(mode, size, data), width, height, meta)
