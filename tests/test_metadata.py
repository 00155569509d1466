"""Metadata, checked against exiftool: dates (which one, with subseconds and offset), camera,
lens, keywords, captions, GPS, videos' dates and durations; `snapseek info`; local-time days.

No model and no torch: these run in a few seconds."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from benchmarks import metadata_agreement as agreement
from core.media.imaging import open_image
from core.media.metadata import parse_date, read_photo
from core.media.probe import info

ROOT = Path(__file__).resolve().parent.parent
needs_exiftool = pytest.mark.skipif(
    not agreement.have_exiftool(),
    reason="exiftool is the reference: apt-get install libimage-exiftool-perl (.ci/run does)")

XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:aux="http://ns.adobe.com/exif/1.0/aux/"
 xmlns:exifEX="http://cipa.jp/exif/1.0/" {attrs}>{body}</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def xmp(attrs: str = "", body: str = "") -> bytes:
    return XMP.format(attrs=attrs, body=body).encode("utf-8")


def exif_of(ifd0: dict | None = None, sub: dict | None = None) -> bytes:
    exif = Image.Exif()
    for tag, value in (ifd0 or {}).items():
        exif[tag] = value
    for tag, value in (sub or {}).items():
        exif.get_ifd(0x8769)[tag] = value
    return exif.tobytes()


def save(path: Path, exif: bytes | None = None, xmp_packet: bytes | None = None,
         size=(64, 48)) -> Path:
    """A small photo in the format its name says, with EXIF and XMP as each format holds them."""
    im = Image.new("RGB", size, (200, 80, 40))
    fmt = {".png": "PNG", ".webp": "WEBP", ".tif": "TIFF"}.get(path.suffix, "JPEG")
    kw: dict = {}
    if exif:
        kw["exif"] = exif
    if xmp_packet and fmt == "PNG":
        kw["pnginfo"] = PngInfo()
        kw["pnginfo"].add_itxt("XML:com.adobe.xmp", xmp_packet.decode("utf-8"))
    elif xmp_packet and fmt == "TIFF":
        kw["tiffinfo"] = {700: xmp_packet}
    elif xmp_packet:
        kw["xmp"] = xmp_packet
    im.save(path, fmt, **kw)
    return path


def with_iptc(path: Path, keywords: list[str], caption: str) -> Path:
    """Add an IPTC block (Photoshop APP13, UTF-8) to a JPEG, as photo managers write it."""
    data = b"\x1c\x01\x5a\x00\x03\x1b\x25\x47"  # 1:90 coded character set: UTF-8
    for record, value in [((2, 25), k) for k in keywords] + [((2, 120), caption)]:
        raw = value.encode("utf-8")
        data += bytes([0x1C, *record]) + len(raw).to_bytes(2, "big") + raw
    block = b"8BIM\x04\x04\x00\x00" + len(data).to_bytes(4, "big") + data + b"\x00" * (len(data) % 2)
    payload = b"Photoshop 3.0\x00" + block
    jpeg = path.read_bytes()
    path.write_bytes(jpeg[:2] + b"\xff\xed" + (len(payload) + 2).to_bytes(2, "big") + payload
                     + jpeg[2:])
    return path


def read(path: Path) -> dict:
    return open_image(path, 32).meta


def check_against_exiftool(paths: list[Path]) -> None:
    """Every field where Snapseek or exiftool has a value agrees (the benchmark's rules)."""
    rows = agreement.compare([str(p) for p in paths])
    assert len(rows) == len(paths), "a file Snapseek could not read"
    wrong = [(Path(path).name, field, mine.get(field), want.get(field))
             for path, verdicts, mine, want in rows for field, ok in verdicts.items() if ok is False]
    assert not wrong, wrong


# -- dates ---------------------------------------------------------------------------------
@needs_exiftool
def test_date_taken_order_subseconds_and_offset_agree_with_exiftool(tmp_path):
    dto, digitized, modify = "2019:08:03 17:45:10", "2019:08:03 18:00:00", "2020:01:01 09:00:00"
    files = {
        "original.jpg": ({0x0132: modify}, {0x9003: dto, 0x9291: "25", 0x9011: "+02:00",
                                            0x9004: digitized}),
        "digitized.jpg": ({0x0132: modify}, {0x9004: digitized, 0x9012: "-05:30"}),
        "modified.jpg": ({0x0132: modify, 0x010F: "Canon"}, {0x9010: "+01:00"}),
        "zeros.jpg": ({0x0132: modify}, {0x9003: "0000:00:00 00:00:00"}),
    }
    paths = [save(tmp_path / name, exif_of(*tags)) for name, tags in files.items()]
    check_against_exiftool(paths)
    got = {p.name: read(p) for p in paths}
    assert got["original.jpg"]["taken_source"] == "exif:DateTimeOriginal"
    assert got["original.jpg"]["taken_at"] == dt.datetime(
        2019, 8, 3, 17, 45, 10, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2))).timestamp()
    assert got["original.jpg"]["taken_offset"] == 120
    assert (got["digitized.jpg"]["taken_source"], got["digitized.jpg"]["taken_offset"]) == (
        "exif:CreateDate", -330)
    # an edit time is not when the photo was taken: said so, and only used when nothing else
    assert got["modified.jpg"]["taken_source"] == "exif:ModifyDate"
    assert got["modified.jpg"]["taken_offset"] == 60
    assert got["zeros.jpg"]["taken_source"] == "exif:ModifyDate"


