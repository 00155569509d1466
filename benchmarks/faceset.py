"""A face detection set with known answers: real faces that ship in installed packages
(scikit-image's astronaut and cameraman, the cameraman in near profile; matplotlib's Grace
Hopper) pasted into real scenes (scikit-image's coffee, cat, rocket, ...) made 12 MP (4000×3000)
JPEGs: portraits, couples, groups, crowds of faces 40-90 px wide, tilted heads, faces cut by the
frame and faces partly hidden, mirrored, lighter and darker, and scenes with no face at all. The
boxes are known because the faces were put there. Deterministic for a seed."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

SIZE = (4000, 3000)
SCENES = ["coffee", "chelsea", "rocket", "hubble_deep_field", "brick", "grass", "gravel", "coins"]
# each source face: its box (left, top, right, bottom), forehead to chin, as measured by eye
FACES = {
    "astronaut": (182, 58, 270, 178),
    "grace_hopper": (175, 132, 357, 336),
    "camera": (200, 115, 262, 200),  # turned away: a near profile
}
# what the set holds: (kind, photos, faces per photo, face widths in px at 12 MP)
PLAN = [
    ("none", 6, (0, 0), (0, 0)),
    ("portrait", 6, (1, 1), (450, 1300)),
    ("couple", 6, (2, 3), (180, 600)),
    ("group", 6, (6, 12), (90, 260)),
    ("crowd", 5, (18, 28), (40, 90)),
    ("tilted", 5, (1, 3), (140, 600)),
    ("edge", 4, (2, 3), (150, 500)),
    ("hidden", 4, (2, 3), (150, 500)),
]


@dataclass
class Photo:
    name: str
    kind: str
    boxes: list[tuple[float, float, float, float]]  # fractions of the picture
    widths: list[float]  # each face's width in px at 12 MP


def source(name: str) -> Image.Image:
    if name == "grace_hopper":
        import matplotlib.cbook

        path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        return Image.open(path).convert("RGB")
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def scene(name: str, rng: np.random.Generator) -> Image.Image:
    """A real picture cropped to 4:3 and scaled up to 12 MP, with a camera's grain."""
    im = source(name)
    w, h = im.size
    if w / h > 4 / 3:
        cw = round(h * 4 / 3)
        im = im.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    else:
        ch = round(w * 3 / 4)
        im = im.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
    im = im.resize(SIZE, Image.Resampling.BICUBIC)
    noise = rng.integers(-6, 7, (SIZE[1], SIZE[0], 1), dtype=np.int16)
    return Image.fromarray(np.clip(np.asarray(im, np.int16) + noise, 0, 255).astype(np.uint8))


def head(name: str, width: float, angle: float, mirror: bool, light: float, hide: bool,
         rng: np.random.Generator) -> tuple[Image.Image, Image.Image, tuple[float, ...]]:
    """A face with its head and a margin, scaled so the face is `width` px wide, turned by
    `angle` degrees: (picture, its soft-edged mask, the face's box in it)."""
    im = source(name)
    left, top, right, bottom = FACES[name]
    fw, fh = right - left, bottom - top
    margin = (left - 0.7 * fw, top - 0.8 * fh, right + 0.7 * fw, bottom + 0.5 * fh)
    crop = im.crop(tuple(round(v) for v in margin))
    if mirror:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    crop = ImageEnhance.Brightness(crop).enhance(light)
    f = width / fw
    crop = crop.resize((max(2, round(crop.width * f)), max(2, round(crop.height * f))),
                       Image.Resampling.LANCZOS)
    fx0 = (left - margin[0]) * f
    if mirror:
        fx0 = crop.width - (right - margin[0]) * f
    face = (fx0, (top - margin[1]) * f, fx0 + fw * f, (top - margin[1] + fh) * f)
    mask = Image.new("L", crop.size, 0)
    ImageDraw.Draw(mask).ellipse((crop.width * 0.06, crop.height * 0.04, crop.width * 0.94,
                                  crop.height * 0.98), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(max(1.0, crop.width * 0.03)))
    if hide:  # a hand, a glass, another head: a third of the face, from below or a side
        draw = ImageDraw.Draw(crop)
        colour = tuple(int(c) for c in rng.integers(40, 220, 3))
        x0, y0, x1, y1 = face
        if rng.random() < 0.5:
            draw.rectangle((x0 - 5, y1 - (y1 - y0) * 0.36, x1 + 5, y1 + 5), fill=colour)
        else:
            draw.rectangle((x1 - (x1 - x0) * 0.36, y0 - 5, x1 + 5, y1 + 5), fill=colour)
    if angle:
        cx, cy = crop.width / 2, crop.height / 2
        crop = crop.rotate(angle, Image.Resampling.BICUBIC, expand=True)
        mask = mask.rotate(angle, Image.Resampling.BICUBIC, expand=True)
        # the face's ellipse turned, and the upright box around it
        a, b = (face[2] - face[0]) / 2, (face[3] - face[1]) / 2
        ex, ey = (face[0] + face[2]) / 2 - cx, (face[1] + face[3]) / 2 - cy
        t = math.radians(angle)
        nx = ex * math.cos(t) + ey * math.sin(t) + crop.width / 2
        ny = -ex * math.sin(t) + ey * math.cos(t) + crop.height / 2
        hw = math.sqrt((a * math.cos(t)) ** 2 + (b * math.sin(t)) ** 2)
        hh = math.sqrt((a * math.sin(t)) ** 2 + (b * math.cos(t)) ** 2)
        face = (nx - hw, ny - hh, nx + hw, ny + hh)
    return crop, mask, face


