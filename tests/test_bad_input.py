"""Bad input never crashes and is never lost: each bad file is recorded with its reason, and the
good files beside it are indexed. Each kind of trouble is one case."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import draw_photo, make_photo
from PIL import Image

from core.library import Library
from core.types import Query


def png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(
        b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def jpeg_bytes(**kw) -> bytes:
    buf = io.BytesIO()
    draw_photo("red", "circle", (320, 240), seed=1).save(buf, "JPEG", **kw)
    return buf.getvalue()


def png_bytes(image: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", **kw)
    return buf.getvalue()


def write(folder, name, data: bytes):
    path = os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else name.encode())
    with open(path, "wb") as f:
        f.write(data)
    return os.fsdecode(path)


def animated(fmt: str) -> bytes:
    frames = [draw_photo(c, "square", (160, 120), seed=i) for i, c in enumerate(["red", "blue"])]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


# name → (file bytes, expected outcome: "ok" indexed, or a fragment of the recorded reason)
BAD = {
    "zero.jpg": (b"", "not a readable image"),
    "truncated.jpg": (jpeg_bytes()[:1500], "truncated"),
    "truncated.png": (png_bytes(Image.fromarray(np.random.default_rng(0).integers(
        0, 255, (240, 320, 3), dtype=np.uint8)))[:20000], "truncated"),
    "text.jpg": (b"hello, I am not a photo\n" * 20, "not a readable image"),
    "bomb.png": (png_with_declared_size(60000, 60000), "too large"),
    "jpeg-named.png": (jpeg_bytes(), "ok"),
    "gray16.png": (png_bytes(Image.fromarray(
        (np.linspace(0, 65535, 240 * 320).reshape(240, 320)).astype(np.uint16))), "ok"),
    "cmyk.jpg": (None, "ok"),
    "palette.png": (png_bytes(draw_photo("green", "triangle", (320, 240)).convert("P")), "ok"),
    "la.png": (png_bytes(draw_photo("green", "circle", (320, 240)).convert("LA")), "ok"),
    "rgba.png": (png_bytes(draw_photo("yellow", "circle", (320, 240)).convert("RGBA")), "ok"),
    "animated.gif": (animated("GIF"), "ok"),
    "animated.webp": (animated("WEBP"), "ok"),
    "broken-exif.jpg": (None, "ok"),
    "tiny.png": (png_bytes(Image.new("RGB", (1, 1), (10, 20, 30))), "ok"),
    "strip.png": (png_bytes(Image.new("RGB", (12000, 8), (10, 20, 30))), "ok"),
    "bitmap.bmp": (None, "ok"),
    "multipage.tiff": (None, "ok"),
    "name\nwith newline.jpg": (jpeg_bytes(), "ok"),
    ("x" * 240 + ".jpg"): (jpeg_bytes(), "ok"),
}


@pytest.fixture(scope="module")
def bad_library(tmp_path_factory, random_model):
    folder = tmp_path_factory.mktemp("bad") / "Pictures"
    folder.mkdir()
    for name, (data, _) in BAD.items():
        if data is not None:
            write(folder, name, data)
    draw_photo("purple", "square", (320, 240)).convert("CMYK").save(folder / "cmyk.jpg")
    exif_junk = b"Exif\x00\x00" + b"\xff" * 64
    draw_photo("red", "stripe", (320, 240)).save(folder / "broken-exif.jpg", exif=exif_junk)
    draw_photo("blue", "circle", (320, 240)).save(folder / "bitmap.bmp")
    pages = [draw_photo(c, "circle", (160, 120)) for c in ("red", "green")]
    pages[0].save(folder / "multipage.tiff", save_all=True, append_images=pages[1:])
    write(folder, b"caf\xe9-latin1.jpg", jpeg_bytes())  # a name that is not UTF-8
    for i in range(3):
        make_photo(folder / f"good{i}.jpg", "orange", "triangle", seed=i)
    home = tmp_path_factory.mktemp("badhome")
    lib = Library(home, model=random_model)
    lib.add_folder(folder)
    report = lib.update()
    yield lib, folder, report
    lib.close()


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_kind_of_bad_file(bad_library, name):
    lib, folder, _ = bad_library
    expected = BAD[name][1]
    path = str(folder / name)
    errors = dict(lib.errors())
    indexed = {r.path for r in lib.search(Query.text("anything", k=1000))}
    if expected == "ok":
        assert path in indexed and path not in errors
    else:
        assert path not in indexed
        assert expected in errors[path], errors[path]


def test_bad_files_never_stop_the_good_ones(bad_library):
    lib, folder, report = bad_library
    indexed = {r.path for r in lib.search(Query.text("anything", k=1000))}
    assert {str(folder / f"good{i}.jpg") for i in range(3)} <= indexed
    assert os.fsdecode(os.path.join(os.fsencode(folder), b"caf\xe9-latin1.jpg")) in indexed
    assert report.failed == sum(1 for _, outcome in BAD.values() if outcome != "ok")


def test_errors_are_listed_by_status(bad_library, tmp_path):
    import json

    from helpers import run_cli

    lib, folder, _ = bad_library
    out = json.loads(run_cli("status", "--json", "--errors", home=lib.home).stdout)
    reasons = {e["path"]: e["reason"] for e in out["errors"]}
    assert "too large" in reasons[str(folder / "bomb.png")]
    text = run_cli("status", "--errors", home=lib.home).stdout
    assert "zero.jpg" in text


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_rendered_upright(tmp_path, random_model, orientation):
    """A picture that is red on top when upright, stored rotated with each EXIF orientation."""
    upright = Image.new("RGB", (300, 200), (0, 0, 255))
    upright.paste((255, 0, 0), (0, 0, 300, 100))
    ops = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_270}
    stored = upright.transpose(ops[orientation]) if ops[orientation] else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    folder = tmp_path / "Pictures"
    folder.mkdir()
    stored.save(folder / "o.jpg", exif=exif.tobytes(), quality=95)
    upright.save(tmp_path / "upright.png")
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        (hit,) = lib.search(Query.text("x", k=1))
        thumb = np.asarray(Image.open(lib.thumbnail(hit.media_id)).convert("RGB"), dtype=int)
        h = thumb.shape[0]
        assert thumb[h // 4].mean(axis=0)[0] > 200 and thumb[3 * h // 4].mean(axis=0)[2] > 200
        assert (hit.width, hit.height) == (300, 200)
        # the stored vector is the upright picture's
        again = lib.search(Query.image(tmp_path / "upright.png", k=1))[0]
        assert again.score > 0.99


def test_file_vanishing_between_scan_and_decode(tmp_path, random_model, monkeypatch):
    from core.folders import pipeline

    folder = tmp_path / "Pictures"
    for i in range(4):
        make_photo(folder / f"p{i}.jpg", "red", seed=i)
    real = pipeline.open_image

    def vanish_first(path, *args, **kwargs):
        if path.endswith("p0.jpg"):
            os.unlink(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pipeline, "open_image", vanish_first)
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        report = lib.update()
        assert report.embedded == 3 and report.failed == 1
        assert "vanished" in dict(lib.errors())[str(folder / "p0.jpg")]
        lib.update()  # the next sweep forgets it
        assert lib.catalog.media_count() == 3 and lib.errors() == []


def test_permission_denied_file_and_folder(tmp_path, random_model, monkeypatch):
    """The same as chmod 000, but also true when the tests run as root (who may read anything)."""
    from core.folders import scanner
    from core.media import imaging

    folder = tmp_path / "Pictures"
    make_photo(folder / "ok.jpg", "red")
    locked = make_photo(folder / "locked.jpg", "blue")
    make_photo(folder / "private" / "hidden.jpg", "green")
    real_open, real_scandir = imaging.Image.open, scanner.os.scandir

    def deny_open(path, *a, **k):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *a, **k)

    def deny_scandir(path):
        if str(path).endswith("private"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(imaging.Image, "open", deny_open)
    monkeypatch.setattr(scanner.os, "scandir", deny_scandir)
    with Library(tmp_path / "home", model=random_model) as lib:
        notices = []
        lib.subscribe(notices.append)
        lib.add_folder(folder)
        report = lib.update()
        assert report.embedded == 1
        assert "permission denied" in dict(lib.errors())[str(locked)]
        assert any("private" in getattr(n, "text", "") and "unreadable" in n.text
                   for n in notices if hasattr(n, "text"))


UNREADABLE_SCENARIO = """
import json, sys
from core.library import Library
from helpers import make_photo
from pathlib import Path
work, model = Path(sys.argv[1]), sys.argv[2]
folder = work / "Pictures"
make_photo(folder / "ok.jpg", "red")
locked = make_photo(folder / "locked.jpg", "blue")
make_photo(folder / "private" / "hidden.jpg", "green")
locked.chmod(0)
(folder / "private").chmod(0)
try:
    with Library(work / "home", model=model) as lib:
        notices = []
        lib.subscribe(lambda e: hasattr(e, "text") and notices.append(e.text))
        lib.add_folder(folder)
        report = lib.update()
        print(json.dumps({"embedded": report.embedded, "errors": dict(lib.errors()),
                          "locked": str(locked), "notices": notices}))
