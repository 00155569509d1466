"""What a photo says about itself: date taken (with its UTC offset), camera, lens, GPS,
keywords and caption, from its EXIF, XMP and IPTC.

Read with Pillow from the image the decoder already opened (no second read of the file);
XMP with ElementTree, IPTC with Pillow's IptcImagePlugin. Checked against exiftool in
tests/test_metadata.py and benchmarks/metadata_agreement.py.

Times: `taken_at` is a Unix time. When the offset is known (`taken_offset`, minutes east of
UTC) it is the true instant; when it is not, the photo's wall-clock time is stored as if it
were UTC. Either way `taken_at + (taken_offset or 0) * 60`, read as UTC, is the photo's own
local time: what dates are shown and filtered by (see local_time).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from core.media.localtime import local_time

# EXIF tags (IFD0, the Exif IFD)
_MAKE, _MODEL, _MODIFY_DATE, _DESCRIPTION, _ORIENTATION = 0x010F, 0x0110, 0x0132, 0x010E, 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET, _OFFSET_ORIGINAL, _OFFSET_DIGITIZED = 0x9010, 0x9011, 0x9012
_SUBSEC, _SUBSEC_ORIGINAL, _SUBSEC_DIGITIZED = 0x9290, 0x9291, 0x9292
_LENS_MODEL = 0xA434

_NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "aux": "http://ns.adobe.com/exif/1.0/aux/",
    "exifEX": "http://cipa.jp/exif/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_PREFIX = {uri: prefix for prefix, uri in _NS.items()}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MAX_XMP = 2 * 1024 * 1024  # one XMP packet; real ones are a few KB
# captions cameras write by themselves: not what anyone wrote about the photo
CAMERA_CAPTIONS = frozenset({"olympus digital camera", "sony dsc", "digital camera",
                              "default", "exif_jpeg_picture", "lg digital camera"})
_ISO = re.compile(
    r"^(\d{4})(?:[-:](\d\d)(?:[-:](\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?)?)?"
    r"\s*(Z|[+-]\d\d:?\d\d)?$")
_OFFSET_RE = re.compile(r"^([+-])(\d\d):?(\d\d)$")


# -- values ------------------------------------------------------------------------------
def text(value) -> str:
    """A tag's text: up to its first NUL ("WWL ION230\\x00F" is "WWL ION230"), trimmed."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value).split(b"\x00", 1)[0]
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("latin-1")
    elif isinstance(value, (tuple, list)):
        return text(value[0]) if value else ""
    return str(value).split("\x00", 1)[0].strip()


def camera_name(make, model) -> str | None:
    """"Make Model", without saying the make twice ("Canon" + "Canon EOS 40D" is
    "Canon EOS 40D", "NIKON CORPORATION" + "NIKON D750" is "NIKON D750")."""
    make, model = text(make), text(model)
    if not make or not model:
        return (make or model) or None
    first = make.split()[0].lower()
    if model.lower().startswith(make.lower()) or (
            len(first) >= 3 and model.lower().split()[0].startswith(first)):
        return model
    return f"{make} {model}"


def parse_offset(value) -> int | None:
    """"+02:00" (EXIF OffsetTime) as minutes east of UTC; None when missing or nonsense."""
    match = _OFFSET_RE.match(text(value))
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    if minutes > 14 * 60 or int(match.group(3)) >= 60:
        return None
    return -minutes if match.group(1) == "-" else minutes


def parse_date(value, offset=None, subsec=None) -> tuple[float, int | None] | None:
    """(taken_at, offset in minutes or None) from an EXIF date ("2021:07:14 10:30:00") or an
    ISO 8601 one (XMP, videos: "2021-07-14T10:30:00.5+02:00", "2021-07-14"). An offset in
    the value wins over `offset` (EXIF's OffsetTime tags). Zeros ("0000:00:00 00:00:00"),
    blanks and impossible dates are None."""
    match = _ISO.match(text(value))
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        when = dt.datetime(int(year), int(month or 1), int(day or 1), int(hour or 0),
                           int(minute or 0), int(second or 0))
    except ValueError:  # 0000:00:00, month 13...
        return None
    if when.year < 1800:
        return None
    digits = "".join(c for c in (frac or text(subsec)) if c.isdigit())[:6]
    if digits:
        when = when.replace(microsecond=int(digits.ljust(6, "0")))
    minutes = 0 if zone == "Z" else parse_offset(zone) if zone else parse_offset(offset)
    stamp = when.replace(tzinfo=dt.timezone.utc).timestamp() - (minutes or 0) * 60
    return stamp, minutes


