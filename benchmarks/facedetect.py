"""Face detectors side by side on benchmarks/faceset.py's 12 MP photos with known faces: for each,
faces found of all, extra boxes (on no face), recall by face width, and ms per photo (detection
alone, on the picture the second pass decodes: about 1280 px on its long side).

    PYTHONPATH=. .venv/bin/python -m benchmarks.facedetect [--keep DIR] [--only NAME,...]

A face counts as found when a box overlaps it by 0.3 or more of their union (one box, one face);
the detectors draw their boxes differently (HOG from the brows to the lip, CenterFace from the
forehead to the chin), and 0.3 takes both."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.faceset import make_set
from core.folders.enrich import decode

OVERLAP = 0.3
BUCKETS = [(0, 60), (60, 100), (100, 200), (200, 10_000)]  # face widths, px at 12 MP


def iou(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def matched(truth: list, found: list) -> tuple[list[bool], int]:
    """Which true faces a box found (greedy, best overlaps first), and how many boxes found
    none."""
    pairs = sorted(((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)),
                   reverse=True)
    hit, used = [False] * len(truth), set()
    for overlap, i, j in pairs:
        if overlap < OVERLAP:
            break
        if not hit[i] and j not in used:
            hit[i] = True
            used.add(j)
    return hit, len(found) - len(used)


def hog(upsample: int) -> Callable:
    from core.people.faces import FaceModels

    models = FaceModels.get()

    def run(path: Path, picture: np.ndarray) -> list:
        h, w = picture.shape[:2]
        rects, _, _ = models.detector.run(picture, upsample, 0.0)
        return [(r.left() / w, r.top() / h, (r.right() + 1) / w, (r.bottom() + 1) / h)
                for r in rects]
    return run


def centerface(threshold: float, long_side: int | None = None, decoded: int | None = None
               ) -> Callable:
    """CenterFace on OpenVINO, on the pass's picture (or one decoded `decoded` px long), looked
    at `long_side` px (as it is when None)."""
    from core.people.detector import CenterFace

    net = CenterFace()

    def run(path: Path, picture: np.ndarray) -> list:
        if decoded:
            picture = decode(str(path), decoded)
        h, w = picture.shape[:2]
        return [(d.box[0] / w, d.box[1] / h, d.box[2] / w, d.box[3] / h)
                for d in net.detect(picture, threshold, long_side)]
    return run


def two_looks(first: int, second: int, hint: float = 0.1) -> Callable:
    """CenterFace at `first` px, and at `second` px where the first look found a small face
    or a hint of one, on a picture decoded `second` px long."""
    from core.people.detector import CenterFace

    net = CenterFace()

    def run(path: Path, picture: np.ndarray) -> list:
        picture = decode(str(path), second)
        h, w = picture.shape[:2]
        return [(d.box[0] / w, d.box[1] / h, d.box[2] / w, d.box[3] / h)
                for d in net.find(picture, first, second, hint)]
    run.net = net
    return run


def centerface_cv2(threshold: float) -> Callable:
    """The same network on OpenCV's dnn module (the other runtime the app has)."""
    import cv2

    from core.people.detector import STRIDE, decode as decode_maps, nms, weights_path

    net = cv2.dnn.readNetFromONNX(str(weights_path()))

    def run(path: Path, picture: np.ndarray) -> list:
        h, w = picture.shape[:2]
        ph, pw = -(-h // STRIDE) * STRIDE, -(-w // STRIDE) * STRIDE
        x = np.zeros((1, 3, ph, pw), np.float32)
        x[0, :, :h, :w] = picture.transpose(2, 0, 1)
        net.setInput(x)
        maps = net.forward(["537", "538", "539", "540"])
        boxes, scores, _ = decode_maps(*maps, threshold)
        boxes = boxes[nms(boxes, scores, 0.3)]
        return [(b[0] / w, b[1] / h, b[2] / w, b[3] / h) for b in boxes]
    return run


def the_pass(path: Path, picture: np.ndarray) -> list:
    """What the faces enricher keeps (core.people.faces.find_faces), without embeddings."""
    from core.people.faces import find_faces

    found, _ = find_faces(picture, crops=False, embed=False)
    return [f.box for f in found]


DETECTORS: dict[str, Callable[[], Callable]] = {
    "dlib HOG (before)": lambda: hog(0),
    "dlib HOG, upsampled once": lambda: hog(1),
    "CenterFace 0.5, 1280 px, OpenCV dnn": lambda: centerface_cv2(0.5),
    "CenterFace 0.5, 1280 px": lambda: centerface(0.5),
    "CenterFace 0.4, 1280 px": lambda: centerface(0.4),
    "CenterFace 0.5, 960 px": lambda: centerface(0.5, 960),
    "CenterFace 0.5, 2000 px (JPEG draft 1/2)": lambda: centerface(0.5, None, 2000),
    "CenterFace 800 px, 2000 px where it pays": lambda: two_looks(800, 2000),
    "CenterFace 800 px, 1600 px where it pays": lambda: two_looks(800, 1600),
    "CenterFace 960 px, 2000 px where it pays": lambda: two_looks(960, 2000),
    "CenterFace 640 px, 2000 px where it pays": lambda: two_looks(640, 2000),
    "the faces pass (find_faces)": lambda: the_pass,
}


def main(argv: list[str]) -> None:
    keep = Path(argv[argv.index("--keep") + 1]) if "--keep" in argv else None
    only = argv[argv.index("--only") + 1].split(",") if "--only" in argv else None
    with tempfile.TemporaryDirectory(prefix="snapseek-faceset-") as tmp:
        folder = keep or Path(tmp)
        photos = make_set(folder)
        pictures = {p.name: decode(str(folder / p.name)) for p in photos}
        total = sum(len(p.boxes) for p in photos)
        print(f"{len(photos)} photos of 4000×3000, {total} faces "
              f"({sum(len(p.boxes) for p in photos if p.kind == 'crowd')} in crowds), "
              f"decoded at {max(next(iter(pictures.values())).shape[:2])} px")
        head = "| detector | found | extra | " + " | ".join(
            f"{a}-{b} px" if b < 10_000 else f"{a}+ px" for a, b in BUCKETS) + " | ms/photo |"
        print(head)
        print("|" + " --- |" * (head.count("|") - 1))
        for name, make in DETECTORS.items():
            if only and not any(o.lower() in name.lower() for o in only):
                continue
            detect = make()
            detect(folder / photos[0].name, pictures[photos[0].name])  # warm
            found = extra = 0
            per = {b: [0, 0] for b in BUCKETS}
            kinds: dict[str, list[int]] = {}
            spent = 0.0
            for p in photos:
                t = time.perf_counter()
                boxes = detect(folder / p.name, pictures[p.name])
                spent += time.perf_counter() - t
                hit, more = matched(p.boxes, boxes)
                found += sum(hit)
                extra += more
                kinds.setdefault(p.kind, [0, 0, 0])
                kinds[p.kind][0] += sum(hit)
                kinds[p.kind][1] += len(hit)
                kinds[p.kind][2] += more
                for ok, width in zip(hit, p.widths, strict=True):
                    bucket = next(b for b in BUCKETS if b[0] <= width < b[1])
                    per[bucket][0] += ok
                    per[bucket][1] += 1
            cells = " | ".join(f"{a}/{n}" for a, n in per.values())
            print(f"| {name} | {found}/{total} ({found / total:.0%}) | {extra} | {cells} | "
                  f"{spent / len(photos) * 1000:.0f} |")
            looks = getattr(getattr(detect, "net", None), "second_looks", None)
            if looks is not None:
                print(f"  looked at twice: {looks - 1 if looks else 0} of {len(photos)} photos",
                      file=sys.stderr)
            print("  by kind: " + ", ".join(f"{k} {a}/{n}+{x}" for k, (a, n, x) in kinds.items()),
                  file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
