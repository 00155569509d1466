"""How often the heatmap's peak lies on the object the query names, with the tiny model trained
on coloured shapes (tests/ranking_model.py).

    .venv/bin/python -m benchmarks.explain_hits

20 pictures, each of one queried shape among 2-3 others at random places and sizes (fixed
seeds, tests/helpers.py `crowded_photo`); the query is the queried shape's words ("a red
circle"). A hit: the peak cell overlaps the queried shape's bounding box. Prints the hits and
the time per picture (the tiny model: the count of images through the tower is what matters)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


def main() -> int:
    from ranking_model import ranking_model
    from test_explain import CROWDED_SEEDS, crowded_photo, peak_hits

    from core.search.explain import occlusion_map

    encode_images, encode_text = towers(ranking_model())
    started = time.perf_counter()
    hits = 0
    for seed in CROWDED_SEEDS:
        picture, text, box = crowded_photo(seed)
        _, grid = occlusion_map(encode_images, picture, encode_text(text))
        hit = peak_hits(grid, picture.size, box)
        hits += hit
        print(f"seed {seed:3d} {text:20s} {grid.shape} {'hit' if hit else 'MISS'}")
    took = (time.perf_counter() - started) / len(CROWDED_SEEDS)
    print(f"{hits}/{len(CROWDED_SEEDS)} peaks on the queried shape; {took * 1000:.0f} ms a picture")
    return 0


def towers(spec: str):
    import open_clip
    import torch

    model, _, preprocess = open_clip.create_model_and_transforms(spec)
    tokenizer = open_clip.get_tokenizer(spec)
    model.eval()

    def encode_images(pictures):
        with torch.no_grad():
            batch = torch.stack([preprocess(p) for p in pictures])
            return torch.nn.functional.normalize(model.encode_image(batch), dim=-1).numpy()

    def encode_text(text):
        with torch.no_grad():
            return torch.nn.functional.normalize(model.encode_text(tokenizer([text])),
                                                 dim=-1)[0].numpy()

    return encode_images, encode_text


if __name__ == "__main__":
    sys.exit(main())
