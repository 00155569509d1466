"""Camera-size JPEGs for the second pass, made from the real pictures that ship in installed
packages (scikit-image's data, matplotlib's Grace Hopper): upscaled to 4000×3000 with sensor-like
grain, some with a face pasted in, some with a sign or a small printed label drawn on. Three of
the pictures carry text of their own (a scanned page, a street sign, a logo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = (4000, 3000)
BASES = ["astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field", "coins",
         "immunohistochemistry", "grace_hopper", "retina", "brick", "moon", "page", "grass",
         "text", "horse", "gravel", "logo"]
WORDS = [["INVOICE 4471", "PLATFORM 9"], ["HOTEL MIRAMAR", "VACANCY"], ["EXIT"],
         ["TOTAL 12.80", "CASH 20.00", "CHANGE 7.20"]]


def base_picture(name: str) -> Image.Image:
    if name == "grace_hopper":
        import matplotlib.cbook

        return Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
                          ).convert("RGB")
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def fill(picture: Image.Image, size=SIZE) -> Image.Image:
    """Cropped to the frame's shape, then scaled up to fill it."""
    w, h = picture.size
    target = size[0] / size[1]
    if w / h > target:
        cw = round(h * target)
        picture = picture.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
    else:
        ch = round(w / target)
        picture = picture.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
    return picture.resize(size, Image.Resampling.BICUBIC)


def draw_words(picture: Image.Image, lines: list[str], height: float, at: tuple[float, float],
               board=(246, 244, 236), ink=(25, 25, 30)) -> None:
    """Dark letters `height` (a fraction of the picture's height) tall on a light board."""
    w, h = picture.size
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=max(6, int(h * height)))
    x, y = int(w * at[0]), int(h * at[1])
    widths = [draw.textlength(line, font=font) for line in lines]
    pad = int(h * height * 0.6)
    draw.rectangle([x - pad, y - pad, x + max(widths) + pad,
                    y + int(h * height * 1.5) * len(lines) + pad], fill=board)
    for i, line in enumerate(lines):
        draw.text((x, y + int(h * height * 1.5) * i), line, fill=ink, font=font)


def make_photo(path: Path, i: int, rng: np.random.Generator) -> dict:
    """Photo `i` of the set; what was put in it (for the reader of the results)."""
    name = BASES[i % len(BASES)]
    picture = fill(base_picture(name))
    put: dict = {"base": name}
    if i % 4 == 1:  # a face pasted in, 300-450 px wide in the 4000 px frame
        face = base_picture("grace_hopper" if i % 8 == 1 else "astronaut")
        face = face.crop((0, 0, face.width, face.width * 5 // 4 if face.height > face.width
                          else face.height))
        width = 1000 + 100 * (i % 5)
        face = face.resize((width, round(face.height * width / face.width)),
                           Image.Resampling.BICUBIC)
        picture.paste(face, (200 + 300 * (i % 7), 100 + 150 * (i % 5)))
        put["face"] = True
    if i % 8 == 3:  # a sign: letters 4-8 % of the picture's height
        draw_words(picture, WORDS[i % len(WORDS)], 0.04 + 0.01 * (i % 5), (0.45, 0.35))
        put["text"] = "sign"
    elif i % 8 == 7:  # a small label: letters 1.2-2 % of the height
        draw_words(picture, WORDS[(i + 1) % len(WORDS)], 0.012 + 0.002 * (i % 5), (0.6, 0.75))
        put["text"] = "label"
    grain = rng.normal(0, 6, (SIZE[1], SIZE[0], 1)).astype(np.int16)
    pixels = np.clip(np.asarray(picture, np.int16) + grain, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return put


def make_photos(folder: Path, n: int, seed: int = 0) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    return [make_photo(folder / f"IMG_{i:04d}.jpg", i, rng) for i in range(n)]
