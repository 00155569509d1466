"""Names a photo's own metadata gives its faces: XMP face regions, MWG's `mwg-rs:Regions`
(digiKam, Lightroom, Google, Picasa) and Microsoft's `MP:RegionInfo` (Windows Photo Gallery),
read from the file and from an `.xmp` sidecar beside it, never written.

A region is a name and a box, in fractions of the upright picture, as faces' boxes are. MWG
areas are a centre and a size relative to the picture as stored, before its EXIF orientation
turns it upright; Microsoft rectangles are a top-left corner and a size, read the same way.
A region whose `AppliedToDimensions` has the upright picture's shape where the stored one's
differs was written upright already (some tools did), and is not turned again. Where a file
holds both kinds for one face (digiKam writes both), the face is named once.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from core.media.metadata import MAX_XMP, xmp_packet

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_MWG = "http://www.metadataworkinggroup.com/schemas/regions/"
_AREA = "http://ns.adobe.com/xmp/sType/Area#"
_DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
_MP = "http://ns.microsoft.com/photo/1.2/"
_MPRI = "http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
_MPREG = "http://ns.microsoft.com/photo/1.2/t/Region#"
_ORIENTATION = 0x0112
MAX_REGIONS = 200  # a photo's named faces; more is a broken or hostile file


@dataclass(frozen=True)
class Region:
    name: str
    box: tuple[float, float, float, float]  # left, top, right, bottom: fractions, upright
    source: str  # "mwg" or "microsoft"


def read_regions(path: str | os.PathLike) -> list[Region]:
    """The named face regions of a photo, from its sidecar and its own XMP (the sidecar's
    first: a tool that keeps the file untouched writes there). Nothing when there are none or
    they cannot be read: a photo is never refused for its regions."""
    path = Path(path)
    orientation, stored = 1, None
    packets = []
    try:
        from PIL import Image

        with Image.open(path) as im:  # headers only: no pixels are decoded
            stored = im.size
            try:
                orientation = int(im.getexif().get(_ORIENTATION, 1) or 1)
            except Exception:  # broken EXIF: as stored
                orientation = 1
            packets.append(xmp_packet(im))
    except Exception:  # not a picture Pillow opens (RAW, video): its sidecar may still name
        pass
    found: list[Region] = []
    for sidecar in sidecars(path):
        try:
            if sidecar.stat().st_size <= MAX_XMP:
                packets.insert(0, sidecar.read_bytes())
        except OSError:
            continue
    for packet in packets:
        if packet:
            found = merge(found, regions_in_xmp(packet, orientation, stored))
    return found[:MAX_REGIONS]


def sidecars(path: Path) -> list[Path]:
    """The sidecars a photo may have: `photo.jpg.xmp` (digiKam, darktable) and `photo.xmp`
    (Lightroom), any case of the extension."""
    out = []
    for name in (path.name + ".xmp", path.name + ".XMP", path.stem + ".xmp", path.stem + ".XMP"):
        candidate = path.with_name(name)
        if candidate.is_file() and candidate not in out:
            out.append(candidate)
    return out


def regions_in_xmp(data: bytes, orientation: int = 1, stored: tuple[int, int] | None = None
                   ) -> list[Region]:
    """The named face regions of one XMP packet, upright."""
    root = _root(data)
    if root is None:
        return []
    mwg: list[Region] = []
    microsoft: list[Region] = []  # named after MWG's, which say more (the dimensions)
    for desc in root.iter(f"{{{_RDF}}}Description"):
        for prop in _properties(desc):
            if prop.tag == f"{{{_MWG}}}Regions":
                mwg = merge(mwg, _mwg(_value(prop), orientation, stored))
            elif prop.tag == f"{{{_MP}}}RegionInfo":
                microsoft = merge(microsoft, _microsoft(_value(prop), orientation))
    return merge(mwg, microsoft)


def merge(first: list[Region], more: list[Region]) -> list[Region]:
    """`first`, then the regions of `more` that do not name a face `first` names already."""
    out = list(first)
    for region in more:
        if not any(r.name.casefold() == region.name.casefold() and overlap(r.box, region.box)
                   >= 0.5 for r in out):
            out.append(region)
    return out


def overlap(a, b) -> float:
    """How much two boxes cover each other: their intersection over the smaller one."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / smaller if smaller > 0 else 0.0


