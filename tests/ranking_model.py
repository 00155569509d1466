"""A tiny open_clip model trained on synthetic pictures, so tests can prove ranking by meaning.

Pictures are coloured shapes (6 colours x 4 shapes) drawn on varied light backgrounds; captions
say what they show in a few phrasings. The image tower is a tiny ModifiedResNet (it learns shapes
far faster on a CPU than a tiny ViT), the text tower a 2-layer transformer. The result is saved as
a `local-dir:` folder and cached under tests/.cache, keyed by a hash of this file, so it is
trained once per change of this code. See docs/TEST_MODEL.md.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from pathlib import Path

from helpers import COLOURS, draw_photo, save_local_dir

SHAPES = ("circle", "square", "triangle", "stripe")
CLASSES = [(c, s) for c in COLOURS for s in SHAPES]
TEMPLATES = ("a {c} {s}", "a photo of a {c} {s}", "{c} {s}", "a {s} in {c}", "the {c} {s}")
CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 16, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
}
CACHE = Path(__file__).resolve().parent / ".cache"
STEPS = int(os.environ.get("SNAPSEEK_TEST_MODEL_STEPS", "500"))


def code_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes() + str(STEPS).encode()).hexdigest()[:16]


def caption(colour: str, shape: str, rnd: random.Random) -> str:
    return rnd.choice(TEMPLATES).format(c=colour, s=shape)


def train(folder: Path, seed: int = 0) -> None:
    import open_clip
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    rnd = random.Random(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = open_clip.CLIP(**CONFIG)
    save_local_dir(model, CONFIG, folder)  # writes the config; weights again after training
    _, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")

    # a pool of pictures, each drawn at a photo-like aspect and put through the model's own
    # preprocessing, exactly as indexing will
    pool, labels = [], []
    for i in range(2400):
        cls = i % len(CLASSES)
        colour, shape = CLASSES[cls]
        size = rnd.choice([(160, 120), (120, 160), (144, 144), (200, 150)])
        pool.append(preprocess(draw_photo(colour, shape, size, seed=10_000 + i)))
        labels.append(cls)
    images = torch.stack(pool)
    labels = torch.tensor(labels)

    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=STEPS, pct_start=0.1)
    model.train()
    batch = 96
    for _ in range(STEPS):
        idx = torch.randint(0, len(images), (batch,))
        y = labels[idx]
        texts = tokenizer([caption(*CLASSES[int(c)], rnd) for c in y])
        img = F.normalize(model.encode_image(images[idx]), dim=-1)
        txt = F.normalize(model.encode_text(texts), dim=-1)
        logits = model.logit_scale.exp() * img @ txt.T
        # same class counts as a match: soft targets instead of false negatives
        target = (y[:, None] == y[None, :]).float()
        target = target / target.sum(1, keepdim=True)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, 4.6)
    model.eval()
    save_local_dir(model, CONFIG, folder)


def ranking_model() -> str:
    """The trained model as a `local-dir:` spec, trained on first use and cached."""
    folder = CACHE / f"ranking-model-{code_hash()}"
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
    print(ranking_model(), f"{time.time() - t:.1f}s")
