"""Whether towers built from downloaded weights mean what the model means: a few public-domain
pictures shipped with the app (resources/meaning/: an astronaut, a cup of coffee, a cat, a
rocket, galaxies) must each be found first by their own caption among the others. A mis-wired
tower, a damaged or wrong weights file, gives vectors that fail this, and is never used to
index a library."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np

from core.paths import resource


def shipped_pictures() -> list[tuple[object, str]]:
    """(PIL image, caption) of each picture in resources/meaning/."""
    from PIL import Image

    folder = resource("meaning")
    rows = json.loads((folder / "pictures.json").read_text(encoding="utf-8"))
    out = []
    for row in rows:
        with Image.open(folder / row["file"]) as im:
            out.append((im.convert("RGB"), row["caption"]))
    return out


def misread(encode_images: Callable[[list], np.ndarray],
            encode_text: Callable[[list[str]], np.ndarray],
            pairs: Sequence[tuple[object, str]] | None = None) -> list[str]:
    """The captions that do not find their own picture first among the pictures (none: the
    model means what it should)."""
    pairs = list(pairs if pairs is not None else shipped_pictures())
    images = np.asarray(encode_images([p for p, _ in pairs]), np.float32)
    texts = np.asarray(encode_text([c for _, c in pairs]), np.float32)
    scores = texts @ images.T  # caption × picture
    return [caption for i, (_, caption) in enumerate(pairs)
            if int(np.argmax(scores[i])) != i or np.sum(scores[i] >= scores[i, i]) > 1]