def iso(taken_at: float | None, offset: int | None) -> str | None:
    """ISO 8601 in the photo's local time, with its offset when known."""
    if taken_at is None:
        return None
    when = local_time(taken_at, offset)
    return when.isoformat(timespec="milliseconds" if when.microsecond else "seconds")


def machine_offset(stamp: float) -> int | None:
    """This computer's UTC offset at that instant, in minutes: how an instant with no place
    (a file's time, a video's UTC creation_time) is shown."""
    offset = dt.datetime.fromtimestamp(stamp).astimezone().utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else None


def file_time(path) -> dict:
    """The file's modification time, for a photo that says nothing of when it was taken."""
    import os

    stamp = os.stat(path).st_mtime
    return {"taken_at": stamp, "taken_source": "file", "taken_offset": machine_offset(stamp)}


# -- photos ------------------------------------------------------------------------------
def read_photo(im) -> dict:
    """Orientation, taken_at/taken_offset/taken_source, camera, lens, gps_lat/gps_lon,
    keywords (a list) and caption, where the file has them. Broken metadata never stops the
    photo: whatever could be read is returned."""
    meta: dict = {"orientation": 1}
    try:
        exif = im.getexif()
    except Exception:  # broken EXIF
        exif = {}
    sub = _ifd(exif, _EXIF_IFD)
    xmp = _xmp(im)
    iptc = _iptc(im)

    try:
        orientation = int(exif.get(_ORIENTATION, 1) or 1)
        meta["orientation"] = orientation if orientation in range(1, 9) else 1
    except (TypeError, ValueError):
        pass

    candidates = [
        ("exif:DateTimeOriginal", sub.get(_DATETIME_ORIGINAL), sub.get(_OFFSET_ORIGINAL),
         sub.get(_SUBSEC_ORIGINAL)),
        ("exif:CreateDate", sub.get(_DATETIME_DIGITIZED), sub.get(_OFFSET_DIGITIZED),
         sub.get(_SUBSEC_DIGITIZED)),
        ("xmp:DateTimeOriginal", _first(xmp, "exif:DateTimeOriginal"), None, None),
        ("xmp:CreateDate", _first(xmp, "xmp:CreateDate"), None, None),
        ("xmp:DateCreated", _first(xmp, "photoshop:DateCreated"), None, None),
        ("exif:ModifyDate", exif.get(_MODIFY_DATE), sub.get(_OFFSET), sub.get(_SUBSEC)),
    ]
    for source, value, offset, subsec in candidates:
        taken = _safe(parse_date, value, offset, subsec)
        if taken is not None:
            meta["taken_at"], meta["taken_offset"] = taken
            meta["taken_source"] = source
            break

    camera = _safe(camera_name, exif.get(_MAKE), exif.get(_MODEL)) \
        or _safe(camera_name, _first(xmp, "tiff:Make"), _first(xmp, "tiff:Model"))
    if camera:
        meta["camera"] = camera
    lens = text(sub.get(_LENS_MODEL)) or _first(xmp, "aux:Lens") \
        or _first(xmp, "exifEX:LensModel")
    if lens:
        meta["lens"] = lens
    gps = _safe(gps_from_exif, _ifd(exif, _GPS_IFD)) or _safe(_gps_from_xmp, xmp)
    if gps:
        meta.update(gps)
    keywords = _unique(xmp.get("dc:subject", []) + iptc.get("keywords", []))
    if keywords:
        meta["keywords"] = keywords
    caption = next((c for c in (_first(xmp, "dc:description"), iptc.get("caption"),
                                text(exif.get(_DESCRIPTION))) if _is_caption(c)), None)
    if caption:
        meta["caption"] = caption
    return meta


def _safe(fn, *args):
    try:
        return fn(*args)
    except Exception:  # crafted tags: a wrong type, a zero denominator...
        return None


def _ifd(exif, tag: int) -> dict:
    try:
        return exif.get_ifd(tag) or {}
    except Exception:
        return {}


def _first(xmp: dict, name: str) -> str:
    values = xmp.get(name)
    return values[0] if values else ""


def _unique(words: list[str]) -> list[str]:
    seen, out = set(), []
    for word in words:
        word = text(word)
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            out.append(word)
    return out


def _is_caption(value) -> bool:
    return bool(value) and value.strip().lower() not in CAMERA_CAPTIONS


