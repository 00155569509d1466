"""Face detectors side by side on benchmarks/faceset.py's 12 MP photos with known faces: for each,
faces found of all, extra boxes (on no face), recall by face width, and ms per photo (detection
alone, on the picture the second pass decoded before, about 1280 px on its long side, or on the
2000 px one it decodes for faces now: both decoded beforehand, so decoding is not counted).

    PYTHONPATH=. .venv/bin/python -m benchmarks.facedetect [--keep DIR] [--only NAME,...]
    PYTHONPATH=. .venv/bin/python -m benchmarks.facedetect --ordinary [ROUNDS]
    PYTHONPATH=. .venv/bin/python -m benchmarks.facedetect --lone

`--ordinary`: the time of the detector before and of the chosen one on the 12 ordinary photos
of benchmarks/enrichset.py (most without a face, a few with one or two), in turns.
`--lone`: 24 photos of one face 40-75 px wide alone in a scene (benchmarks/faceset.py
`make_lone`), the pass's detector against one look at the whole photo at each size: faces
found, extra boxes, and CPU ms per photo there and on the 12 ordinary photos.

A face counts as found when a box overlaps it by 0.3 or more of their union (one box, one face);
the detectors draw their boxes differently (HOG from the brows to the lip, CenterFace from the
forehead to the chin), and 0.3 takes both."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.faceset import LONE_WIDTHS, make_set
from core.folders.enrich import decode
from core.people.faces import LONG_SIDE

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
    import dlib

    detector = dlib.get_frontal_face_detector()

    def run(picture: np.ndarray, large: np.ndarray) -> list:
        h, w = picture.shape[:2]
        rects, _, _ = detector.run(picture, upsample, 0.0)
        return [(r.left() / w, r.top() / h, (r.right() + 1) / w, (r.bottom() + 1) / h)
                for r in rects]
    return run


def centerface(threshold: float, long_side: int | None = None, large: bool = False) -> Callable:
    """CenterFace on OpenVINO, on the 1280 px picture (the 2000 px one when `large`), looked
    at `long_side` px (as it is when None)."""
    from core.people.detector import CenterFace

    net = CenterFace()

    def run(picture: np.ndarray, large_picture: np.ndarray) -> list:
        if large:
            picture = large_picture
        h, w = picture.shape[:2]
        return [(d.box[0] / w, d.box[1] / h, d.box[2] / w, d.box[3] / h)
                for d in net.detect(picture, threshold, long_side)]
    return run


def two_looks(first: int, second: int) -> Callable:
    """CenterFace at `first` px, and at `second` px where the first look found a small face
    or a hint of one (as core/people/detector.py does, its sizes scaled to `first`), on the
    2000 px picture."""
    from core.people.detector import FIRST_LOOK, HINT, SMALL, CenterFace

    net = CenterFace()
    hint, small = HINT, SMALL * first / FIRST_LOOK

    def run(picture_1280: np.ndarray, picture: np.ndarray) -> list:
        h, w = picture.shape[:2]
        return [(d.box[0] / w, d.box[1] / h, d.box[2] / w, d.box[3] / h)
                for d in net.find(picture, first, second, hint, small)]
    run.net = net
    return run


def centerface_cv2(threshold: float) -> Callable:
    """The same network on OpenCV's dnn module (the other runtime the app has)."""
    import cv2

    from core.people.detector import STRIDE, decode as decode_maps, nms, weights_path

    net = cv2.dnn.readNetFromONNX(str(weights_path()))

    def run(picture: np.ndarray, large: np.ndarray) -> list:
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


def the_pass() -> Callable:
    """What the faces enricher keeps (core.people.faces.find_faces, without embeddings) from
    the picture the pass decodes for it."""
    from core.people.faces import FaceModels, find_faces

    def run(small: np.ndarray, picture: np.ndarray) -> list:
        found, _ = find_faces(picture, crops=False, embed=False)
        return [f.box for f in found]
    run.net = FaceModels.get().detector
    return run


DETECTORS: dict[str, Callable[[], Callable]] = {
    "dlib HOG (before)": lambda: hog(0),
    "dlib HOG, upsampled once": lambda: hog(1),
    "CenterFace 0.5, 1280 px, OpenCV dnn": lambda: centerface_cv2(0.5),
    "CenterFace 0.5, 1280 px": lambda: centerface(0.5),
    "CenterFace 0.4, 1280 px": lambda: centerface(0.4),
    "CenterFace 0.5, 640 px": lambda: centerface(0.5, 640),
    "CenterFace 0.5, 2000 px (JPEG draft 1/2)": lambda: centerface(0.5, None, True),
    "CenterFace 800 px, 2000 px where it pays": lambda: two_looks(800, 2000),
    "CenterFace 640 px, 2000 px where it pays (chosen)": lambda: two_looks(640, 2000),
    "CenterFace 640 px, 1600 px where it pays": lambda: two_looks(640, 1600),
    "the faces pass (find_faces)": the_pass,
}