@needs_exiftool
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_xmp_dates_come_before_the_edit_time_and_the_file_time(tmp_path, suffix):
    only_xmp = save(tmp_path / f"xmp{suffix}", None, xmp(
        'xmp:CreateDate="2012-06-29T09:29-04:00" photoshop:DateCreated="2012-06-28"'))
    original = save(tmp_path / f"orig{suffix}", exif_of({0x0132: "2020:01:01 09:00:00"}), xmp(
        'exif:DateTimeOriginal="2011-05-04T03:02:01.5" xmp:CreateDate="2012-06-29T09:29"'))
    created = save(tmp_path / f"created{suffix}", None, xmp('photoshop:DateCreated="2010-02-03"'))
    check_against_exiftool([only_xmp, original, created])
    assert read(only_xmp)["taken_source"] == "xmp:CreateDate"
    assert read(only_xmp)["taken_offset"] == -240
    assert read(original)["taken_source"] == "xmp:DateTimeOriginal"
    assert read(original)["taken_at"] == dt.datetime(
        2011, 5, 4, 3, 2, 1, 500000, tzinfo=dt.timezone.utc).timestamp()
    assert read(created)["taken_source"] == "xmp:DateCreated"


def test_dates_that_are_no_dates_are_missing():
    for value in ("0000:00:00 00:00:00", "    :  :     :  :  ", "", "2019:13:40 10:00:00",
                  "1904-01-01T00:00:00Z"[:4] + "x", None):
        assert parse_date(value) is None, value
    assert parse_date("2019:08:03 17:45:10", "+25:00") == (
        dt.datetime(2019, 8, 3, 17, 45, 10, tzinfo=dt.timezone.utc).timestamp(), None)