# -- GPS -----------------------------------------------------------------------------------
def gps_from_exif(gps) -> dict:
    """Decimal degrees from the GPS IFD; nothing when it is missing or nonsense."""
    try:
        lat, lon = _degrees(gps.get(2)), _degrees(gps.get(4))
    except (TypeError, ValueError, ZeroDivisionError):
        return {}
    if lat is None or lon is None:
        return {}
    if text(gps.get(1, "N")).upper() == "S":
        lat = -lat
    if text(gps.get(3, "E")).upper() == "W":
        lon = -lon
    return _valid_gps(lat, lon)


def _valid_gps(lat: float, lon: float) -> dict:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return {}
    return {"gps_lat": round(lat, 7), "gps_lon": round(lon, 7)}


def _degrees(value) -> float | None:
    if not value or len(value) != 3:
        return None
    d, m, sec = (float(x) for x in value)
    return d + m / 60 + sec / 3600


def _gps_from_xmp(xmp: dict) -> dict:
    """exif:GPSLatitude "41,24.5N" or "41,24,30N" (XMP's form of degrees)."""
    def coord(value: str) -> float | None:
        if not value or value[-1].upper() not in "NSEW":
            return None
        parts = [float(p) for p in value[:-1].split(",")]
        degrees = sum(p / 60 ** i for i, p in enumerate(parts))
        return -degrees if value[-1].upper() in "SW" else degrees

    lat, lon = coord(_first(xmp, "exif:GPSLatitude")), coord(_first(xmp, "exif:GPSLongitude"))
    return {} if lat is None or lon is None else _valid_gps(lat, lon)


# -- XMP and IPTC --------------------------------------------------------------------------
def _xmp(im) -> dict[str, list[str]]:
    """The XMP packet's properties we read, as "prefix:Name" → values (one for a simple
    property, several for a list; the x-default entry first for language alternatives)."""
    data = xmp_packet(im)
    return parse_xmp(data) if data else {}


def xmp_packet(im) -> bytes | None:
    """The XMP packet of an image Pillow opened (JPEG, WebP, HEIF; PNG's iTXt; TIFF's
    XMLPacket tag), or None; one larger than MAX_XMP is None too."""
    data = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if data is None and hasattr(im, "tag_v2"):  # TIFF's XMLPacket tag
        try:
            data = im.tag_v2.get(700)
        except Exception:  # a broken IFD
            data = None
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data or not isinstance(data, (bytes, bytearray)) or len(data) > MAX_XMP:
        return None
    return bytes(data)


def parse_xmp(data: bytes) -> dict[str, list[str]]:
    start = data.find(b"<x:xmpmeta")
    end = data.rfind(b"</x:xmpmeta>")
    if start < 0 or end < 0:
        start, end = data.find(b"<rdf:RDF"), data.rfind(b"</rdf:RDF>")
        if start < 0 or end < 0:
            return {}
        end += len(b"</rdf:RDF>")
    else:
        end += len(b"</x:xmpmeta>")
    try:
        root = ET.fromstring(data[start:end])
    except ET.ParseError:
        return {}
    out: dict[str, list[str]] = {}
    for desc in root.iter(f"{{{_NS['rdf']}}}Description"):
        for key, value in desc.attrib.items():
            name = _qname(key)
            if name:
                out.setdefault(name, []).append(value.strip())
        for child in desc:
            name = _qname(child.tag)
            if not name:
                continue
            items = child.findall(f"./{{{_NS['rdf']}}}*/{{{_NS['rdf']}}}li")
            if items:
                items.sort(key=lambda li: li.get(_XML_LANG) != "x-default")
                values = [(li.text or "").strip() for li in items]
            else:
                values = [(child.text or "").strip()] if child.get(
                    f"{{{_NS['rdf']}}}resource") is None else []
            out.setdefault(name, []).extend(v for v in values if v)
    return out


def _qname(tag: str) -> str | None:
    if not tag.startswith("{"):
        return None
    uri, _, local = tag[1:].partition("}")
    prefix = _PREFIX.get(uri)
    return f"{prefix}:{local}" if prefix and prefix != "rdf" else None


def _iptc(im) -> dict:
    """IPTC keywords (2:25) and caption (2:120), from JPEG's Photoshop block or TIFF's tag."""
    if im.format not in ("JPEG", "MPO", "TIFF"):
        return {}
    try:
        from PIL import IptcImagePlugin

        info = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception:  # a broken Photoshop block
        return {}

    def values(key) -> list[str]:
        value = info.get(key)
        if value is None:
            return []
        return [text(v) for v in (value if isinstance(value, list) else [value])]

    out: dict = {}
    keywords = [k for k in values((2, 25)) if k]
    if keywords:
        out["keywords"] = keywords
    caption = values((2, 120))
    if caption and caption[0]:
        out["caption"] = caption[0]
    return out
