"""A tiny bilingual test model: the ranking model's pictures, captions in English, Spanish and
German, and a Hugging Face tokenizer of its own kept in the model folder (as SigLIP 2 keeps its
Gemma tokenizer), so tests prove the multilingual plumbing offline.

The image tower is the trained one of tests/ranking_model.py, frozen: only a new text tower
(2 layers, a byte-level BPE vocabulary trained on the captions) learns to meet it, which takes
seconds instead of minutes. Saved as a `local-dir:` folder under tests/.cache, keyed by a hash of
this file and of the ranking model's, like the ranking model.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from pathlib import Path

from helpers import draw_photo, save_local_dir
from ranking_model import CACHE, CLASSES, TEMPLATES, ranking_model
from ranking_model import CONFIG as RANKING_CONFIG
from ranking_model import code_hash as ranking_hash

STEPS = int(os.environ.get("SNAPSEEK_BILINGUAL_STEPS", "250"))
VOCAB = 600
SPECIALS = ("<pad>", "<unk>", "</s>")
# Spanish: (masculine, feminine) colour words; shapes with their gender
ES_COLOURS = {"red": ("rojo", "roja"), "green": ("verde", "verde"), "blue": ("azul", "azul"),
              "yellow": ("amarillo", "amarilla"), "purple": ("morado", "morada"),
              "orange": ("naranja", "naranja")}
ES_SHAPES = {"circle": ("círculo", "m"), "square": ("cuadrado", "m"),
             "triangle": ("triángulo", "m"), "stripe": ("franja", "f")}
ES_TEMPLATES = ("{un} {s} {c}", "una foto de {un} {s} {c}", "{s} {c}", "{el} {s} {c}")
# German: colour stems; shapes with their gender (m: "ein roter Kreis", n: "ein rotes Quadrat")
DE_COLOURS = {"red": "rot", "green": "grün", "blue": "blau", "yellow": "gelb", "purple": "lila",
              "orange": "orange"}
DE_SHAPES = {"circle": ("Kreis", "m"), "square": ("Quadrat", "n"),
             "triangle": ("Dreieck", "n"), "stripe": ("Streifen", "m")}
DE_TEMPLATES = ("ein {strong} {s}", "ein Foto: ein {strong} {s}", "{strong} {s}",
                "{der} {weak} {s}")


def code_hash() -> str:
    own = Path(__file__).read_bytes() + str(STEPS).encode() + ranking_hash().encode()
    return hashlib.sha256(own).hexdigest()[:16]


def caption(colour: str, shape: str, language: str, rnd: random.Random) -> str:
    """A caption in one language: "a red circle", "un círculo rojo", "ein roter Kreis"."""
    if language == "es":
        noun, gender = ES_SHAPES[shape]
        c = ES_COLOURS[colour][gender == "f"]
        un, el = ("una", "la") if gender == "f" else ("un", "el")
        return rnd.choice(ES_TEMPLATES).format(un=un, el=el, s=noun, c=c)
    if language == "de":
        noun, gender = DE_SHAPES[shape]
        stem = DE_COLOURS[colour]
        inflects = stem != "lila"
        strong = stem + ({"m": "er", "n": "es"}[gender] if inflects else "")
        weak = stem + ("e" if inflects else "")
        return rnd.choice(DE_TEMPLATES).format(strong=strong, weak=weak, s=noun,
                                               der={"m": "der", "n": "das"}[gender])
    return rnd.choice(TEMPLATES).format(c=colour, s=shape)


def all_captions() -> list[str]:
    rnd = random.Random(1)
    return [caption(c, s, lang, rnd) for _ in range(20) for c, s in CLASSES
            for lang in ("en", "es", "de")]


def train_tokenizer(folder: Path):
    """A byte-level BPE tokenizer trained on the captions: any text (accents, 海辺の犬) encodes."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=list(SPECIALS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([t.lower() for t in all_captions()], trainer)
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>",
                                                       special_tokens=[("</s>", eos)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                                   eos_token="</s>")
    fast.save_pretrained(str(folder))
    return fast


def config(tokenizer) -> dict:
    text = {**RANKING_CONFIG["text_cfg"], "vocab_size": len(tokenizer),
            # any name marks an HF tokenizer; open_clip reads it from the local-dir folder
            "hf_tokenizer_name": "snapseek-tests/bilingual", "tokenizer_kwargs": {"clean": "lower"},
            "pool_type": "eos", "eos_id": tokenizer.eos_token_id,
            "pad_id": tokenizer.pad_token_id}
    return {**RANKING_CONFIG, "text_cfg": text}


def train(folder: Path, seed: int = 0) -> None:
    import open_clip
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file

    torch.manual_seed(seed)
    rnd = random.Random(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(folder)
    cfg = config(tokenizer)
    model = open_clip.CLIP(**cfg)
    ranking = Path(ranking_model()[len("local-dir:"):])
    trained = load_file(str(ranking / "open_clip_model.safetensors"))
    model.load_state_dict({k: v for k, v in trained.items() if k.startswith("visual.")},
                          strict=False)
    save_local_dir(model, cfg, folder)
    _, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    tok = open_clip.get_tokenizer(f"local-dir:{folder}")

    # the frozen image tower's vectors for a pool of pictures, computed once
    pool, labels = [], []
    for i in range(960):
        colour, shape = CLASSES[i % len(CLASSES)]
        size = rnd.choice([(160, 120), (120, 160), (144, 144), (200, 150)])
        pool.append(preprocess(draw_photo(colour, shape, size, seed=20_000 + i)))
        labels.append(i % len(CLASSES))
    model.eval()
    with torch.no_grad():
        images = F.normalize(torch.cat([model.encode_image(torch.stack(pool[i:i + 120]))
                                        for i in range(0, len(pool), 120)]), dim=-1)
    labels = torch.tensor(labels)

    for p in model.visual.parameters():
        p.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=3e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=STEPS, pct_start=0.1)
    model.train()
    batch = 96
    for _ in range(STEPS):
        idx = torch.randint(0, len(images), (batch,))
        y = labels[idx]
        texts = tok([caption(*CLASSES[int(c)], rnd.choice(("en", "es", "de")), rnd) for c in y])
        txt = F.normalize(model.encode_text(texts), dim=-1)
        logits = model.logit_scale.exp() * images[idx] @ txt.T
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
    save_local_dir(model, cfg, folder)


def bilingual_model() -> str:
    """The trained model as a `local-dir:` spec, trained on first use and cached."""
    folder = CACHE / f"bilingual-model-{code_hash()}"
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
    print(bilingual_model(), f"{time.time() - t:.1f}s")