def make_photo(kind: str, rng: np.random.Generator, widths: tuple[int, int],
               count: tuple[int, int]) -> tuple[Image.Image, list, list]:
    """One photo of a kind: the picture, its face boxes (fractions) and the faces' widths."""
    picture = scene(SCENES[int(rng.integers(len(SCENES)))], rng)
    n = int(rng.integers(count[0], count[1] + 1))
    boxes, sizes, taken = [], [], []
    names = list(FACES)
    for _ in range(n):
        width = float(math.exp(rng.uniform(math.log(widths[0]), math.log(widths[1]))))
        angle = float(rng.uniform(-40, 40)) if kind == "tilted" else float(rng.uniform(-6, 6))
        crop, mask, face = head(names[int(rng.integers(len(names)))], width, angle,
                                bool(rng.random() < 0.5), float(rng.uniform(0.6, 1.35)),
                                kind == "hidden", rng)
        for _try in range(200):  # a place where it hides no other face
            if kind == "edge" and len(boxes) < 2:  # cut by the frame: 25-45% outside
                out = rng.uniform(0.25, 0.45)
                side = int(rng.integers(4))
                fw, fh = face[2] - face[0], face[3] - face[1]
                x = {0: -face[0] - fw * out, 1: SIZE[0] - face[2] + fw * out}.get(
                    side, rng.uniform(-face[0], SIZE[0] - face[2]))
                y = {2: -face[1] - fh * out, 3: SIZE[1] - face[3] + fh * out}.get(
                    side, rng.uniform(-face[1], SIZE[1] - face[3]))
            else:
                x = rng.uniform(-face[0], SIZE[0] - face[2])
                y = rng.uniform(-face[1], SIZE[1] - face[3])
            box = (face[0] + x, face[1] + y, face[2] + x, face[3] + y)
            grown = (box[0] - (box[2] - box[0]) * 0.5, box[1] - (box[3] - box[1]) * 0.6,
                     box[2] + (box[2] - box[0]) * 0.5, box[3] + (box[3] - box[1]) * 0.4)
            if all(grown[2] < o[0] or grown[0] > o[2] or grown[3] < o[1] or grown[1] > o[3]
                   for o in taken):
                break
        else:
            continue
        picture.paste(crop, (round(x), round(y)), mask)
        taken.append(grown)
        clipped = (max(0.0, box[0]), max(0.0, box[1]), min(SIZE[0], box[2]), min(SIZE[1], box[3]))
        boxes.append(tuple(round(v / SIZE[i % 2], 5) for i, v in enumerate(clipped)))
        sizes.append(round(width, 1))
    return picture, boxes, sizes


def make_set(folder: Path, seed: int = 38) -> list[Photo]:
    """The set's JPEGs in `folder` and their answers (kept as truth.json beside them: a
    folder made before for the same seed is used again)."""
    truth = folder / "truth.json"
    if truth.exists():
        kept = json.loads(truth.read_text())
        if kept["seed"] == seed:
            return [Photo(**p) for p in kept["photos"]]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    photos = []
    for kind, n, count, widths in PLAN:
        for i in range(n):
            picture, boxes, sizes = make_photo(kind, rng, widths, count)
            name = f"{kind}_{i:02d}.jpg"
            picture.save(folder / name, quality=90)
            photos.append(Photo(name, kind, boxes, sizes))
    truth.write_text(json.dumps({"seed": seed, "photos": [p.__dict__ for p in photos]}))
    return photos


LONE_WIDTHS = [(40, 50), (50, 60), (60, 75)]  # px at 12 MP: the faces a first look misses


def make_lone(folder: Path, n: int = 24, seed: int = 7) -> list[Photo]:
    """Photos of one small face each (40-75 px wide at 12 MP, a third in each band of
    LONE_WIDTHS), alone in a real scene: nothing larger leads a detector to them."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    photos = []
    for i in range(n):
        picture, boxes, sizes = make_photo("lone", rng, LONE_WIDTHS[i % len(LONE_WIDTHS)],
                                           (1, 1))
        name = f"lone_{i:02d}.jpg"
        picture.save(folder / name, quality=90)
        photos.append(Photo(name, "lone", boxes, sizes))
    return photos
