"""Why a photo matched: the occlusion heatmap's peak lies on the object the query names."""

from __future__ import annotations

import numpy as np
from PIL import Image


def _two_objects() -> Image.Image:
    """A red circle on the left, a blue square on the right, on one light background."""
    from helpers import draw_photo

    left = draw_photo("red", "circle", (480, 480), seed=3)
    right = draw_photo("blue", "square", (480, 480), seed=4)
    picture = Image.new("RGB", (960, 480), left.getpixel((0, 0)))
    picture.paste(left, (0, 0))
    picture.paste(right, (480, 0))
    return picture


def test_the_heatmap_peaks_on_the_matched_object(trained_model):
    import open_clip
    import torch

    from core.explain import grid_shape, occlusion_map, overlay

    model, _, preprocess = open_clip.create_model_and_transforms(trained_model)
    tokenizer = open_clip.get_tokenizer(trained_model)
    model.eval()

    def encode_images(pictures):
        with torch.no_grad():
            batch = torch.stack([preprocess(p) for p in pictures])
            return torch.nn.functional.normalize(model.encode_image(batch), dim=-1).numpy()

    picture = _two_objects()
    assert grid_shape(*picture.size) == (3, 6)
    for text, side in (("a red circle", "left"), ("a blue square", "right")):
        with torch.no_grad():
            query = torch.nn.functional.normalize(model.encode_text(tokenizer([text])),
                                                  dim=-1)[0].numpy()
        score, grid = occlusion_map(encode_images, picture, query)
        assert grid.shape == (3, 6) and grid.max() == 1.0 and grid.min() >= 0
        row, col = np.unravel_index(int(np.argmax(grid)), grid.shape)
        assert (col < 3) == (side == "left"), (text, grid.round(2))
        # the object's half carries most of the weight
        half = grid[:, :3] if side == "left" else grid[:, 3:]
        assert half.sum() > 0.6 * grid.sum(), (text, grid.round(2))
    assert overlay(picture, grid).size == picture.size
