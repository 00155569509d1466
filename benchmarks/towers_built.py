"""The towers built without torch (core/model/builder.py) beside torch fp32, for every offered
open-licence architecture at full size with random weights, and the tests' trained ViT model:
the worst cosine over real pictures that ship in packages and texts in four languages, and the
seconds the build took.

    PYTHONPATH=. .venv/bin/python -m benchmarks.towers_built [NAME:TAG ...]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["a photo of a dog", "our family at the beach last summer", "receipt from IKEA",
         "ein Hund am Strand", "Schnee auf den Bergen", "una foto de un gato en el sofá",
         "la playa de noche", "東京タワーの夜景", "猫がソファで寝ている"]


def compare(folder: Path, runtime: Path) -> dict:
    import numpy as np
    import open_clip
    import torch
    from test_builder import real_pictures

    from core.model.builder import build
    from core.model.exported import open_light

    spec = f"local-dir:{folder}"
    started = time.monotonic()
    build(spec, folder, runtime, check=False)
    seconds = time.monotonic() - started
    light = open_light(spec, runtime, 2, lambda: None)
    model, _, preprocess = open_clip.create_model_and_transforms(spec)
    tokenizer = open_clip.get_tokenizer(spec)
    pictures = real_pictures()
    with torch.inference_mode():
        want_i = model.eval().encode_image(torch.stack([preprocess(p) for p in pictures])).numpy()
        want_t = model.encode_text(tokenizer(TEXTS)).numpy()
    got_i, got_t = light.encode_images(pictures), light.encode_text(TEXTS)

    def worst(a, b):
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        return round(float((a * b).sum(1).min()), 6)

    return {"build_s": round(seconds, 1), "image_min_cosine": worst(want_i, got_i),
            "text_min_cosine": worst(want_t, got_t), "pictures": len(pictures),
            "texts": len(TEXTS), "precision": light.image_runtime}


def random_folder(arch: str, folder: Path) -> Path:
    import open_clip
    from hf_tokenizer import gemma_like
    from test_builder import random_model
    from test_tokenizers import texts

    name, tag = arch.split(":")
    cfg = open_clip.get_model_config(name)
    pre = open_clip.get_pretrained_cfg(name, tag)
    preprocess = {k: pre[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in pre}
    random_model(folder, cfg, preprocess)
    if cfg["text_cfg"].get("hf_tokenizer_name"):
        gemma_like(folder, texts() + TEXTS, vocab=4000)
    return folder


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sys.path[:0] = [str(ROOT / "tests")]
    from vit_model import vit_model

    from core.model.offered import MODELS

    archs = argv or [m.spec for m in MODELS if m.open and not m.needs_full_installation]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in archs:
            folder = random_folder(arch, Path(tmp) / "model")
            out[arch + " (random weights)"] = compare(folder, Path(tmp) / "runtime")
            shutil.rmtree(tmp, ignore_errors=True)
            Path(tmp).mkdir()
        trained = Path(vit_model()[len("local-dir:"):])
        out["the tests' trained ViT model"] = compare(trained, Path(tmp) / "runtime")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
