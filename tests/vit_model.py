"""A tiny trained model of a family the tower builder covers (core/model/family.py): open_clip's
own VisionTransformer with CLIP's text tower, so that the towers built without torch are shown
to rank by meaning as torch does, and the meaning check to pass where it should.

The text tower is the ranking model's (tests/ranking_model.py), frozen; only a tiny ViT (2
blocks, 64 wide, 8-pixel patches of a 64-pixel picture) learns to meet it, on the same coloured
shapes. Cached under tests/.cache, keyed by this file's and the ranking model's code."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from pathlib import Path

from helpers import draw_photo, save_local_dir
from ranking_model import CACHE, CLASSES, caption, ranking_model
from ranking_model import CONFIG as RANKING_CONFIG
from ranking_model import code_hash as ranking_hash

STEPS = int(os.environ.get("SNAPSEEK_VIT_MODEL_STEPS", "400"))
CONFIG = {"embed_dim": RANKING_CONFIG["embed_dim"],
          "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 8,
                         "head_width": 16},
          "text_cfg": RANKING_CONFIG["text_cfg"]}


def code_hash() -> str:
    mine = Path(__file__).read_bytes() + str(STEPS).encode() + ranking_hash().encode()
    return hashlib.sha256(mine).hexdigest()[:16]


def train(folder: Path, seed: int = 0) -> None:
    import open_clip
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file

    torch.manual_seed(seed)
    rnd = random.Random(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = open_clip.CLIP(**CONFIG)
    ranking = Path(ranking_model()[len("local-dir:"):])
    trained = load_file(str(ranking / "open_clip_model.safetensors"))
    model.load_state_dict({k: v for k, v in trained.items() if not k.startswith("visual.")},
                          strict=False)
    save_local_dir(model, CONFIG, folder)
    _, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    pool, labels = [], []
    for i in range(1800):
        cls = i % len(CLASSES)
        size = rnd.choice([(160, 120), (120, 160), (144, 144), (200, 150)])
        pool.append(preprocess(draw_photo(*CLASSES[cls], size, seed=20_000 + i)))
        labels.append(cls)
    images, labels = torch.stack(pool), torch.tensor(labels)
    with torch.no_grad():  # the frozen text tower's vector of every phrasing of every class
        texts = F.normalize(model.encode_text(tokenizer(
            [caption(*c, random.Random(k)) for c in CLASSES for k in range(6)])), dim=-1)
        class_text = F.normalize(texts.view(len(CLASSES), 6, -1).mean(1), dim=-1)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.visual.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(model.visual.parameters(), lr=3e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=STEPS,
                                                pct_start=0.1)
    model.train()
    for _ in range(STEPS):
        idx = torch.randint(0, len(images), (96,))
        img = F.normalize(model.encode_image(images[idx]), dim=-1)
        loss = F.cross_entropy(20.0 * img @ class_text.T, labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    save_local_dir(model, CONFIG, folder)


def vit_model() -> str:
    """The trained model as a `local-dir:` spec, trained on first use and cached."""
    folder = CACHE / f"vit-model-{code_hash()}"
    if not (folder / "open_clip_model.safetensors").exists():
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        train(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    return f"local-dir:{folder}"


if __name__ == "__main__":
    import time

    t = time.time()
    print(vit_model(), f"{time.time() - t:.1f}s")
