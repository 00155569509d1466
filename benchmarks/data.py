"""Benchmark data made on the spot: photo-like 12 MP JPEGs, CLIP-like clustered vectors, models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


def photo_like_jpeg(path: Path, seed: int, size=(4000, 3000)) -> Path:
    """A 12 MP JPEG with smooth regions, edges and sensor-like grain: 3-6 MB like a camera's."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC),
                      dtype=np.int16)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(6):  # a few hard-edged objects
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(200, 900)
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        base[mask] = rng.integers(0, 255, 3)
    grain = rng.normal(0, 9, (h, w, 1)).astype(np.int16)
    texture = (np.sin(xx / rng.uniform(3, 9)) * np.cos(yy / rng.uniform(3, 9)) * 14)
    img = np.clip(base + grain + texture[..., None].astype(np.int16), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Benchmark", "Camera 12MP"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 12:00:00"
    Image.fromarray(img).save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


def clustered_vectors(n: int, dim: int = 512, clusters: int = 2000, spread: float = 0.35,
                      seed: int = 0) -> np.ndarray:
    """Unit vectors from a mixture of Gaussian clusters: near neighbours exist, as with CLIP."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    step = 100_000
    for start in range(0, n, step):
        m = min(step, n - start)
        pick = rng.integers(0, clusters, m)
        noise = rng.standard_normal((m, dim)).astype(np.float32) * (spread / np.sqrt(dim))
        block = centres[pick] + noise
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def random_weight_model(name: str, tag: str | None, folder: Path) -> str:
    """A real architecture with random weights, saved as a local-dir model (speed only)."""
    import open_clip
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "open_clip_model.safetensors").exists():
        model = open_clip.create_model(name, pretrained=None)
        cfg = open_clip.get_model_config(name)
        pre = open_clip.get_pretrained_cfg(name, tag) if tag else {}
        preprocess = {k: pre[k] for k in ("mean", "std", "interpolation", "resize_mode")
                      if k in pre}
        (folder / "open_clip_config.json").write_text(
            json.dumps({"model_cfg": cfg, "preprocess_cfg": preprocess}))
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  str(folder / "open_clip_model.safetensors"))
        if cfg.get("text_cfg", {}).get("hf_tokenizer_name"):
            stand_in_tokenizer(folder)
    return f"local-dir:{folder}"


def stand_in_tokenizer(folder: Path) -> None:
    """A few-word Hugging Face tokenizer in the model folder, where open_clip looks for one
    (SigLIP 2's own Gemma tokenizer comes from the hub). Speed only: indexing never tokenizes."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "<unk>", "</s>", "a", "photo", "of", "dog", "beach"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                            eos_token="</s>").save_pretrained(str(folder))


def naive_index(paths, emb, thumbs: Path) -> None:
    """The naive loop the indexing benchmarks compare against: full decode, a thumbnail from
    the same decode, one model call per image."""
    import torch
    from PIL import ImageOps

    thumbs.mkdir(exist_ok=True)
    for p in paths:
        im = ImageOps.exif_transpose(Image.open(p)).convert("RGB")
        thumb = im.copy()
        thumb.thumbnail((384, 384))
        thumb.save(thumbs / p.name, quality=85)
        with torch.inference_mode():
            emb.model.encode_image(emb.preprocess(im).unsqueeze(0))
