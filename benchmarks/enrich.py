"""The second pass (faces and text together) on 12 MP JPEGs, beside the pass as it was (a naive
loop in the same run: decode once, faces here, RapidOCR's own detector call as the check, the
full read by RapidOCR on ONNX Runtime), with the recall of faces and text against that loop's
output, and the longest wait of a 5 ms ticker thread meanwhile (a window's event loop needs the
interpreter lock just so).

    .venv/bin/python -m benchmarks.enrich [--quick]    (also a section of `make bench`)

The photos: benchmarks/enrichset.py (real pictures from scikit-image and matplotlib, upscaled,
some with a face pasted in, some with a sign or a small label drawn on)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


class Ticker:
    """A thread that asks to run every 5 ms and keeps the longest wait between two runs."""

    def __init__(self):
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        last = time.perf_counter()
        while not self._stop.wait(0.005):
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def naive_pass(paths: list[Path]) -> tuple[dict, float, float]:
    """The pass as it was: one thread, each photo decoded once, faces with dlib in this
    process, then RapidOCR's detector call on a 640 px copy and the full read where it found
    boxes. Returns ({name: (faces, lines)}, seconds, longest ticker wait in s)."""
    from core.folders.enrich import DECODE_LONG_SIDE, scaled
    from core.media.imaging import open_image
    from core.people.faces import LONG_SIDE, FaceModels, find_faces
    from core.text.ocr import CHECK_SIDE, READ_SIDE, _scaled, lines_of
    from core.thirdparty import rapidocr

    FaceModels.get()
    engine = rapidocr(intra_op_num_threads=1, inter_op_num_threads=1, print_verbose=False)
    out = {}
    started = time.perf_counter()
    with Ticker() as ticker:
        for path in paths:
            decoded = open_image(str(path), min_side=LONG_SIDE * 3 // 4).image
            found, _ = find_faces(scaled(decoded, LONG_SIDE))
            picture = Image.fromarray(scaled(decoded, DECODE_LONG_SIDE))
            boxes, _ = engine(_scaled(picture, CHECK_SIDE), use_det=True, use_cls=False,
                              use_rec=False, det_limit_side_len=CHECK_SIDE, det_limit_type="max")
            lines = []
            if boxes:
                pixels = _scaled(picture, READ_SIDE)
                answer, _ = engine(pixels)
                lines = [line.text for line in lines_of(answer, pixels.shape[1], pixels.shape[0])]
            out[path.name] = ([f.box for f in found], lines)
    return out, time.perf_counter() - started, ticker.longest


def our_pass(work: Path, folder: Path, spec: str) -> tuple[dict, float, float]:
    """The app's pass (Library.enrich) after the first pass; the same returns as naive_pass."""
    from core.library import Library

    lib = Library(work / "home-enrich", model=spec)
    lib.faces_enabled = lib.text_enabled = True
    lib.add_folder(folder)
    lib.update()
    started = time.perf_counter()
    with Ticker() as ticker:
        done, failed, _ = lib.enrich()
    seconds = time.perf_counter() - started
    out = {}
    for path in sorted(folder.glob("*.jpg")):
        media_id = lib.media_id_of(str(path))
        out[path.name] = ([tuple(f["box"]) for f in lib.about(str(path))["faces"]],
                          lib.photo_text(media_id))
    lib.close()
    assert done == len(out) and not failed, (done, failed)
    return out, seconds, ticker.longest


def recall(theirs: dict, ours: dict, which: int, missed: list | None = None) -> tuple[int, int]:
    """(found by both, found by the naive loop): faces by photo and box (overlapping by half
    of their union), lines by photo and text, spaces aside (one crop of a line may read
    "CHANGE 7.20", another "CHANGE7.20"). What only the naive loop found goes to `missed`."""
    same = (lambda t: t.replace(" ", "")) if which == 1 else (lambda t: t)
    missed = [] if missed is None else missed
    both = total = 0
    for name, got in theirs.items():
        left = [same(t) for t in ours[name][which]]
        for thing in got[which]:
            total += 1
            match = next((t for t in left if (overlap(t, thing) >= 0.5 if which == 0
                                               else t == same(thing))), None)
            if match is not None:
                left.remove(match)
                both += 1
            else:
                missed.append(f"{name}: {thing}")
    return both, total