# -- camera, lens, keywords, captions, GPS ----------------------------------------------------
@needs_exiftool
def test_camera_lens_keywords_caption_and_gps_agree_with_exiftool(tmp_path):
    gps = Image.Exif()
    gps_ifd = gps.get_ifd(0x8825)
    gps_ifd.update({1: "N", 2: (38.0, 43.0, 20.28), 3: "W", 4: (9.0, 8.0, 21.48)})
    canon = Image.Exif()
    canon[0x010F], canon[0x0110] = "Canon", "Canon EOS 40D"
    canon.get_ifd(0x8769)[0xA434] = "EF-S17-85mm f/4-5.6 IS USM"
    canon.get_ifd(0x8825).update(gps_ifd)
    files = [
        save(tmp_path / "canon.jpg", canon.tobytes()),
        save(tmp_path / "garbage.jpg", exif_of({0x010F: "WWL", 0x0110: "WWL ION230\x00F",
                                                0x010E: "OLYMPUS DIGITAL CAMERA"})),
        save(tmp_path / "nikon.jpg", exif_of({0x010F: "NIKON CORPORATION", 0x0110: "NIKON D750",
                                              0x010E: "Harbour at dusk"})),
        save(tmp_path / "aux.jpg", None, xmp('aux:Lens="EF 50mm f/1.8"', """
            <dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>Lisbon</rdf:li></rdf:Bag></dc:subject>
            <dc:description><rdf:Alt><rdf:li xml:lang="pt">Praia</rdf:li>
            <rdf:li xml:lang="x-default">A beach</rdf:li></rdf:Alt></dc:description>""")),
        save(tmp_path / "exifex.png", None, xmp('exifEX:LensModel="XF23mmF2 R WR"')),
        with_iptc(save(tmp_path / "iptc.jpg", None, xmp(body="""
            <dc:subject><rdf:Bag><rdf:li>beach</rdf:li></rdf:Bag></dc:subject>""")),
                  ["Beach", "família", "sunset"], "Sunset over the Tagus"),
    ]
    check_against_exiftool(files)
    got = {p.name: read(p) for p in files}
    assert got["canon.jpg"]["camera"] == "Canon EOS 40D"
    assert got["canon.jpg"]["lens"] == "EF-S17-85mm f/4-5.6 IS USM"
    assert (got["canon.jpg"]["gps_lat"], got["canon.jpg"]["gps_lon"]) == pytest.approx(
        (38.7223, -9.1393), abs=1e-6)
    assert got["garbage.jpg"]["camera"] == "WWL ION230"
    assert "caption" not in got["garbage.jpg"]  # what a camera writes by itself
    assert got["nikon.jpg"]["camera"] == "NIKON D750"
    assert got["nikon.jpg"]["caption"] == "Harbour at dusk"
    assert got["aux.jpg"]["lens"] == "EF 50mm f/1.8"
    assert got["aux.jpg"]["keywords"] == ["beach", "Lisbon"]
    assert got["aux.jpg"]["caption"] == "A beach"
    assert got["exifex.png"]["lens"] == "XF23mmF2 R WR"
    assert got["iptc.jpg"]["keywords"] == ["beach", "família", "sunset"]
    assert got["iptc.jpg"]["caption"] == "Sunset over the Tagus"


@needs_exiftool
def test_real_files_shipped_with_scikit_image_agree_with_exiftool():
    data = pytest.importorskip("skimage.data", reason="scikit-image ships real photos")
    folder = Path(data.__file__).parent
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    assert len(paths) > 20
    check_against_exiftool(paths)
    chelsea = read(folder / "chelsea.png")  # only XMP: a date and a camera with trailing spaces
    assert (chelsea["taken_source"], chelsea["camera"]) == ("xmp:CreateDate", "PENTAX K100D Super")
    hubble = read(folder / "hubble_deep_field.jpg")  # an odd IFD0 date, XMP with an offset
    assert (hubble["taken_source"], hubble["taken_offset"]) == ("xmp:CreateDate", -240)


def test_broken_metadata_never_stops_the_photo(tmp_path):
    broken = save(tmp_path / "broken.jpg", exif_of(
        {0x0110: b"\xff\xfe\x00junk", 0x0132: "yesterday"}, {0x9011: "+99:99", 0xA434: 7}),
        b"<x:xmpmeta><rdf:RDF><unclosed></x:xmpmeta>")
    meta = read(broken)
    assert meta["width"] == 64 and "taken_at" not in meta
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    assert read_photo(Image.open(png)) == {"orientation": 1}


# -- videos ----------------------------------------------------------------------------------
def _container(container_tags: dict, stream_tags: dict | None = None):
    return SimpleNamespace(metadata=container_tags,
                           streams=[SimpleNamespace(metadata=stream_tags or {})])


