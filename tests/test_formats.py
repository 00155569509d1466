"""Phone and camera formats, photo dates, filters and near-duplicates (CLI and core)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import struct
import sys

import numpy as np
import pytest
from helpers import build_png, draw_photo, make_photo, make_video, png_chunks, run_cli, write_video
from PIL import Image

from core.library import Library
from core.media.imaging import ImageError, is_media, is_video, open_image
from core.media.pixels import to_rgb
from core.types import Query


def index_folder(lib: Library, folder) -> tuple[dict, dict]:
    """Index `folder`; returns ({path: kind} of what was indexed, {path: reason} of errors)."""
    lib.add_folder(folder)
    lib.update()
    hits = lib.search(Query.text("anything", k=1000))
    return {r.path: r.kind for r in hits}, dict(lib.errors())


def gradient(mode: str, size=(1024, 256)) -> Image.Image:
    """A left-to-right ramp from black to full scale in a high-bit-depth mode."""
    w, h = size
    ramp = np.tile(np.linspace(0.0, 1.0, w), (h, 1))
    if mode == "F":
        return Image.frombytes("F", size, ramp.astype("<f4").tobytes())
    if mode == "I":
        return Image.frombytes("I", size, (ramp * 65535).astype("<i4").tobytes())
    dtype = ">u2" if mode == "I;16B" else "<u2"
    return Image.frombytes(mode, size, (ramp * 65535).astype(dtype).tobytes())


@pytest.fixture
def formats_dir(tmp_path):
    from pillow_heif import register_heif_opener

    register_heif_opener()
    folder = tmp_path / "Phone"
    folder.mkdir()
    draw_photo("red", "circle", (400, 300), seed=1).save(folder / "IMG_0001.heic", quality=90)
    draw_photo("blue", "square", (400, 300), seed=2).save(folder / "IMG_0002.avif", quality=90)
    make_photo(folder / "DSC_0003.jpg", "green", "triangle", seed=3)
    (folder / "DSC_0003.NEF").write_bytes(b"raw sensor data" * 100)  # developed as the JPEG
    (folder / "DSC_0004.dng").write_bytes(b"not really raw" * 100)
    draw_photo("yellow", "stripe", (400, 300), seed=4).save(folder / "scan.png")  # no EXIF
    return folder


def test_heic_avif_and_raw_pairs(formats_dir, tmp_path, random_model):
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(formats_dir)
        report = lib.update()
        paths = {r.path for r in lib.search(Query.text("x", k=50))}
        names = {p.rsplit("/", 1)[1] for p in paths}
        assert names == {"IMG_0001.heic", "IMG_0002.avif", "DSC_0003.jpg", "scan.png"}
        assert report.scan.found == 5  # the NEF beside its JPEG is one photo, not two
        assert "not a readable RAW" in dict(lib.errors())[str(formats_dir / "DSC_0004.dng")]
        draw_photo("red", "circle", (400, 300), seed=1).save(tmp_path / "q.png")
        assert lib.search(Query.image(tmp_path / "q.png", k=1))[0].path.endswith(".heic")


def test_exif_date_with_offset_and_subseconds_and_mtime_fallback(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    folder.mkdir()
    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2019:08:03 17:45:10"
    sub[0x9011] = "+02:00"
    sub[0x9291] = "25"
    draw_photo("red", "circle", (320, 240)).save(folder / "lisbon.jpg", exif=exif.tobytes())
    draw_photo("blue", "circle", (320, 240)).save(folder / "undated.png")
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        rows = dict(lib.catalog.db.execute(
            "SELECT path, taken_at || '|' || taken_source FROM media").fetchall())
    want = dt.datetime(2019, 8, 3, 17, 45, 10, 250000,
                       tzinfo=dt.timezone(dt.timedelta(hours=2))).timestamp()
    taken, source = rows[str(folder / "lisbon.jpg")].split("|")
    assert abs(float(taken) - want) < 1e-3 and source == "exif:DateTimeOriginal"
    taken, source = rows[str(folder / "undated.png")].split("|")
    assert source == "file" and abs(float(taken) - (folder / "undated.png").stat().st_mtime) < 1


def test_filters_and_date_sort_through_the_cli(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    for year, colour in [(2018, "red"), (2019, "red"), (2020, "red"), (2021, "blue")]:
        make_photo(folder / f"{year}.jpg", colour, exif_date=f"{year}:06:01 12:00:00", seed=year)
    home = tmp_path / "home"
    run_cli("index", str(folder), home=home, model=random_model)

    def names(*args):
        out = json.loads(run_cli("search", "red", "--json", "--all", *args, home=home).stdout)
        return [r["path"].rsplit("/", 1)[1] for r in out]

    assert set(names("--after", "2019", "--before", "2021")) == {"2019.jpg", "2020.jpg"}
    assert names("--after", "2019", "--before", "2021", "-k", "1") in (["2019.jpg"], ["2020.jpg"])
    assert names("--sort", "date") == ["2021.jpg", "2020.jpg", "2019.jpg", "2018.jpg"]
    # the exact model, or a prefix when asked for with *
    assert len(names("--camera", "synthetic 1")) == 4 == len(names("--camera", "synth*"))
    assert names("--camera", "synthetic") == [] and names("--camera", "leica") == []
    assert len(names("--kind", "photo")) == 4 and names("--kind", "raw") == []
    bad = run_cli("search", "red", "--after", "last summer", home=home, check=False)
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_duplicates_groups_near_identical_photos_and_deletes_nothing(tmp_path, trained_model,
                                                                    trained_home):
    folder = tmp_path / "Pictures"
    original = make_photo(folder / "beach.jpg", "blue", "stripe", size=(800, 600), seed=1)
    with Image.open(original) as im:
        im.resize((400, 300)).save(folder / "beach-small.jpg", quality=70)
    make_photo(folder / "other.jpg", "red", "circle", seed=2)
    make_photo(folder / "third.jpg", "yellow", "triangle", seed=3)
    home = trained_home
    run_cli("index", str(folder), home=home, model=trained_model)
    groups = json.loads(run_cli("duplicates", "--json", "--threshold", "0.98", home=home).stdout)
    assert len(groups) == 1
    assert {r["path"].rsplit("/", 1)[1] for r in groups[0]} == {"beach.jpg", "beach-small.jpg"}
    assert len(list(folder.iterdir())) == 4


def test_words_in_file_and_folder_names_lift_results(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    for i in range(6):
        make_photo(folder / "misc" / f"IMG_{i:03d}.jpg", "red", "circle", seed=i)
    make_photo(folder / "Lisbon 2019" / "tram.jpg", "blue", "square", seed=50)
    make_photo(folder / "Lisbon 2019" / "IMG_120.jpg", "green", "stripe", seed=51)
    make_photo(folder / "Porto" / "summer party.jpg", "yellow", "circle", seed=52)
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()

        def names(text, k=3):
            return [r.path.split("/Pictures/")[1] for r in lib.search(Query.text(text, k=k))]

        assert set(names("Lisbon 2019", k=2)) == {"Lisbon 2019/tram.jpg", "Lisbon 2019/IMG_120.jpg"}
        assert names("tram in lisbon", k=1) == ["Lisbon 2019/tram.jpg"]
        assert names('"summer party"', k=5) == ["Porto/summer party.jpg"]
        assert names("name:img_12", k=5) == ["Lisbon 2019/IMG_120.jpg"]
        assert sorted(names("red path:misc", k=10)) == [f"misc/IMG_{i:03d}.jpg" for i in range(6)]


# -- decoding: every mode, no traceback, no partial decode, every extension, missing decoders --

def test_high_bit_depth_greyscale_and_every_mode_index(tmp_path, library):
    folder = tmp_path / "Scans"
    folder.mkdir()
    for mode in ("I;16B", "I;16", "I", "F"):
        gradient(mode).save(folder / f"ramp-{mode.replace(';', '')}.tif")
    with Image.open(folder / "ramp-I16B.tif") as im:
        assert im.mode == "I;16B"  # the file really is big-endian 16-bit
    photo = draw_photo("green", "circle", (256, 192))
    photo.convert("1").save(folder / "bilevel.tif")
    photo.convert("CMYK").save(folder / "cmyk.tif")
    photo.convert("LA").save(folder / "grey-alpha.png")
    photo.convert("LAB").save(folder / "lab.tif")
    photo.convert("P").save(folder / "palette-transparent.png", transparency=0)
    photo.convert("P").save(folder / "palette.gif", transparency=3)
    indexed, errors = index_folder(library, folder)
    assert errors == {}
    assert len(indexed) == 10
    for mode in ("I;16B", "I;16", "I", "F"):
        pixels = np.asarray(open_image(folder / f"ramp-{mode.replace(';', '')}.tif", 32).image,
                            np.float32)
        left, right = pixels[:, :8].mean(), pixels[:, -8:].mean()
        assert left < 20 and right > 235, (mode, left, right)  # a ramp, not black or white
        assert 100 < pixels.mean() < 155, mode


@pytest.mark.parametrize("mode", ["1", "L", "LA", "La", "P", "PA", "RGBA", "RGBa", "RGBX", "CMYK",
                                  "YCbCr", "LAB", "HSV", "I", "I;16", "I;16B", "I;16L", "I;16N",
                                  "F"])
def test_every_pillow_mode_converts_to_rgb(mode):
    out = to_rgb(Image.new(mode, (8, 6)))
    assert out.mode == "RGB" and out.size == (8, 6)


@pytest.mark.parametrize("exc", [TypeError("unhashable type: 'list'"), ValueError("bad"),
                                 struct.error("unpack requires a buffer of 4 bytes"),
                                 IndexError("tuple index out of range"), SyntaxError("not"),
                                 EOFError(), KeyError(0x0111), MemoryError(),
                                 ZeroDivisionError("division by zero"),
                                 RuntimeError("decoder failed"), AssertionError()])
def test_any_decoder_exception_is_one_clear_line(tmp_path, monkeypatch, exc):
    from PIL import ImageFile

    path = tmp_path / "odd.png"
    draw_photo("red", "circle", (64, 48)).save(path)

    def broken(self):
        raise exc

    monkeypatch.setattr(ImageFile.ImageFile, "load", broken)
    with pytest.raises(ImageError) as err:
        open_image(path, 32)
    reason = str(err.value)
    assert reason and "\n" not in reason and "Traceback" not in reason
    assert type(exc).__name__ in reason or "corrupt" in reason or "memory" in reason


def test_a_crafted_tiff_is_recorded_without_a_traceback(tmp_path, library, monkeypatch, caplog):
    from PIL import TiffImagePlugin

    folder = tmp_path / "Pictures"
    folder.mkdir()
    draw_photo("red", "circle", (64, 48)).save(folder / "crafted.tif")
    make_photo(folder / "good.jpg", "blue", "square")

    def n_frames(self):  # what Pillow does on some crafted TIFFs
        raise TypeError("'<' not supported between instances of 'NoneType' and 'int'")

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "n_frames", property(n_frames))
    with caplog.at_level(logging.DEBUG):
        indexed, errors = index_folder(library, folder)
    assert list(indexed) == [str(folder / "good.jpg")]
    reason = errors[str(folder / "crafted.tif")]
    assert "TypeError" in reason and "\n" not in reason
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize("where", ["open", "read"])
def test_any_video_decoder_exception_is_one_clear_line(tmp_path, monkeypatch, where):
    import av

    from core.media import video

    path = make_video(tmp_path / "clip.mp4", [("red", "circle", 1)])

    def broken(*args, **kwargs):
        raise TypeError("'NoneType' object is not subscriptable")

    monkeypatch.setattr(*((av, "open", broken) if where == "open" else
                          (video, "_metadata", broken)))
    with pytest.raises(ImageError) as err:
        video.open_video(path, 64)
    assert "TypeError" in str(err.value) and "\n" not in str(err.value)


def test_a_typescript_file_is_not_a_video(tmp_path):
    from core.media.video import open_video

    path = tmp_path / "app.ts"
    path.write_text("export const answer: number = 42;\n" * 20)
    with pytest.raises(ImageError, match="not a video .*TypeScript"):
        open_video(path, 64)


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(**kw) -> bytes:
    buf = io.BytesIO()
    draw_photo("red", "circle", (640, 480), seed=1).save(buf, "JPEG", **kw)
    return buf.getvalue()


def test_broken_pngs_are_errors_not_partial_pictures(tmp_path, library):
    folder = tmp_path / "Pictures"
    folder.mkdir()
    chunks = png_chunks(png_bytes(draw_photo("red", "circle", (320, 240), seed=1)))
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]

    def cut(payload):  # bytes cut out of the middle of the compressed data, CRC still right
        return payload[:len(payload) // 3] + payload[len(payload) // 2:]

    (folder / "broken_data_stream.png").write_bytes(
        build_png([(k, cut(p) if k == b"IDAT" else p) for k, p in chunks]))
    (folder / "short_data_stream.png").write_bytes(
        build_png([(k, p[:len(p) // 2] if k == b"IDAT" else p) for k, p in chunks]))
    # after the pixels, a chunk that claims more bytes than the file has
    (folder / "truncated_end_chunk.png").write_bytes(
        build_png([c for c in chunks if c[0] != b"IEND"])
        + struct.pack(">I", 100) + b"tEXt" + b"Comment\x00abc")
    make_photo(folder / "good.png", "blue", "square")
    indexed, errors = index_folder(library, folder)
    assert list(indexed) == [str(folder / "good.png")]
    for name in ("broken_data_stream.png", "short_data_stream.png", "truncated_end_chunk.png"):
        assert str(folder / name) in errors, name
        assert "\n" not in errors[str(folder / name)]


def test_a_jpeg_cut_short_at_the_end_is_indexed_with_a_note(tmp_path, library, caplog):
    folder = tmp_path / "Pictures"
    folder.mkdir()
    data = jpeg_bytes()
    (folder / "no_end_marker.jpg").write_bytes(data[:-2])
    (folder / "tail_missing.jpg").write_bytes(data[:len(data) * 9 // 10])
    (folder / "mostly_missing.jpg").write_bytes(data[:len(data) // 5])
    for name in ("no_end_marker.jpg", "tail_missing.jpg"):
        decoded = open_image(folder / name, 64)
        assert "truncated" in decoded.meta["note"], name
        assert np.asarray(decoded.image)[:8].mean() > 150  # the top, decoded for real
    with pytest.raises(ImageError, match="truncated"):
        open_image(folder / "mostly_missing.jpg", 64)
    with caplog.at_level(logging.INFO):
        indexed, errors = index_folder(library, folder)
    assert set(indexed) == {str(folder / "no_end_marker.jpg"), str(folder / "tail_missing.jpg")}
    assert "truncated" in errors[str(folder / "mostly_missing.jpg")]
    assert any("tail_missing.jpg" in r.getMessage() and "truncated" in r.getMessage()
               for r in caplog.records)


NEW_EXTENSIONS = [".hif", ".mpo", ".ts", ".m2ts", ".mts", ".vob", ".mpg", ".mpeg", ".m4v",
                  ".wmv", ".flv", ".ogv", ".asf", ".divx", ".dv", ".m2v", ".f4v", ".3g2",
                  ".mxf"]


@pytest.mark.parametrize("ext", NEW_EXTENSIONS)
def test_extensions_the_libraries_read_are_media(ext):
    assert is_media(f"clip{ext}") and is_media(f"CLIP{ext.upper()}")
    assert is_video(f"clip{ext}") == (ext not in (".hif", ".mpo"))


def test_mpo_hif_and_other_video_containers_are_indexed(tmp_path, library):
    from pillow_heif import register_heif_opener

    register_heif_opener()
    folder = tmp_path / "Camera"
    folder.mkdir()
    left = draw_photo("red", "circle", (320, 240), seed=1)
    right = draw_photo("blue", "square", (320, 240), seed=2)
    left.save(folder / "DSCF0001.MPO", "MPO", save_all=True, append_images=[right])
    with Image.open(folder / "DSCF0001.MPO") as im:
        assert im.format == "MPO" and im.n_frames == 2
    draw_photo("green", "triangle", (320, 240)).save(folder / "C0001.HIF", "HEIF", quality=90)
    write_video(folder / "broadcast.ts", "mpegts", "mpeg2video")
    write_video(folder / "camcorder.m2ts", "mpegts", "h264")
    write_video(folder / "dvd.vob", "vob", "mpeg2video")
    write_video(folder / "old.flv", "flv", "flv")
    write_video(folder / "old.mpg", "mpeg", "mpeg1video", fps=25)
    write_video(folder / "windows.wmv", "asf", "wmv2")
    make_video(folder / "phone.m4v", [("yellow", "stripe", 2)])
    indexed, errors = index_folder(library, folder)
    assert errors == {}
    assert indexed == {
        str(folder / "DSCF0001.MPO"): "photo", str(folder / "C0001.HIF"): "photo",
        **{str(folder / n): "video" for n in ("broadcast.ts", "camcorder.m2ts", "dvd.vob",
                                              "old.flv", "old.mpg", "windows.wmv", "phone.m4v")}}
    first = np.asarray(open_image(folder / "DSCF0001.MPO", 64).image, np.float32)
    centre = first[24:40, 34:50]
    assert centre[..., 0].mean() > centre[..., 2].mean() + 50  # the first (red) picture


def test_missing_optional_decoders_say_what_is_needed(tmp_path, monkeypatch, library):
    from pillow_heif import register_heif_opener

    from core.media.video import open_video

    register_heif_opener()
    folder = tmp_path / "Phone"
    folder.mkdir()
    draw_photo("red", "circle", (320, 240)).save(folder / "IMG_0001.heic", quality=90)
    draw_photo("red", "circle", (320, 240)).save(folder / "IMG_0002.jpg", "HEIF")  # misnamed
    (folder / "DSC_0003.dng").write_bytes(b"II*\x00" + b"\x00" * 200)
    make_video(folder / "clip.mp4", [("red", "circle", 1)])
    # as on a machine without pillow-heif, rawpy and PyAV
    monkeypatch.setattr(Image, "ID", [i for i in Image.ID if i != "HEIF"])
    for name in ("pillow_heif", "rawpy", "av"):
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("IMG_0001.heic", "IMG_0002.jpg"):
        with pytest.raises(ImageError, match="needs pillow-heif"):
            open_image(folder / name, 64)
    with pytest.raises(ImageError, match="needs rawpy"):
        open_image(folder / "DSC_0003.dng", 64)
    with pytest.raises(ImageError, match="needs PyAV"):
        open_video(folder / "clip.mp4", 64)
    indexed, errors = index_folder(library, folder)
    assert indexed == {}
    assert "needs pillow-heif" in errors[str(folder / "IMG_0001.heic")]
    assert "needs rawpy" in errors[str(folder / "DSC_0003.dng")]
    assert "needs PyAV" in errors[str(folder / "clip.mp4")]
    assert not any("corrupt" in reason for reason in errors.values())


def test_big_heif_decodes_from_its_thumbnail(tmp_path, monkeypatch):
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = tmp_path / "big.heic"
    draw_photo("red", "circle", (1600, 1200)).save(path, quality=60, thumbnails=[320])
    with Image.open(path) as im:
        assert im.info["thumbnails"]  # a phone's HEIC carries one too
    sizes = []
    real = pillow_heif.HeifImage.data.fget

    def data(self):  # the decode that happens, and at which size
        sizes.append(self.size)
        return real(self)

    monkeypatch.setattr(pillow_heif.HeifImage, "data", property(data))
    decoded = open_image(path, 200)
    assert (decoded.width, decoded.height) == (1600, 1200)
    assert min(decoded.image.size) == 200
    assert (1600, 1200) not in sizes, sizes


def test_a_picture_too_big_to_decode_small_is_decoded_in_a_child(tmp_path, monkeypatch):
    """A HEIC without a thumbnail decodes only in full: above BIG_PIXELS that happens in a
    child process, and the picture that comes back is the one decoding here would give."""
    import pillow_heif

    from core.media import imaging

    pillow_heif.register_heif_opener()
    path = tmp_path / "no-thumb.heic"
    draw_photo("blue", "square", (1200, 900), seed=4).save(path, quality=80)
    with Image.open(path) as im:
        assert not im.info.get("thumbnails")
    here = open_image(path, 300)
    calls = []
    real = imaging._decode_in_child
    monkeypatch.setattr(imaging, "_decode_in_child",
                        lambda *a: calls.append(a) or real(*a))
    monkeypatch.setattr(imaging, "BIG_PIXELS", 1_000_000)
    apart = open_image(path, 300)
    assert len(calls) == 1
    assert (apart.width, apart.height, apart.meta) == (here.width, here.height, here.meta)
    assert np.array_equal(np.asarray(apart.image), np.asarray(here.image))
    monkeypatch.setattr(imaging, "BIG_PIXELS", 100_000)
    (tmp_path / "broken.heic").write_bytes(path.read_bytes()[:3000])
    with pytest.raises(ImageError):  # the child's error comes back as one line
        open_image(tmp_path / "broken.heic", 300)


# VmHWM, not ru_maxrss: that one is kept across exec, so a child of a big test process would
# report its parent's peak
PEAK = """
import sys
from core.media.imaging import open_image
open_image(sys.argv[1], 384)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(int(hwm.split()[1]) // 1024)
"""


def test_a_huge_picture_does_not_raise_the_apps_peak_memory(tmp_path):
    """A 64-megapixel TIFF (190 MB of pixels): the process that indexes never holds them."""
    import os
    import subprocess

    from helpers import ROOT

    path = tmp_path / "huge.tif"
    Image.new("RGB", (9_600, 6_700), (40, 90, 160)).save(path)  # uncompressed: quick to write

    def peak(big_pixels: int) -> int:
        env = {**os.environ, "SNAPSEEK_BIG_PIXELS": str(big_pixels), "PYTHONPATH": str(ROOT)}
        run = subprocess.run([sys.executable, "-c", PEAK, str(path)], capture_output=True,
                             text=True, env=env, cwd=ROOT, timeout=120)
        assert run.returncode == 0, run.stderr[-500:]
        return int(run.stdout.split()[-1])

    in_process, apart = peak(10**9), peak(40_000_000)
    assert in_process - apart > 150, (in_process, apart)  # MB: the pixels stayed in the child


def _kill_children_while(work, every: bool):
    """Run work() while killing the decoding child: the first one seen, or every one."""
    import multiprocessing
    import os
    import signal
    import threading

    done, killed = threading.Event(), []

    def killer():
        while not done.is_set():
            for child in multiprocessing.active_children():
                if child.pid not in killed:
                    killed.append(child.pid)
                    os.kill(child.pid, signal.SIGKILL)
                    if not every:
                        return
            done.wait(0.005)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        return work()
    finally:
        done.set()
        thread.join()


def test_a_decoder_that_dies_is_one_line_and_the_next_picture_decodes(tmp_path, monkeypatch):
    from core.media import imaging

    monkeypatch.setattr(imaging, "BIG_PIXELS", 1_000_000)
    path = tmp_path / "big.tif"
    Image.new("RGB", (6_000, 5_000), (200, 30, 30)).save(path)
    # killed once, as when another file crashed the child this one waited behind: tried again
    assert _kill_children_while(lambda: open_image(path, 300), every=False).image.size == (360, 300)
    # killed every time, as a file that crashes its decoder: one line
    with pytest.raises(ImageError, match="decoder crashed"):
        _kill_children_while(lambda: open_image(path, 300), every=True)
    assert open_image(path, 300).image.size == (360, 300)  # a new child for the next one


def test_a_picture_asked_as_another_thread_drops_the_child_is_tried_again(tmp_path, monkeypatch):
    """Thread A takes the pool just as thread B, whose picture crashed it, shuts it down: A's
    picture is decoded by the next child, not recorded as corrupt."""
    from core.media import imaging

    monkeypatch.setattr(imaging, "BIG_PIXELS", 1_000_000)
    path = tmp_path / "big.tif"
    Image.new("RGB", (2_000, 1_500), (20, 120, 60)).save(path)
    pool, _ = imaging._child._current()
    pool.shutdown()  # B's end of the child, just after A took it
    assert open_image(path, 300).image.size == (400, 300)