# -- the two schemas -----------------------------------------------------------------------
def _mwg(regions, orientation: int, stored) -> list[Region]:
    if not isinstance(regions, dict):
        return []
    upright = _written_upright(regions.get(f"{{{_MWG}}}AppliedToDimensions"), orientation, stored)
    out = []
    for item in _items(regions.get(f"{{{_MWG}}}RegionList")):
        kind = str(item.get(f"{{{_MWG}}}Type", "Face")).strip().lower()
        name = _name(item.get(f"{{{_MWG}}}Name"))
        area = item.get(f"{{{_MWG}}}Area")
        if kind != "face" or not name or not isinstance(area, dict):
            continue
        if str(area.get(f"{{{_AREA}}}unit", "normalized")).strip().lower() != "normalized":
            continue
        x, y, w, h = (_number(area.get(f"{{{_AREA}}}{k}")) for k in "xywh")
        if None in (x, y, w, h):
            continue
        box = _turned((x - w / 2, y - h / 2, x + w / 2, y + h / 2), 1 if upright else orientation)
        if box is not None:
            out.append(Region(name, box, "mwg"))
    return out


def _microsoft(info, orientation: int) -> list[Region]:
    if not isinstance(info, dict):
        return []
    out = []
    for item in _items(info.get(f"{{{_MPRI}}}Regions")):
        name = _name(item.get(f"{{{_MPREG}}}PersonDisplayName"))
        rect = item.get(f"{{{_MPREG}}}Rectangle")
        if not name or not isinstance(rect, str):
            continue
        parts = [_number(p) for p in rect.split(",")]
        if len(parts) != 4 or None in parts:
            continue
        x, y, w, h = parts
        box = _turned((x, y, x + w, y + h), orientation)
        if box is not None:
            out.append(Region(name, box, "microsoft"))
    return out


def _written_upright(dims, orientation: int, stored) -> bool:
    """Whether a region's dimensions say it was written on the upright picture: they have the
    upright picture's shape (portrait or landscape) where the stored one's differs."""
    if orientation not in (5, 6, 7, 8) or stored is None or not isinstance(dims, dict):
        return False
    w, h = _number(dims.get(f"{{{_DIM}}}w")), _number(dims.get(f"{{{_DIM}}}h"))
    if not w or not h or stored[0] == stored[1] or w == h:
        return False
    return (w > h) != (stored[0] > stored[1])


def _turned(box, orientation: int) -> tuple[float, float, float, float] | None:
    """A box in fractions of the stored picture, in fractions of the upright one (the EXIF
    orientation turned as the decoder turns the pixels); None when it is empty or outside."""
    left, top, right, bottom = (min(max(v, 0.0), 1.0) for v in box)
    if right - left <= 0 or bottom - top <= 0:
        return None
    turn = {
        2: lambda u, v: (1 - u, v), 3: lambda u, v: (1 - u, 1 - v), 4: lambda u, v: (u, 1 - v),
        5: lambda u, v: (v, u), 6: lambda u, v: (1 - v, u), 7: lambda u, v: (1 - v, 1 - u),
        8: lambda u, v: (v, 1 - u),
    }.get(orientation)
    if turn is None:
        return (left, top, right, bottom)
    (x0, y0), (x1, y1) = turn(left, top), turn(right, bottom)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


# -- RDF, the ways a structure is written ---------------------------------------------------
def _root(data: bytes):
    start, end = data.find(b"<x:xmpmeta"), data.rfind(b"</x:xmpmeta>")
    if start >= 0 and end >= 0:
        end += len(b"</x:xmpmeta>")
    else:
        start, end = data.find(b"<rdf:RDF"), data.rfind(b"</rdf:RDF>")
        if start < 0 or end < 0:
            return None
        end += len(b"</rdf:RDF>")
    try:
        return ET.fromstring(data[start:end])
    except ET.ParseError:
        return None


def _properties(el):
    """The properties of a description or structure: its child elements, and its attributes
    (shorthand) as elements with their text."""
    for key, value in el.attrib.items():
        if key.startswith("{") and not key.startswith(f"{{{_RDF}}}"):
            prop = ET.Element(key)
            prop.text = value
            yield prop
    yield from el


def _value(el):
    """A property as Python: text, a list (an rdf:Bag, Seq or Alt), or a dict of fields (a
    structure, written with parseType="Resource", an rdf:Description, or attributes)."""
    for kind in ("Bag", "Seq", "Alt"):
        container = el.find(f"{{{_RDF}}}{kind}")
        if container is not None:
            return [_value(li) for li in container.findall(f"{{{_RDF}}}li")]
    desc = el.find(f"{{{_RDF}}}Description")
    if desc is not None:
        return _fields(desc)
    shorthand = any(k.startswith("{") and not k.startswith(f"{{{_RDF}}}") for k in el.attrib)
    if el.get(f"{{{_RDF}}}parseType") == "Resource" or shorthand or len(el):
        return _fields(el)
    return (el.text or "").strip()


def _fields(el) -> dict:
    return {prop.tag: _value(prop) for prop in _properties(el)}


def _items(value) -> list[dict]:
    if isinstance(value, dict):  # a list written as a single structure
        value = [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _name(value) -> str:
    if isinstance(value, list):  # a language alternative
        value = value[0] if value else ""
    return " ".join(str(value or "").split())[:200]


def _number(value) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) < 1e9 else None  # not NaN