def ordinary(rounds: int) -> None:
    """HOG at 1280 px against the faces pass's detector on benchmarks/enrichset.py's photos."""
    from benchmarks.enrichset import make_photos

    with tempfile.TemporaryDirectory(prefix="snapseek-ordinary-") as tmp:
        make_photos(Path(tmp), 12)
        paths = sorted(Path(tmp).glob("*.jpg"))
        small = [decode(str(p)) for p in paths]
        large = [decode(str(p), LONG_SIDE) for p in paths]
        before, after = hog(0), the_pass()
        before(small[0], large[0]), after(small[0], large[0])  # warm
        for r in range(rounds):
            times = []
            for detect in (before, after):
                looks = after.net.second_looks
                t = time.perf_counter()
                found = sum(len(detect(a, b)) for a, b in zip(small, large, strict=True))
                times.append((time.perf_counter() - t) / len(paths) * 1000)
                print(f"round {r + 1}: {'HOG at 1280 px' if detect is before else 'the pass'}: "
                      f"{times[-1]:.0f} ms/photo, {found} faces, looked at twice "
                      f"{after.net.second_looks - looks}")
            print(f"  the pass / HOG: {times[1] / times[0]:.2f} (load average "
                  f"{os.getloadavg()[0]:.1f})")


def lone() -> None:
    """What finding a lone small face costs: the pass's two looks against one look at the
    whole photo at each size, on make_lone's photos and on the ordinary ones."""
    from benchmarks.enrichset import make_photos
    from benchmarks.faceset import make_lone
    from core.people.detector import THRESHOLD, CenterFace

    with tempfile.TemporaryDirectory(prefix="snapseek-lone-") as tmp:
        photos = make_lone(Path(tmp) / "lone")
        pictures = [decode(str(Path(tmp) / "lone" / p.name), LONG_SIDE) for p in photos]
        make_photos(Path(tmp) / "ordinary", 12)
        ordinary = [decode(str(p), LONG_SIDE)
                    for p in sorted((Path(tmp) / "ordinary").glob("*.jpg"))]
        net = CenterFace()
        looks = {"the pass (640 px, closer where it pays)": net.find}
        for side in (960, 1280, 1600, 2000):
            looks[f"one look at {side} px"] = lambda p, side=side: net.detect(p, THRESHOLD, side)
        print("| detector | lone faces found | extra | 40-50 / 50-60 / 60-75 px | CPU ms/photo "
              "| on ordinary photos: faces, CPU ms/photo |\n|---|---|---|---|---|---|")
        for name, find in looks.items():
            find(pictures[0])  # warm
            t = time.process_time()
            found = [find(p) for p in pictures]
            spent = (time.process_time() - t) / len(pictures) * 1000
            t = time.process_time()
            others = sum(len(find(p)) for p in ordinary)
            spent_ordinary = (time.process_time() - t) / len(ordinary) * 1000
            hits, extra = [0, 0, 0], 0
            for photo, picture, faces in zip(photos, pictures, found, strict=True):
                h, w = picture.shape[:2]
                hit, more = matched(photo.boxes, [(d.box[0] / w, d.box[1] / h, d.box[2] / w,
                                                   d.box[3] / h) for d in faces])
                extra += more
                hits[next(i for i, (a, b) in enumerate(LONE_WIDTHS)
                          if photo.widths[0] < b or i == 2)] += sum(hit)
            n = len(photos) // 3
            print(f"| {name} | {sum(hits)}/{len(photos)} | {extra} | "
                  f"{' / '.join(f'{k}/{n}' for k in hits)} | {spent:.0f} | "
                  f"{others}, {spent_ordinary:.0f} |", flush=True)
        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def main(argv: list[str]) -> None:
    if "--lone" in argv:
        return lone()
    if "--ordinary" in argv:
        at = argv.index("--ordinary") + 1
        return ordinary(int(argv[at]) if at < len(argv) else 3)
    keep = Path(argv[argv.index("--keep") + 1]) if "--keep" in argv else None
    only = argv[argv.index("--only") + 1].split(",") if "--only" in argv else None
    with tempfile.TemporaryDirectory(prefix="snapseek-faceset-") as tmp:
        folder = keep or Path(tmp)
        photos = make_set(folder)
        pictures = {p.name: decode(str(folder / p.name)) for p in photos}
        large = {p.name: decode(str(folder / p.name), LONG_SIDE) for p in photos}
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
            detect(pictures[photos[0].name], large[photos[0].name])  # warm
            found = extra = 0
            per = {b: [0, 0] for b in BUCKETS}
            kinds: dict[str, list[int]] = {}
            spent = 0.0
            net = getattr(detect, "net", None)
            twice: dict[str, int] = {}
            for p in photos:
                looks = net.second_looks if net is not None else 0
                t = time.perf_counter()
                boxes = detect(pictures[p.name], large[p.name])
                spent += time.perf_counter() - t
                if net is not None and net.second_looks > looks:
                    twice[p.kind] = twice.get(p.kind, 0) + 1
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
            if net is not None:
                print(f"  looked at twice: {sum(twice.values())} of {len(photos)} photos "
                      f"({', '.join(f'{k} {n}' for k, n in twice.items())})", file=sys.stderr)
            print("  by kind: " + ", ".join(f"{k} {a}/{n}+{x}" for k, (a, n, x) in kinds.items()),
                  file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
