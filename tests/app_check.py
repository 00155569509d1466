"""`make app-check`: the frozen slim bundle, run as a user runs it, on a library with a tiny model
whose towers were exported by this checkout (the bundle has no torch to export them itself).
The command line searches; the app starts offscreen on the library and keeps running.

    python app_check.py DIST_FOLDER"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import ROOT, draw_photo, make_photo, make_random_model, make_video
from PIL import Image

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]


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
    with tempfile.TemporaryDirectory(prefix="snapseek-app-check-") as tmp:
        tmp = Path(tmp)
        model = make_random_model(tmp / "model")
        for i in range(12):
            make_photo(tmp / "Pictures" / f"p{i:02d}.jpg", COLOURS[i % 6], seed=i)
        env = {**os.environ, "HOME": str(tmp / "user"), "XDG_CACHE_HOME": str(tmp / "cache"),
               "XDG_CONFIG_HOME": str(tmp / "config"), "HF_HUB_OFFLINE": "1",
               "PYTHONPATH": str(ROOT)}
        home = tmp / "home"
        # this checkout (with torch) indexes and exports both towers into the home
        subprocess.run([sys.executable, "-m", "core.cli", "--home", str(home), "--model", model,
                        "index", "--no-faces", str(tmp / "Pictures")], env=env, check=True)
        env.pop("PYTHONPATH")
        started = time.monotonic()
        found = subprocess.run([str(cli), "--home", str(home), "search", "a red circle",
                                "--json", "-k", "5"], env=env, capture_output=True, text=True,
                               timeout=300)
        assert found.returncode == 0, found.stderr
        results = json.loads(found.stdout)
        assert len(results) == 5, results
        print(f"frozen search: {len(results)} results in {time.monotonic() - started:.1f} s")
        second_pass(cli, home, tmp / "More", env)
        window = subprocess.Popen([str(app), "--home", str(home)],
                                  env={**env, "QT_QPA_PLATFORM": "offscreen"},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            time.sleep(15)  # a smoke check of a separate program: it must still be running
            assert window.poll() is None, window.stdout.read().decode()[-3000:]
            print("frozen app: started offscreen on the library and kept running")
        finally:
            window.terminate()
            window.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
