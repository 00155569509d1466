"""Faces aligned for dlib's embedding from the CNN detector's boxes, against dlib's own HOG
boxes: where HOG puts its box on a face the CNN found (core/people/faces.py DLIB_BOX_*), and the
embedding distances of the same and of different people both ways, on the real faces that ship
with scikit-image (the astronaut; the cameraman, in near profile) and matplotlib (Grace Hopper)
with flips, scales, crops, light, turns by 20° and small copies.

    PYTHONPATH=. .venv/bin/python -m benchmarks.facealign
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
from PIL import Image, ImageEnhance

from benchmarks.faceset import source


def variants(im: Image.Image) -> dict[str, Image.Image]:
    out = {"orig": im, "flip": im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
           "x2": im.resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC),
           "x3": im.resize((im.width * 3, im.height * 3), Image.Resampling.BICUBIC),
           "dark": ImageEnhance.Brightness(im).enhance(0.6),
           "bright": ImageEnhance.Brightness(im).enhance(1.4),
           "crop": im.crop((im.width // 8, 0, im.width * 7 // 8, im.height * 3 // 4))}
    for angle in (-20, 20):
        out[f"turned {angle}"] = im.rotate(angle, Image.Resampling.BICUBIC)
    for f in (0.35, 0.5):
        out[f"x{f}"] = im.resize((int(im.width * f), int(im.height * f)), Image.Resampling.LANCZOS)
    return out


def main() -> None:
    from core.people.faces import FaceModels

    models = FaceModels.get()
    hog = models._dlib.get_frontal_face_detector()
    embeddings: dict[str, dict] = {"HOG box (before)": {}, "CNN box": {}}
    placed = []
    for who in ("astronaut", "grace_hopper", "camera"):
        for kind, im in variants(source(who)).items():
            picture = np.asarray(im.convert("RGB"))
            found = [d for d in models.detector.detect(picture, 0.5)
                     if d.box[1] < picture.shape[0] * 0.5]  # not a badge on a suit
            if not found:
                print(f"  {who} {kind}: no face found by the CNN", file=sys.stderr)
                continue
            d = max(found, key=lambda d: d.score)
            embeddings["CNN box"][(who, kind)] = models.embedding(picture, d.box)
            cx, w, h = (d.box[0] + d.box[2]) / 2, d.box[2] - d.box[0], d.box[3] - d.box[1]
            rects = [r for r in hog(picture, 0) if abs(r.center().x - cx) < r.width() / 3]
            if rects:
                r = rects[0]
                placed.append(((r.center().y - d.box[1]) / h, r.width() / w))
                embeddings["HOG box (before)"][(who, kind)] = np.asarray(
                    models.encoder.compute_face_descriptor(picture, models.landmarks(picture, r)))
    placed_a = np.asarray(placed)
    print(f"HOG's box on the CNN's, {len(placed)} faces: centre {placed_a[:, 0].mean():.3f} "
          f"(sd {placed_a[:, 0].std():.3f}) of its height down, width "
          f"{placed_a[:, 1].mean():.3f} (sd {placed_a[:, 1].std():.3f}) times its width")
    both = set(embeddings["HOG box (before)"])
    print("| alignment | faces | same person, largest | same person, mean | different people, "
          "smallest |")
    print("| --- | --- | --- | --- | --- |")
    for name, found in [*embeddings.items(),
                        ("CNN box, on the faces HOG found", {k: v for k, v in
                                                            embeddings["CNN box"].items()
                                                            if k in both})]:
        same, other = [], []
        for (a, ea), (b, eb) in itertools.combinations(found.items(), 2):
            (same if a[0] == b[0] else other).append(float(np.linalg.norm(ea - eb)))
        print(f"| {name} | {len(found)} | {max(same):.3f} | {np.mean(same):.3f} | "
              f"{min(other):.3f} |")
    moved = [float(np.linalg.norm(embeddings["CNN box"][k] - embeddings["HOG box (before)"][k]))
             for k in both]
    print(f"the same picture, CNN box against HOG box: {np.mean(moved):.3f} on average, "
          f"{max(moved):.3f} at most")


if __name__ == "__main__":
    main()
