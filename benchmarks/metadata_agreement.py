"""How often Snapseek reads a file's metadata as exiftool does, field by field, over a folder.

    .venv/bin/python -m benchmarks.metadata_agreement FOLDER [--show N] [--json]

exiftool (Debian: libimage-exiftool-perl) is the reference. What Snapseek should read is
taken from exiftool's tags by Snapseek's own rules (which date wins, the camera's name
without the make twice, the first lens and caption there is), so a disagreement is a file
Snapseek misreads, or a tag it does not read at all. tests/test_metadata.py uses the same
comparison.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.media.imaging import is_media  # noqa: E402
from core.media.metadata import CAMERA_CAPTIONS, camera_name  # noqa: E402
from core.media.probe import info  # noqa: E402

FIELDS = ("size", "taken", "taken_source", "camera", "lens", "gps", "keywords", "caption",
          "duration_s")
# (date tag, subseconds tag, offset tag, Snapseek's taken_source), in Snapseek's order
DATE_TAGS = [
    ("ExifIFD:DateTimeOriginal", "ExifIFD:SubSecTimeOriginal", "ExifIFD:OffsetTimeOriginal",
     "exif:DateTimeOriginal"),
    ("ExifIFD:CreateDate", "ExifIFD:SubSecTimeDigitized", "ExifIFD:OffsetTimeDigitized",
     "exif:CreateDate"),
    ("XMP-exif:DateTimeOriginal", None, None, "xmp:DateTimeOriginal"),
    ("XMP-xmp:CreateDate", None, None, "xmp:CreateDate"),
    ("XMP-photoshop:DateCreated", None, None, "xmp:DateCreated"),
    ("Keys:CreationDate", None, None, "video"),
    ("QuickTime:CreateDate", None, None, "video"),
    ("Matroska:DateTimeOriginal", None, None, "video"),
    ("IFD0:ModifyDate", "ExifIFD:SubSecTime", "ExifIFD:OffsetTime", "exif:ModifyDate"),
]


def have_exiftool() -> bool:
    return shutil.which("exiftool") is not None


def exiftool(paths: list[str]) -> dict[str, dict]:
    """exiftool's tags of each file, by "Group:Tag", as numbers where it has them (-n)."""
    if not paths:
        return {}
    out = subprocess.run(["exiftool", "-json", "-G1", "-n", "-a", "-q", "-q", "-charset",
                          "filename=utf8", *paths], capture_output=True, text=True, check=False)
    return {os.path.abspath(d["SourceFile"]): d for d in json.loads(out.stdout or "[]")}


def _date(value, subsec=None, offset=None) -> tuple[dt.datetime, bool] | None:
    """exiftool's "YYYY:MM:DD HH:MM:SS[.ff][+HH:MM]" as (datetime, its offset is known)."""
    text = str(value).strip()
    if not text or text.startswith("0000"):
        return None
    date, _, time = text.partition(" ")
    iso = date.replace(":", "-") + ("T" + time if time else "")
    if subsec is not None and "." not in time:
        iso = iso[:19] + "." + str(subsec).strip()[:6].ljust(6, "0") + iso[19:]
    if offset and iso[-6] not in "+-" and not iso.endswith("Z"):
        iso += str(offset).strip()
    # six digits of a second: fromisoformat takes only three or six before Python 3.11
    iso = re.sub(r"\.(\d{1,6})\d*", lambda m: "." + m.group(1).ljust(6, "0"), iso, count=1)
    try:
        when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.year < 1990 and when.tzinfo is not None:  # a video's unset clock (1904, 1970)
        return None
    return when, when.tzinfo is not None


