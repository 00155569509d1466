"""Where in a picture a query matched: occlusion, which works with any model and runtime.

The picture is letterboxed to a square (so the model sees all of it, not the centre crop that
indexing uses), then windows of 2 × 2 cells of a grid over it, one cell apart, are covered in
turn with the picture's median colour; how much the match to the query falls with a window
covered, beyond what the picture merely changing explains, is that window's weight, and a cell's
weight is the mean of the windows over it. One batch of (rows + 1) × (cols + 1) + 1 images
through the image tower: 36 with the default 6-wide grid on a 4:3 picture.

On 20 pictures of one coloured shape among 2-3 others (tests/test_explain.py) the peak lands on
the queried shape in 20, where single cells covered with the mean colour and the plain fall in
similarity found 17 (`python -m benchmarks.explain_hits`; on 40 such pictures, 39 and 35)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw


def grid_shape(width: int, height: int, across: int = 6) -> tuple[int, int]:
    """(rows, cols): `across` cells along the long side, square-ish cells."""
    if width >= height:
        return max(1, round(across * height / width)), across
    return across, max(1, round(across * width / height))


def _letterbox(image: Image.Image) -> tuple[Image.Image, tuple[int, int]]:
    side = max(image.size)
    fill = tuple(int(v) for v in np.asarray(image.convert("RGB")).reshape(-1, 3).mean(0))
    square = Image.new("RGB", (side, side), fill)
    offset = ((side - image.width) // 2, (side - image.height) // 2)
    square.paste(image.convert("RGB"), offset)
    return square, offset


def occlusion_map(encode_images: Callable[[list[Image.Image]], np.ndarray], image: Image.Image,
                  query: np.ndarray, across: int = 6, max_side: int = 448
                  ) -> tuple[float, np.ndarray]:
    """The similarity of the whole picture to `query` (a normalised vector) and a grid of
    weights over the upright picture, top row first: 1 where covering hurts the match most,
    0 where it does not matter (or helps)."""
    image = image.convert("RGB")
    if max(image.size) > max_side:  # the tower sees a few hundred pixels anyway
        image = image.copy()
        image.thumbnail((max_side, max_side))
    rows, cols = grid_shape(*image.size, across=across)
    square, (ox, oy) = _letterbox(image)
    # the median is the background wherever one colour holds most of the picture, so a covered
    # object is gone rather than replaced by a tinted patch the model may still read as a thing
    fill = tuple(int(v) for v in np.median(np.asarray(image).reshape(-1, 3), axis=0))
    cell_w, cell_h = image.width / cols, image.height / rows
    pictures, spans = [square], []
    # every cell lies under four windows at different offsets, so an object on a cell's border
    # is whole under one of them and the weights do not hang on where the grid's lines fall
    for r in range(-1, rows):
        for c in range(-1, cols):
            covered = square.copy()
            ImageDraw.Draw(covered).rectangle(
                [ox + c * cell_w, oy + r * cell_h, ox + (c + 2) * cell_w, oy + (r + 2) * cell_h],
                fill=fill)
            pictures.append(covered)
            spans.append((max(r, 0), r + 2, max(c, 0), c + 2))
    vectors = encode_images(pictures).astype(np.float32)
    query = np.asarray(query, dtype=np.float32)
    similarity = vectors @ query
    # Covering a large object moves the picture's vector a long way, and that alone lowers the
    # similarity to any query the picture matches; only the part of the query the picture's own
    # vector does not explain tells which object the query names.
    aside = query - similarity[0] * vectors[0]

    def per_cell(drops: np.ndarray) -> np.ndarray:  # each cell: the mean of its windows
        total, count = np.zeros((rows, cols)), np.zeros((rows, cols))
        for fall, (r0, r1, c0, c1) in zip(drops, spans, strict=True):
            total[r0:r1, c0:c1] += fall
            count[r0:r1, c0:c1] += 1
        return np.clip(total / count, 0.0, None)

    drop = per_cell((vectors[0] - vectors[1:]) @ aside)
    if float(drop.max()) <= 0:  # nothing beyond the picture's own vector: the plain fall
        drop = per_cell(similarity[0] - similarity[1:])
    peak = float(drop.max())
    weights = drop / peak if peak > 0 else drop
    return float(similarity[0]), weights.astype(np.float32)


def overlay(image: Image.Image, weights: np.ndarray, alpha: float = 0.55) -> Image.Image:
    """The picture with the weights laid over it in red (for `snapseek explain --out`)."""
    image = image.convert("RGB")
    heat = Image.fromarray((np.asarray(weights) * 255).astype(np.uint8), "L").resize(
        image.size, Image.Resampling.BILINEAR)
    red = Image.new("RGB", image.size, (230, 30, 30))
    mask = heat.point(lambda v: int(v * alpha))
    return Image.composite(red, image, mask)
