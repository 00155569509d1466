"""The face pass (second pass) on 12 MP JPEGs, against a naive loop, and memory with the face
models loaded. Usage: SNAPSEEK_NO_TEXT=1 python benchmarks/faces.py [N_PHOTOS] (default 24);
without SNAPSEEK_NO_TEXT the pass reads text in the photos too (core/text/ocr.py)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def rss_mb() -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def make_photos(folder: Path, n: int) -> None:
    """12 MP (4000x3000) JPEGs: two thirds with one face (a real one, 290-450 px wide), one third
    without; a noisy background so the JPEGs weigh what camera JPEGs weigh (~3-5 MB)."""
    from test_faces import astronaut, grace_hopper

    folder.mkdir(parents=True)
    faces = [grace_hopper().resize((1200, 1400)), astronaut().resize((1600, 1600))]
    rnd = np.random.default_rng(0)
    for i in range(n):
        base = rnd.integers(0, 256, (300, 400, 3), dtype=np.uint8)
        im = Image.fromarray(base).resize((4000, 3000), Image.Resampling.BICUBIC)
        noise = rnd.integers(-12, 12, (3000, 4000, 3), dtype=np.int16)
        im = Image.fromarray(np.clip(np.asarray(im, np.int16) + noise, 0, 255).astype(np.uint8))
        if i % 3:
            face = faces[i % 2]
            im.paste(face, (200 + 250 * (i % 7), 100 + 150 * (i % 5)))
        im.save(folder / f"IMG_{i:04d}.jpg", quality=92)


def naive(folder: Path, resize: bool) -> float:
    """Full decode of each photo, then detect and embed (at full size, or at 1280 px)."""
    from core.people.faces import FaceModels, find_faces

    FaceModels.get()
    paths = sorted(folder.glob("*.jpg"))
    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if resize:
                im = im.resize((1280, 960), Image.Resampling.BILINEAR)
            find_faces(np.asarray(im), crops=False)
    return len(paths) / (time.perf_counter() - started)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    work = Path(tempfile.mkdtemp(prefix="snapseek-faces-bench-"))
    try:
        from helpers import make_random_model

        folder = work / "Pictures"
        make_photos(folder, n)
        size_mb = sum(p.stat().st_size for p in folder.glob("*.jpg")) / n / 2**20
        from core.library import Library

        before = rss_mb()[0]
        lib = Library(work / "home", model=make_random_model(work / "model"))
        lib.add_folder(folder)
        t = time.perf_counter()
        lib.update()
        first_pass = n / (time.perf_counter() - t)
        app_before_faces = rss_mb()[0]
        from core.people.faces import FaceModels

        FaceModels.get()
        app_with_models = rss_mb()[0]
        t = time.perf_counter()
        done, failed, _ = lib.enrich()
        face_pass = done / (time.perf_counter() - t)
        after = rss_mb()
        people = [p.photos for p in lib.people()]
        lib.close()
        naive_full = naive(folder, resize=False)
        naive_small = naive(folder, resize=True)
        print(json.dumps({
            "photos": n, "jpeg_mb": round(size_mb, 2), "cpus": os.cpu_count(),
            "first_pass_photos_per_s (test model)": round(first_pass, 2),
            "face_pass_photos_per_s": round(face_pass, 2),
            "naive_full_decode_full_size_detect_photos_per_s": round(naive_full, 2),
            "naive_full_decode_1280_detect_photos_per_s": round(naive_small, 2),
            "speedup_vs_naive_full_size": round(face_pass / naive_full, 2),
            "speedup_vs_naive_1280": round(face_pass / naive_small, 2),
            "rss_mb_python_and_core": round(before), "rss_mb_library_indexed": round(app_before_faces),
            "rss_mb_with_face_models": round(app_with_models),
            "rss_mb_after_face_pass": round(after[0]), "peak_rss_mb": round(after[1]),
            "people": people, "failed": failed,
        }, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
