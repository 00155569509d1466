"""Where in a picture a query matched: occlusion, which works with any model and runtime.

The picture is letterboxed to a square (so the model sees all of it, not the centre crop that
indexing uses), then each cell of a grid over it is covered in turn with the picture's mean
colour; how much the similarity to the query falls with a cell covered is that cell's weight.
One batch of rows × cols + 1 images through the image tower: 25 with the default 6-wide grid."""

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
    fill = square.getpixel((0, 0)) if (ox or oy) else tuple(
        int(v) for v in np.asarray(image).reshape(-1, 3).mean(0))
    cell_w, cell_h = image.width / cols, image.height / rows
    pictures = [square]
    for r in range(rows):
        for c in range(cols):
            covered = square.copy()
            # a little larger than the cell, so an object on a border is still covered
            x0, y0 = ox + (c - 0.25) * cell_w, oy + (r - 0.25) * cell_h
            x1, y1 = ox + (c + 1.25) * cell_w, oy + (r + 1.25) * cell_h
            ImageDraw.Draw(covered).rectangle([x0, y0, x1, y1], fill=fill)
            pictures.append(covered)
    vectors = encode_images(pictures)
    similarity = vectors @ np.asarray(query, dtype=np.float32)
    drop = np.clip(similarity[0] - similarity[1:], 0.0, None).reshape(rows, cols)
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
