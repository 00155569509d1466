"""`make app-check`: the frozen slim bundle (no torch), run as a person meets it: an empty HOME, no
towers made beforehand, and a local server in the hub's layout reached through HF_ENDPOINT. The
frozen command line downloads the tests' trained ViT model (a family the builder covers), builds
its towers, indexes pictures and finds the right one first, as `hf-hub:` and as `local-dir:`;
then the frozen app, offscreen, does the same for a library of its own; then the second pass.

    python app_check.py DIST_FOLDER"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import ROOT, draw_photo, make_video
from PIL import Image

KINDS = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "stripe"),
         ("purple", "circle"), ("orange", "square")]


def pictures(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (c, s) in enumerate(KINDS):
        draw_photo(c, s, (240, 180), seed=300 + i).save(folder / f"{c}_{s}.jpg")
    return folder


def right_first(cli: Path, home: Path, env: dict) -> None:
    for c, s in KINDS[:4]:
        found = frozen(cli, home, env, "search", f"a {c} {s}", "--json", "-k", "3")
        assert found and found[0]["path"].endswith(f"{c}_{s}.jpg"), (c, s, found)


def frozen(cli: Path, home: Path, env: dict, *args: str, timeout: float = 300):
    done = subprocess.run([str(cli), "--home", str(home), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"snapseek {' '.join(args)}: {done.stderr[-3000:]}"
    return json.loads(done.stdout) if "--json" in args else done.stdout


def second_pass(cli: Path, home: Path, folder: Path, env: dict) -> None:
    """What the bundle's other libraries do, run frozen: faces (dlib in a spawned child), text
    (OpenCV, OpenVINO's ONNX reader), a video (FFmpeg), places' cities."""
    from test_ocr import sign
    from test_people import write_people

    truth = write_people(folder)
    sign(["INVOICE 4471"]).save(folder / "invoice.jpg")
    make_video(folder / "clip.mp4", [("red", "circle", 1.0), ("blue", "square", 1.0)])
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)  # Sydney
    gps[1], gps[2], gps[3], gps[4] = "S", (33.0, 51.0, 21.6), "E", (151.0, 12.0, 54.0)
    draw_photo("green", "square", (320, 240)).save(folder / "sydney.jpg", exif=exif.tobytes())
    started = time.monotonic()
    frozen(cli, home, env, "index", str(folder), timeout=1200)
    print(f"frozen index with faces and text: {len(truth) + 3} files in "
          f"{time.monotonic() - started:.0f} s")
    found = frozen(cli, home, env, "search", "invoice", "--json", "-k", "1")
    assert found and found[0]["path"].endswith("invoice.jpg"), found
    people = frozen(cli, home, env, "people", "--json")
    sorted_ = {truth[p] for person in people for p in person["paths"]}
    assert {"eileen", "grace"} <= sorted_ and "nobody" not in sorted_, people
    videos = frozen(cli, home, env, "search", "a red circle", "--kind", "video", "--json")
    assert [r["path"] for r in videos] == [str(folder / "clip.mp4")], videos
    sydney = frozen(cli, home, env, "search", "a photo", "--place", "Sydney", "--all", "--json")
    assert [r["path"] for r in sydney] == [str(folder / "sydney.jpg")], sydney
    print(f"frozen second pass: the sign read, Sydney placed, {len(people)} people, the video's moments")


def app_builds_and_indexes(app: Path, cli: Path, tmp: Path, env: dict) -> None:
    """The frozen app, offscreen, opens a library whose folder is not indexed and whose model
    it has never built: it downloads nothing more (the cache has the files), builds the towers,
    indexes, and the right picture comes first."""
    from core.library import Library

    home = tmp / "home-app"
    with Library(home, model="hf-hub:test/vit") as lib:  # a folder added, nothing indexed
        lib.add_folder(pictures(tmp / "AppPictures"))
    window = subprocess.Popen([str(app), "--home", str(home), "--model", "hf-hub:test/vit"],
                              env={**env, "QT_QPA_PLATFORM": "offscreen"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert window.poll() is None, window.stdout.read().decode()[-3000:]
            status = frozen(cli, home, env, "status", "--json")
            if status["indexed_count"] == len(KINDS):
                break
            time.sleep(2)
        assert status["indexed_count"] == len(KINDS), status
        assert list((home / "runtime").glob("text-*.json")), "the app built no towers"
        right_first(cli, home, env)
        print("frozen app: built the towers offscreen, indexed, and the right one comes first")
    finally:
        window.terminate()
        window.wait(30)


BUNDLE_MAX_MB = 700  # what a person downloads, its files' bytes (not the disk's blocks)


def main() -> int:
    dist = Path(sys.argv[1]).resolve()
    cli, app = dist / "snapseek", dist / "snapseek-desktop"
    # what the slim bundle leaves out: torch and its kin, SciPy (places need none), ONNX Runtime
    # (RapidOCR's networks run on OpenVINO), OpenCV's Qt and X libraries (its headless build)
    heavy = [p.name for p in (dist / "_internal").iterdir()
             if p.name.split(".")[0] in ("torch", "torchvision", "open_clip", "triton", "nvidia",
                                         "scipy", "onnxruntime", "opencv_python")]
    heavy += [p.name for p in (dist / "_internal").rglob("libQt5*")]
    assert not heavy, f"the slim bundle holds {heavy}"
    size = sum(p.stat().st_size for p in dist.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"bundle: {size / 1e6:.0f} MB in {dist}")
    assert size <= BUNDLE_MAX_MB * 1e6, f"the bundle holds {size / 1e6:.0f} MB of files, over " \
        f"{BUNDLE_MAX_MB} MB"
    sys.path.append(str(ROOT / "tests"))
    from localhub import Server, hub_model
    from vit_model import vit_model

    trained = Path(vit_model()[len("local-dir:"):])
    with tempfile.TemporaryDirectory(prefix="snapseek-app-check-") as tmp:
        tmp = Path(tmp)
        hub_model(tmp / "hub", "test/vit", trained)
        server = Server(tmp / "hub")
        env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "PYTHONPATH")}
        env.update(HOME=str(tmp / "user"), XDG_CACHE_HOME=str(tmp / "cache"),
                   XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
                   HF_ENDPOINT=server.url)
        try:
            folder = pictures(tmp / "Pictures")
            for spec, home in ((f"local-dir:{trained}", tmp / "home-local"),
                               ("hf-hub:test/vit", tmp / "home-hub")):
                started = time.monotonic()
                frozen(cli, home, env, "--model", spec, "index", "--no-faces", str(folder))
                assert list((home / "runtime").glob("text-*.json")), "no towers were built"
                right_first(cli, home, env)
                print(f"frozen command line, {spec.split(':')[0]}: downloaded where needed, "
                      f"built, indexed and found, {time.monotonic() - started:.0f} s")
            assert (tmp / "cache" / "snapseek" / "models" / "test--vit").is_dir()
            assert not (tmp / "user" / ".cache" / "huggingface").exists()
            app_builds_and_indexes(app, cli, tmp, env)
            second_pass(cli, tmp / "home-hub", tmp / "More", env)
        finally:
            server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
