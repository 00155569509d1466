"""Peak memory of decoding one huge photo: a HEIC without an embedded thumbnail.

`python -m benchmarks.bigphoto [PATH]` makes the photo once (13760 × 10320, 142 MP: the
largest picture x265 encodes as one HEVC image, Level 7.2; phones' 200 MP HEICs are grids of
tiles, which pillow-heif does not write; kept at PATH, default /tmp/snapseek-142mp.heic), then
in fresh processes decodes it as indexing does (`open_image(path, 448)`) and reports each
process's peak resident memory (VmHWM): decoded in the indexing process itself
(SNAPSEEK_BIG_PIXELS set above it) and as the library does it (in a child process, whose own
peak is reported too); then the peak of `snapseek index` adding it to a library of the default
architecture (random weights) whose towers an earlier run exported. Prints JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = (13_760, 10_320)

MEASURE = """
import json, resource, sys, time
from core.media.imaging import open_image
started = time.perf_counter()
got = open_image(sys.argv[1], 448)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
from core.media import imaging
imaging._child.stop(wait=True)  # reaped: its peak counts in RUSAGE_CHILDREN
print(json.dumps({"seconds": round(time.perf_counter() - started, 1),
                  "peak_mb": int(hwm.split()[1]) // 1024,
                  "child_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
                  "decoded": list(got.image.size), "full": [got.width, got.height]}))
"""


def make(path: Path) -> float:
    """A photo-like HEIC of SIZE (gradients and shapes: quick to encode), no thumbnail."""
    import numpy as np
    import pillow_heif
    from PIL import Image, ImageDraw

    started = time.perf_counter()
    w, h = SIZE
    x = np.linspace(0, 255, w, dtype=np.float32)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[..., 0] = x
    rgb[..., 1] = y
    rgb[..., 2] = (x + y) / 2
    image = Image.fromarray(rgb)
    del rgb
    draw = ImageDraw.Draw(image)
    for i in range(40):
        draw.ellipse((i * 400, i * 300, i * 400 + 1500, i * 300 + 1100), fill=(255 - i * 6, 40, i * 6))
    pillow_heif.register_heif_opener()
    image.save(path, quality=40)
    return time.perf_counter() - started


def measure(path: Path, big_pixels: int | None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if big_pixels is not None:
        env["SNAPSEEK_BIG_PIXELS"] = str(big_pixels)
    run = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=1800)
    if run.returncode:
        raise SystemExit(run.stderr.strip().splitlines()[-1])
    return json.loads(run.stdout.strip().splitlines()[-1])


def index_peak(photo: Path, work: Path) -> dict:
    """Peak RSS of `snapseek index` (the default architecture, random weights) adding the photo
    to a library whose model towers were exported by an earlier run: every run after the first."""
    import shutil

    from .data import photo_like_jpeg, random_weight_model

    name, tag = "ViT-B-32-SigLIP2-256", "webli"
    model = random_weight_model(name, tag, work / name)
    folder = work / "Pictures"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(work / "home", ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(4):
        photo_like_jpeg(folder / f"IMG_{i:04d}.jpg", seed=i)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SNAPSEEK_NO_FACES": "1", "SNAPSEEK_NO_TEXT": "1"}

    def index() -> tuple[int, str]:
        run = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "core.cli", "--home",
                              str(work / "home"), "--model", model, "index", "--json", str(folder)],
                             capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
        if run.returncode:
            raise SystemExit(run.stderr.strip().splitlines()[-1])
        peak = next(int(line.split()[-1]) for line in run.stderr.splitlines()
                    if "Maximum resident set size" in line)
        return peak // 1024, run.stdout.strip().splitlines()[-1]

    first, _ = index()  # the first run exports the towers (the model loaded whole)
    shutil.copy(photo, folder / photo.name)
    peak, report = index()
    return {"first_run_peak_mb": first, "adding_the_photo_peak_mb": peak,
            "report": json.loads(report)}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0] if argv else "/tmp/snapseek-142mp.heic")
    out = {"photo": str(path), "pixels": SIZE[0] * SIZE[1]}
    if not path.exists():
        out["made_in_s"] = round(make(path), 1)
    out["file_mb"] = round(path.stat().st_size / 2**20, 1)
    out["in_the_indexing_process"] = measure(path, 10**10)
    out["in_a_child_process"] = measure(path, None)
    out["snapseek_index"] = index_peak(path, Path("/tmp/snapseek-bigphoto"))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