def overlap(a, b) -> float:
    """Two boxes' intersection over their union."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)


def bench_enrich(work: Path, n: int) -> dict:
    """The first pass runs with the tests' tiny random model: the second does not use it."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.append(str(ROOT / "tests"))
    from helpers import make_random_model

    from .enrichset import make_photos

    spec = make_random_model(work / "tiny-model")

    folder = work / "enrich-photos"
    made = make_photos(folder, n)
    paths = sorted(folder.glob("*.jpg"))
    theirs, naive_s, naive_wait = naive_pass(paths)
    ours, ours_s, ours_wait = our_pass(work, folder, spec)
    faces_missed, lines_missed = [], []
    faces_both, faces = recall(theirs, ours, 0, faces_missed)
    lines_both, lines = recall(theirs, ours, 1, lines_missed)
    return {
        "photos": n, "mean_file_mb": round(sum(p.stat().st_size for p in paths) / n / 2**20, 2),
        "with_face_pasted": sum(1 for m in made if m.get("face")),
        "with_text_drawn": sum(1 for m in made if m.get("text")),
        "naive_photos_per_s": round(n / naive_s, 2), "photos_per_s": round(n / ours_s, 2),
        "ratio": round(naive_s / ours_s, 2), "target_photos_per_s": 4.0,
        "faces_naive": faces, "faces_found_by_both": faces_both,
        "lines_naive": lines, "lines_found_by_both": lines_both,
        "lines_ours": sum(len(v[1]) for v in ours.values()),
        "faces_missed": faces_missed, "lines_missed": lines_missed,
        "faces_ours": sum(len(v[0]) for v in ours.values()),
        "longest_wait_ms_naive": round(naive_wait * 1000), "longest_wait_ms": round(ours_wait * 1000),
        "load_average": round(os.getloadavg()[0], 1), "cores": os.cpu_count(),
    }


def markdown(x: dict) -> list[str]:
    return [
        "## 7. Second pass: faces and text together", "",
        f"{x['photos']} JPEGs of 4000×3000 ({x['mean_file_mb']} MB on average) made from the "
        "real pictures that ship in scikit-image and matplotlib (benchmarks/enrichset.py): "
        f"{x['with_face_pasted']} with a face pasted in, {x['with_text_drawn']} with a sign or "
        "a small label drawn on, besides the faces and text the pictures hold. Naive: the pass "
        "as it was, one thread (decode once, faces found and embedded here, RapidOCR's own "
        "detector call as the check, the full read where it found boxes, RapidOCR on ONNX "
        "Runtime).", "",
        "| naive photos/s | Snapseek photos/s (target ≥ 4) | ratio | faces found / naive's | "
        "lines of text found / naive's | longest wait of a 5 ms ticker (naive → ours) |",
        "|---|---|---|---|---|---|",
        f"| {x['naive_photos_per_s']} | **{x['photos_per_s']}** | {x['ratio']}× | "
        f"{x['faces_found_by_both']} / {x['faces_naive']} | {x['lines_found_by_both']} / "
        f"{x['lines_naive']} | {x['longest_wait_ms_naive']} → {x['longest_wait_ms']} ms |", "",
        f"Load average {x['load_average']} on {x['cores']} cores at the end of the section. "
        "Snapseek: faces and text each in a child process (core/people/faceworker.py, "
        "core/text/textworker.py; their networks unbound) while this process decodes, a few "
        "photos ahead, each handed over two photos ahead of the answers awaited; the text "
        "check runs the detector's "
        "network directly on the 640 px copy (core/text/ocr.py). A face counts as found when the "
        "same photo has a face whose box overlaps it by half, a line when the same photo has "
        "the same text, spaces aside.", ""]


def main(argv=None) -> int:
    import tempfile

    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="snapseek-enrich-bench-") as tmp:
        result = bench_enrich(Path(tmp), 12 if quick else 36)
    print(json.dumps(result, indent=2))
    print("\n".join(markdown(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