finally:
    (folder / "private").chmod(0o755)
    locked.chmod(0o644)
"""


def test_unreadable_file_and_folder(tmp_path, random_model):
    """chmod 000 for real. Root reads anything, and CI runs as root: there the scenario runs in
    a child process that stays root but without the capabilities that override file
    permissions (setpriv drops them from its bounding set), so it still reaches the checkout and
    its interpreter wherever they are (a clone inside a private 0700 folder included)."""
    import json
    import shutil
    import subprocess
    import sys

    from helpers import ROOT, without_override_capabilities

    prefix = without_override_capabilities()
    work = tmp_path / "work"
    work.mkdir()
    model_dir = work / "model"
    shutil.copytree(random_model.removeprefix("local-dir:"), model_dir)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}",
           "HOME": str(work), "XDG_CONFIG_HOME": str(work / "config"),
           "XDG_CACHE_HOME": str(work / "cache"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [*prefix, sys.executable, "-c", UNREADABLE_SCENARIO, str(work), f"local-dir:{model_dir}"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["embedded"] == 1, out
    # a file the scan cannot even read to hash is said (and tried again on the next scan)
    assert any(out["locked"] in n and "permission denied" in n for n in out["notices"]), out
    assert any("private" in n and "unreadable" in n for n in out["notices"]), out


def test_symlink_loops_and_linked_folders_are_indexed_once(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    make_photo(folder / "a" / "one.jpg", "red")
    os.symlink(folder, folder / "a" / "loop")  # a loop back to the top
    other = tmp_path / "Elsewhere"
    make_photo(other / "two.jpg", "blue")
    os.symlink(other, folder / "linked")
    os.symlink(other, folder / "linked-again")
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        report = lib.update()
        assert report.embedded == 2 and lib.catalog.media_count() == 2


def test_same_folder_twice_and_nested_folder_are_one_folder(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    make_photo(folder / "trip" / "one.jpg", "red")
    with Library(tmp_path / "home", model=random_model) as lib:
        first = lib.add_folder(folder)
        assert lib.add_folder(str(folder) + "/") == first
        assert lib.add_folder(folder / "trip") == first
        assert len(lib.folders()) == 1
        lib.update()
        assert lib.catalog.media_count() == 1


def test_adding_a_parent_folder_absorbs_the_watched_child(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    make_photo(folder / "trip" / "one.jpg", "red")
    make_photo(folder / "two.jpg", "blue")
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder / "trip")
        lib.update()
        (before,) = lib.catalog.vector_ids(lib.embedder.model_id).tolist()
        lib.add_folder(folder)
        assert [f.path for f in lib.folders()] == [str(folder)]
        report = lib.update()
        assert report.scan.new == 1 and report.embedded == 1  # only two.jpg is new
        assert before in lib.catalog.vector_ids(lib.embedder.model_id).tolist()
        assert lib.catalog.media_count() == 2


def test_unmounted_folder_keeps_its_photos(tmp_path, random_model):
    folder = tmp_path / "Disk"
    make_photo(folder / "one.jpg", "red")
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        folder.rename(tmp_path / "unplugged")
        notices = []
        lib.subscribe(notices.append)
        lib.update()
        assert lib.catalog.media_count() == 1  # not forgotten while the disk is away
        assert any(f"{folder} is away (on Disk, " in getattr(n, "text", "") for n in notices)


def test_nothing_is_written_into_photo_folders_even_with_bad_files(bad_library):
    lib, folder, _ = bad_library
    before = sorted((p, os.stat(p).st_mtime_ns) for p in map(str, folder.rglob("*")))
    lib.update()
    lib.search(Query.text("red", k=5))
    after = sorted((p, os.stat(p).st_mtime_ns) for p in map(str, folder.rglob("*")))
    assert before == after


def _same_ends_bmp(path, middle: tuple[int, int, int]) -> None:
    """A 400x400 BMP (480 KB, no compression) whose first and last 64 KiB are the same for
    every `middle`: only the rows in between take its colour."""
    im = Image.new("RGB", (400, 400), (200, 200, 200))
    im.paste(middle, (0, 120, 400, 280))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, "BMP")


def test_same_size_head_and_tail_is_not_a_copy_unless_the_whole_file_is(tmp_path, random_model):
    from core.media.imaging import content_hash, open_image
    from core.media.thumbnails import decode_size

    folder = tmp_path / "Pictures"
    _same_ends_bmp(folder / "a.bmp", (220, 30, 30))
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        _same_ends_bmp(folder / "b.bmp", (30, 60, 220))
        (folder / "a-copy.bmp").write_bytes((folder / "a.bmp").read_bytes())
        a, b = folder / "a.bmp", folder / "b.bmp"
        assert a.stat().st_size == b.stat().st_size and a.read_bytes() != b.read_bytes()
        assert content_hash(a) == content_hash(b)  # what the scan sees first
        report = lib.update()
        assert report.scan.copied == 1  # a-copy.bmp: its vector reused, no decode
        emb = lib.embedder
        ids = {os.path.basename(p): i for p, i in lib.catalog.db.execute(
            "SELECT path, id FROM media")}
        labels, vecs, _ = lib.catalog.vectors(emb.model_id)
        vec = dict(zip(labels.tolist(), vecs, strict=True))
        for name in ("a.bmp", "b.bmp"):
            own = emb.encode_images([open_image(folder / name, decode_size(emb.image_size)).image])
            assert np.allclose(vec[ids[name]], own[0], atol=1e-5), f"{name}: not its own pixels"
        assert np.allclose(vec[ids["a-copy.bmp"]], vec[ids["a.bmp"]])
        assert not np.allclose(vec[ids["b.bmp"]], vec[ids["a.bmp"]], atol=1e-3)


def test_a_file_gone_and_another_with_the_same_ends_is_not_a_rename(tmp_path, random_model):
    """a.bmp is deleted and b.bmp, edited in the middle (same size, head and tail), appears in
    the same sweep: b must be decoded, not take a.bmp's vector as if it had been moved there.
    A real move keeps the file's modification time (to a card's 2 s); an edit does not."""
    import shutil

    from core.media.imaging import content_hash, open_image
    from core.media.thumbnails import decode_size

    folder = tmp_path / "Pictures"
    _same_ends_bmp(folder / "a.bmp", (220, 30, 30))
    _same_ends_bmp(folder / "moved" / "c.bmp", (30, 200, 30))
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        a, b = folder / "a.bmp", folder / "b.bmp"
        _same_ends_bmp(b, (30, 60, 220))
        os.utime(b, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns + 5_000_000_000))
        assert content_hash(a) == content_hash(b)
        a.unlink()
        # a real move, onto a card that keeps times to 2 s (FAT, exFAT): a second off
        c = folder / "c.bmp"
        shutil.move(folder / "moved" / "c.bmp", c)
        os.utime(c, ns=(c.stat().st_atime_ns, c.stat().st_mtime_ns - 1_000_000_000))
        report = lib.update()
        assert (report.scan.renamed, report.embedded) == (1, 1)
        emb = lib.embedder
        ids = {os.path.basename(p): i for p, i in lib.catalog.db.execute(
            "SELECT path, id FROM media")}
        labels, vecs, _ = lib.catalog.vectors(emb.model_id)
        vec = dict(zip(labels.tolist(), vecs, strict=True))
        own = emb.encode_images([open_image(b, decode_size(emb.image_size)).image])
        assert np.allclose(vec[ids["b.bmp"]], own[0], atol=1e-5), "b.bmp got a.bmp's vector"


def test_non_utf8_names_end_to_end_scan_move_filter_and_cli_output(tmp_path, random_model):
    """Latin-1 names (not UTF-8) from an old camera card: indexed, followed when moved (the
    same vector, no new decode), found under their folder, and printed by `snapseek search`."""
    import subprocess
    import sys

    from helpers import ROOT

    folder = tmp_path / "Pictures"
    raw = os.fsencode(folder)
    old_dir, new_dir = raw + b"/d\xe9j\xe0", raw + b"/\xe9t\xe9"
    os.makedirs(old_dir)
    make_photo(Path(os.fsdecode(old_dir + b"/caf\xe9.jpg")), "red")
    make_photo(folder / "plain.jpg", "blue", seed=1)
    home = tmp_path / "home"
    with Library(home, model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        (media_id,) = [i for p, i in lib.catalog.db.execute("SELECT path, id FROM media")
                       if isinstance(p, bytes)]
    os.rename(old_dir, new_dir)
    moved = os.fsdecode(new_dir + b"/caf\xe9.jpg")
    with Library(home, model=random_model) as lib:
        report = lib.update()
        assert (report.scan.renamed, report.embedded) == (1, 0)
        query = Query.text("red", k=10)
        query.folder = os.fsdecode(new_dir)
        assert [(r.media_id, r.path) for r in lib.search(query)] == [(media_id, moved)]
    # the path's own bytes on stdout, as ls prints them: a script can open what it reads
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "--home", str(home), "--model", random_model,
         "search", "red", "-k", "5", "--folder", os.fsdecode(new_dir)],
        capture_output=True, cwd=ROOT, timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out.stderr.decode("latin-1")
    assert new_dir + b"/caf\xe9.jpg" in out.stdout, out.stdout