def test_video_clock_zeros_are_no_date_and_apple_dates_keep_their_offset():
    from core.media.video import _metadata

    for zero in ("1904-01-01T00:00:00.000000Z", "0000-00-00T00:00:00Z", "1970-01-01 00:00:00"):
        assert "taken_at" not in _metadata(_container({"creation_time": zero}))
    # the container's clock was never set; the stream's was
    meta = _metadata(_container({"creation_time": "1904-01-01T00:00:00Z"},
                                {"creation_time": "2021-07-14T10:30:00Z"}))
    assert meta["taken_at"] == dt.datetime(2021, 7, 14, 10, 30, tzinfo=dt.timezone.utc).timestamp()
    assert meta["taken_source"] == "video"
    meta = _metadata(_container({"com.apple.quicktime.creationdate": "2021-07-14T12:30:00+0200",
                                 "creation_time": "2021-07-14T10:30:00Z",
                                 "com.apple.quicktime.make": "Apple",
                                 "com.apple.quicktime.model": "iPhone 12"}))
    assert (meta["taken_offset"], meta["camera"]) == (120, "Apple iPhone 12")
    assert meta["taken_at"] == dt.datetime(2021, 7, 14, 10, 30, tzinfo=dt.timezone.utc).timestamp()


class _NoSeek(io.RawIOBase):
    """A pipe: the muxer cannot go back to write the duration."""

    def __init__(self, f):
        self.f = f

    def writable(self):
        return True

    def write(self, b):
        return self.f.write(b)


def _write_video(path: Path, fmt: str, codec: str, frames: int = 63, stream=False) -> Path:
    av = pytest.importorskip("av")
    with open(path, "wb") as raw:
        out = av.open(_NoSeek(raw) if stream else raw, "w", format=fmt)
        s = out.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 3, np.uint8), "rgb24")
            for packet in s.encode(frame):
                out.mux(packet)
        for packet in s.encode():
            out.mux(packet)
        out.close()
    return path


def test_video_duration_from_the_stream_when_the_container_has_none(tmp_path):
    clip = _write_video(tmp_path / "streamed.mkv", "matroska", "mpeg4", stream=True)
    got = info(str(clip))
    assert got["duration_s"] == pytest.approx(63 / 25, abs=0.05), got
    ts = _write_video(tmp_path / "clip.ts", "mpegts", "mpeg2video")
    assert info(str(ts))["duration_s"] == pytest.approx(63 / 25, abs=0.05)


@needs_exiftool
def test_mp4_date_and_duration_agree_with_exiftool(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        out.metadata["creation_time"] = "2021-07-14T10:30:00.000000Z"
        s = out.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(30):
            for packet in s.encode(av.VideoFrame.from_ndarray(
                    np.full((48, 64, 3), i, np.uint8), "rgb24")):
                out.mux(packet)
        for packet in s.encode():
            out.mux(packet)
    check_against_exiftool([path])


# -- local time: stored, filtered, shown ----------------------------------------------------
def test_date_filters_cut_days_in_the_photos_own_local_time(tmp_path):
    from core.cli.parser import parse_day
    from core.query.filters import Filters
    from core.store import Catalog

    cat = Catalog(tmp_path / "catalog.db")
    folder = cat.add_folder(str(tmp_path))
    # 23:30 and 00:30 in Lisbon summer time (+01:00) are 22:30 and 23:30 UTC of the same day
    late = read(save(tmp_path / "late.jpg", exif_of(sub={0x9003: "2021:07:14 23:30:00",
                                                         0x9011: "+01:00"})))
    early = read(save(tmp_path / "early.jpg", exif_of(sub={0x9003: "2021:07:15 00:30:00",
                                                           0x9011: "+01:00"})))
    early.update(keywords=["beach", "Tejo"], caption="Night swim")
    ids = {}
    with cat.write() as w:
        for name in ("late", "early"):
            ids[name] = cat.insert_media(w, folder, str(tmp_path / f"{name}.jpg"), 1, 1, name)
    cat.store_vectors("m", [(ids["late"], np.ones(4), late), (ids["early"], np.ones(4), early)], [])
    day = Filters(after=parse_day("2021-07-15"), before=parse_day("2021-07-16"))
    assert cat.ids_passing(day, 10) == [ids["early"]]
    assert cat.ids_passing(Filters(before=parse_day("2021-07-15")), 10) == [ids["late"]]
    details = cat.details(ids["early"])
    assert (details["taken_offset"], details["keywords"], details["caption"]) == (
        60, ["beach", "Tejo"], "Night swim")
    cat.close()


def test_a_catalog_from_schema_2_gains_the_new_columns(tmp_path):
    import sqlite3

    from core.store import SCHEMA_VERSION, Catalog

    path = tmp_path / "catalog.db"
    Catalog(path).close()
    con = sqlite3.connect(path)
    # what schema 5 added (full-text triggers, places, text in photos) is not in a schema-2
    # catalog either, and its triggers name the columns dropped below
    for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        con.execute(f"DROP TRIGGER {trigger}")
    for table in ("media_fts", "places", "photo_text"):
        con.execute(f"DROP TABLE {table}")
    for column in ("taken_offset", "keywords", "caption"):
        con.execute(f"ALTER TABLE media DROP COLUMN {column}")
    con.execute("INSERT INTO folders(path, added_at) VALUES('/p', 0)")
    con.execute("INSERT INTO media(folder_id, path, size, mtime_ns, content_hash, added_at, "
                "taken_source) VALUES(1, '/p/a.jpg', 1, 1, 'h', 0, 'mtime')")
    con.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    con.commit()
    con.close()
    cat = Catalog(path)
    assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)
    details = cat.details(1)
    assert (details["taken_source"], details["taken_offset"], details["keywords"]) == (
        "file", None, [])
    assert "a.jpg" in cat.text_body(1)  # schema 5: the photo's words are searchable
    cat.close()