def expected(tags: dict) -> dict:
    """What Snapseek should read, from exiftool's tags."""
    out: dict = {"taken_source": "file"}
    for tag, subsec, offset, source in DATE_TAGS:
        if tag in tags:
            when = _date(tags[tag], tags.get(subsec), tags.get(offset))
            if when is not None:
                if source == "video" and when[0].tzinfo is None:  # QuickTime's are in UTC
                    when = (when[0].replace(tzinfo=dt.timezone.utc), True)
                out["taken"], out["taken_source"] = when[0], source
                break
    else:  # no date in the file: its modification time, an instant
        when = _date(tags.get("System:FileModifyDate", ""))
        out["taken"] = when[0] if when else None
    out["camera"] = camera_name(tags.get("IFD0:Make"), tags.get("IFD0:Model")) or camera_name(
        tags.get("XMP-tiff:Make"), tags.get("XMP-tiff:Model"))
    out["lens"] = next((str(tags[t]).strip() for t in ("ExifIFD:LensModel", "XMP-aux:Lens",
                                                       "XMP-exifEX:LensModel")
                        if str(tags.get(t, "")).strip()), None)
    lat, lon = tags.get("Composite:GPSLatitude"), tags.get("Composite:GPSLongitude")
    out["gps"] = (round(float(lat), 5), round(float(lon), 5)) if lat is not None \
        and lon is not None and (lat, lon) != (0, 0) else None
    words: list[str] = []
    for tag in ("XMP-dc:Subject", "IPTC:Keywords"):
        value = tags.get(tag, [])
        for word in value if isinstance(value, list) else [value]:
            if str(word).strip() and str(word).strip().casefold() not in \
                    {w.casefold() for w in words}:
                words.append(str(word).strip())
    out["keywords"] = words
    out["caption"] = next((str(tags[t]).strip() for t in ("XMP-dc:Description",
                                                          "IPTC:Caption-Abstract",
                                                          "IFD0:ImageDescription")
                           if str(tags.get(t, "")).strip().lower() not in {"", *CAMERA_CAPTIONS}),
                          None)
    width = tags.get("File:ImageWidth") or tags.get("PNG:ImageWidth") or tags.get(
        "Track1:ImageWidth") or tags.get("Composite:ImageWidth") or tags.get("IFD0:ImageWidth")
    height = tags.get("File:ImageHeight") or tags.get("PNG:ImageHeight") or tags.get(
        "Track1:ImageHeight") or tags.get("IFD0:ImageHeight")
    if width and height and tags.get("IFD0:Orientation") in (5, 6, 7, 8):
        width, height = height, width
    out["size"] = (width, height) if width and height else None
    duration = next((tags[t] for t in ("QuickTime:Duration", "Matroska:Duration")
                     if isinstance(tags.get(t), (int, float))), None)
    out["duration_s"] = round(float(duration), 2) if duration else None
    return out


def ours(item: dict) -> dict:
    """Snapseek's reading (core.media.metadata.info) in the same terms as expected()."""
    out = dict(item)
    if item.get("taken"):
        out["taken"] = dt.datetime.fromisoformat(item["taken"])
    gps = item.get("gps")
    out["gps"] = (round(gps["lat"], 5), round(gps["lon"], 5)) if gps else None
    out["size"] = (item.get("width"), item.get("height")) if item.get("width") else None
    if item.get("duration_s"):
        out["duration_s"] = round(item["duration_s"], 2)
    return out


def agree(field: str, got: dict, want: dict) -> bool | None:
    """Whether Snapseek agrees with exiftool on a field; None where neither has it (or
    exiftool cannot say: a video's duration in a container it reads no duration from)."""
    a, b = got.get(field), want.get(field)
    if field == "taken":
        if a is None or b is None:
            return None if a is b else False
        if b.microsecond == 0:  # exiftool's file times have no fraction of a second
            a = a.replace(microsecond=0)
        if a.tzinfo is not None and b.tzinfo is not None:  # the same instant...
            same = a == b
            if want.get("taken_source") != "video":  # ...and the same offset, for photos
                same = same and a.utcoffset() == b.utcoffset()
            return same
        return a == b and a.tzinfo is b.tzinfo
    if field == "taken_source" and b == "file":
        return None if a == "file" else False
    if field == "duration_s" and b is None:
        return None
    if field == "size" and b is None:
        return None
    if not a and not b:
        return None
    return a == b


def compare(paths: list[str]) -> list[tuple[str, dict, dict, dict]]:
    """(path, field → agrees (or None), ours, exiftool's) for each file Snapseek reads."""
    tags = exiftool(paths)
    rows = []
    for path in paths:
        got = info(path)
        if "error" in got:
            continue
        mine = ours(got)
        want = expected(tags.get(os.path.abspath(path), {}))
        rows.append((path, {f: agree(f, mine, want) for f in FIELDS}, mine, want))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--show", type=int, default=3, help="disagreements shown per field")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not have_exiftool():
        print("metadata_agreement: needs exiftool (apt-get install libimage-exiftool-perl)",
              file=sys.stderr)
        return 2
    if not os.path.isdir(args.folder):
        print(f"metadata_agreement: not a folder: {args.folder}", file=sys.stderr)
        return 2
    paths = sorted(os.path.join(d, n) for d, _, names in os.walk(args.folder)
                   for n in names if is_media(n))
    rows = compare(paths)
    table = {}
    for field in FIELDS:
        verdicts = [r[1][field] for r in rows]
        table[field] = {"agree": verdicts.count(True), "differ": verdicts.count(False),
                        "neither": verdicts.count(None)}
    if args.json:
        print(json.dumps({"files": len(paths), "read": len(rows), "fields": table}, indent=2))
        return 0
    print(f"{len(paths)} media files, {len(rows)} read by Snapseek; per field, files where "
          "Snapseek and exiftool agree / differ / neither has it:")
    for field, counts in table.items():
        both = counts["agree"] + counts["differ"]
        share = f"{counts['agree'] / both:.0%}" if both else "-"
        print(f"  {field:<13} {counts['agree']:>5} / {counts['differ']:>4} / "
              f"{counts['neither']:>5}   {share} agree")
        shown = [r for r in rows if r[1][field] is False][:args.show]
        for path, _, mine, want in shown:
            print(f"      {os.path.basename(path)}: snapseek {mine.get(field)!r}, "
                  f"exiftool {want.get(field)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