def test_the_preview_shows_local_time_with_its_offset():
    pytest.importorskip("PySide6")
    from desktop.photo.preview import describe

    result = SimpleNamespace(path="/p/a.jpg", kind="photo", at_s=None, score=0.5)
    utc = dt.datetime(2021, 7, 14, 22, 30, tzinfo=dt.timezone.utc).timestamp()
    text = describe(result, {"taken_at": utc, "taken_offset": 60, "width": 4, "height": 3,
                             "taken_source": "exif:DateTimeOriginal"})
    assert "2021-07-14 23:30 (UTC+01:00)" in text
    text = describe(result, {"taken_at": utc, "taken_offset": None})  # the wall clock as read
    assert "2021-07-14 22:30" in text and "UTC" not in text
    text = describe(result, {"taken_at": utc, "taken_offset": -300, "taken_source": "file",
                             "keywords": ["beach"], "caption": "Night <swim>"})
    assert "2021-07-14 17:30 (UTC−05:00) (file date)" in text
    assert "beach" in text and "Night &lt;swim&gt;" in text


# -- snapseek info -----------------------------------------------------------------------------
def test_snapseek_info_reads_files_outside_any_library_without_torch(tmp_path):
    photo = save(tmp_path / "a.jpg", exif_of({0x010F: "Canon", 0x0110: "Canon EOS 40D",
                                              0x0112: 6},
                                             {0x9003: "2019:08:03 17:45:10", 0x9011: "+02:00"}),
                 xmp(body="<dc:subject><rdf:Bag><rdf:li>harbour</rdf:li></rdf:Bag></dc:subject>"),
                 size=(80, 40))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    missing = tmp_path / "missing.jpg"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # -v: what the interpreter writes to stderr itself (importtime's lines) reaches the terminal
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "core.cli", "-v", "info",
                           "--json", str(photo), str(broken), str(missing)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1  # some files could not be read
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
                if "import time:" in line}
    assert "PIL" in imported and "torch" not in imported and "open_clip" not in imported
    got = {Path(d["path"]).name: d for d in json.loads(proc.stdout)}
    a = got["a.jpg"]
    assert (a["kind"], a["width"], a["height"]) == ("photo", 40, 80)  # upright
    assert (a["taken"], a["taken_source"]) == ("2019-08-03T17:45:10+02:00", "exif:DateTimeOriginal")
    assert (a["camera"], a["keywords"], a["gps"], a["lens"]) == ("Canon EOS 40D", ["harbour"],
                                                                 None, None)
    assert "corrupt" in got["broken.jpg"]["error"] or "readable" in got["broken.jpg"]["error"]
    assert got["missing.jpg"]["error"] == "no such file"
    text = subprocess.run([sys.executable, "-m", "core.cli", "info", str(missing)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert (text.returncode, text.stdout, text.stderr) == (1, f"{missing}: no such file\n", "")
