"""Which model a folder holds, read from open_clip's own `open_clip_config.json` and the
tensors of its weights file: the families the tower builder covers, at any width, depth or
patch size, and one line for a family it does not.

Covered:
- open_clip's VisionTransformer (a class token, `ln_post`, a projection) with CLIP's text
  tower (causal mask, the end-of-text token's position pooled): CLIP B/32 LAION and DataComp;
- timm's ViT with attention (or average) pooling and no class token, SigLIP's (the trunk of
  open_clip's TimmModel), with SigLIP's text tower (no causal mask, the last position pooled,
  a linear projection with bias): SigLIP 2 B/32 and B/16."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.model.weightsfile import WeightsFile

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
# timm's SigLIP ViTs: heads by size, and those whose blocks use tanh's GELU (timm's own
# definitions, timm/models/vision_transformer.py)
_TIMM_SIGLIP = re.compile(r"^vit_(tiny|small|medium|base|large|so400m|huge|giant|giantopt)"
                          r"_patch(\d+)_siglip(_gap)?_(\d+)$")
_TIMM_HEADS = {"tiny": 3, "small": 6, "medium": 8, "base": 12, "large": 16, "so400m": 16,
               "huge": 16, "giant": 16, "giantopt": 16}
_TIMM_TANH = {"vit_base_patch32_siglip_256", "vit_large_patch16_siglip_512",
              "vit_so400m_patch16_siglip_256", "vit_so400m_patch16_siglip_384",
              "vit_so400m_patch16_siglip_512", "vit_giantopt_patch16_siglip_256",
              "vit_giantopt_patch16_siglip_384", "vit_base_patch32_siglip_gap_256",
              "vit_large_patch16_siglip_gap_512", "vit_so400m_patch16_siglip_gap_256",
              "vit_so400m_patch16_siglip_gap_384", "vit_so400m_patch16_siglip_gap_512",
              "vit_giantopt_patch16_siglip_gap_256", "vit_giantopt_patch16_siglip_gap_384"}


class NotCovered(ValueError):
    """A model the tower builder does not build; the message says which part, in one line."""


@dataclass(frozen=True)
class Encoder:
    """A stack of pre-norm transformer blocks, as its tensors are named in the file."""

    prefix: str    # up to the block number: "visual.transformer.resblocks."
    layers: int
    width: int
    heads: int
    eps: float
    act: str       # GELU "erf" or "tanh", or "quick" (x·σ(1.702x))
    naming: str    # "open_clip" (ln_1, attn.in_proj_weight ...) or "timm" (norm1, attn.qkv ...)
    causal: bool = False


@dataclass(frozen=True)
class Vision:
    kind: str      # "open_clip" or "timm"
    prefix: str    # "visual." or "visual.trunk."
    image_size: int
    patch: int
    encoder: Encoder
    pool: str      # "tok" (class token), "map" (attention pooling) or "avg"


@dataclass(frozen=True)
class Text:
    kind: str      # "clip" or "siglip"
    prefix: str    # "" (CLIP keeps its text tower at the top) or "text."
    context_length: int
    vocab: int
    encoder: Encoder
    pool: str      # "argmax" (the end-of-text token) or "last"
    hf_tokenizer: str | None  # the hub repo of a Hugging Face tokenizer; None: CLIP's BPE
    clean: str     # open_clip's cleaning of a text before it is tokenized
    strip_sep: bool = False


@dataclass(frozen=True)
class Architecture:
    vision: Vision
    text: Text
    embed_dim: int
    preprocess: list  # the steps of exported.light_preprocess


def read(config: dict, weights: WeightsFile) -> Architecture:
    """The architecture of a model folder; NotCovered in one line where the builder cannot."""
    cfg = config.get("model_cfg") or config
    vision_cfg, text_cfg = cfg.get("vision_cfg") or {}, cfg.get("text_cfg") or {}
    if text_cfg.get("hf_model_name"):
        raise NotCovered(f"its text tower is the Hugging Face model {text_cfg['hf_model_name']}")
    quick = bool(cfg.get("quick_gelu"))
    if vision_cfg.get("timm_model_name"):
        vision = _timm_vision(vision_cfg, weights)
    else:
        vision = _open_clip_vision(vision_cfg, weights, quick)
    text = _text(text_cfg, weights, quick, siglip=vision.kind == "timm")
    return Architecture(vision, text, int(cfg.get("embed_dim") or 0),
                        preprocess_steps(config.get("preprocess_cfg") or {}, vision.image_size))


def _act(cfg: dict, quick: bool) -> str:
    if quick:
        return "quick"
    return "tanh" if (cfg.get("act_kwargs") or {}).get("approximate") == "tanh" else "erf"


def _eps(cfg: dict, default: float) -> float:
    return float((cfg.get("norm_kwargs") or {}).get("eps", default))


def _layers(weights: WeightsFile, prefix: str) -> int:
    numbers = {int(m.group(1)) for n in weights.names(prefix)
               if (m := re.match(re.escape(prefix) + r"(\d+)\.", n))}
    if not numbers or numbers != set(range(len(numbers))):
        raise NotCovered(f"no transformer blocks under {prefix}")
    return len(numbers)


def _need(weights: WeightsFile, *names: str) -> None:
    missing = [n for n in names if n not in weights]
    if missing:
        raise NotCovered(f"the weights lack {', '.join(missing[:3])}")


def _open_clip_vision(cfg: dict, weights: WeightsFile, quick: bool) -> Vision:
    if isinstance(cfg.get("layers"), (list, tuple)):
        raise NotCovered("its image tower is a ResNet")
    if cfg.get("attentional_pool") or cfg.get("pool_type", "tok") != "tok":
        raise NotCovered("its image tower pools otherwise than by its class token")
    _need(weights, "visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding",
          "visual.ln_post.weight", "visual.proj")
    width, _, patch, _ = weights.shape("visual.conv1.weight")
    size = cfg.get("image_size", 224)
    size = int(size[0] if isinstance(size, (list, tuple)) else size)
    heads = width // int(cfg.get("head_width", 64))
    prefix = "visual.transformer.resblocks."
    enc = Encoder(prefix, _layers(weights, prefix), width, heads, _eps(cfg, 1e-5),
                  _act(cfg, quick), "open_clip")
    return Vision("open_clip", "visual.", size, patch, enc, "tok")


def _timm_vision(cfg: dict, weights: WeightsFile) -> Vision:
    name = cfg["timm_model_name"]
    m = _TIMM_SIGLIP.match(name)
    if not m:
        raise NotCovered(f"its image tower is timm's {name}")
    pool = cfg.get("timm_pool", "map")
    if pool not in ("map", "avg") or (pool == "map") == bool(m.group(3)):
        raise NotCovered(f"timm's {name} with pooling {pool!r}")
    if cfg.get("timm_proj", "none") not in ("none", None, "linear"):
        raise NotCovered(f"timm's {name} with the projection {cfg['timm_proj']!r}")
    p = "visual.trunk."
    _need(weights, p + "patch_embed.proj.weight", p + "pos_embed", p + "norm.weight")
    if pool == "map":
        _need(weights, p + "attn_pool.latent", p + "attn_pool.q.weight", p + "attn_pool.kv.weight")
    width, _, patch, _ = weights.shape(p + "patch_embed.proj.weight")
    heads = _TIMM_HEADS[m.group(1)]
    enc = Encoder(p + "blocks.", _layers(weights, p + "blocks."), width, heads, 1e-6,
                  "tanh" if name in _TIMM_TANH else "erf", "timm")
    size = cfg.get("image_size", int(m.group(4)))
    size = int(size[0] if isinstance(size, (list, tuple)) else size)
    return Vision("timm", p, size, patch, enc, pool)


def _text(cfg: dict, weights: WeightsFile, quick: bool, siglip: bool) -> Text:
    prefix = "text." if "text.token_embedding.weight" in weights else ""
    _need(weights, prefix + "token_embedding.weight", prefix + "positional_embedding",
          prefix + "ln_final.weight")
    if cfg.get("embed_cls") or prefix + "cls_emb" in weights:
        raise NotCovered("its text tower has a class token")
    pool = cfg.get("pool_type", "argmax")
    if pool not in ("argmax", "last"):
        raise NotCovered(f"its text tower pools by {pool!r}")
    vocab, width = weights.shape(prefix + "token_embedding.weight")
    context = weights.shape(prefix + "positional_embedding")[0]
    heads = int(cfg.get("heads", 8))
    if width % heads:
        raise NotCovered(f"a text width of {width} does not split into {heads} heads")
    layers = prefix + "transformer.resblocks."
    enc = Encoder(layers, _layers(weights, layers), width, heads, _eps(cfg, 1e-5),
                  _act(cfg, quick), "open_clip", causal=not cfg.get("no_causal_mask", False))
    kwargs = cfg.get("tokenizer_kwargs") or {}
    hf = cfg.get("hf_tokenizer_name") or None
    clean = kwargs.get("clean", "whitespace" if hf else "lower")
    if clean not in ("canonicalize", "lower", "whitespace"):
        raise NotCovered(f"its tokenizer cleans text by {clean!r}")
    if cfg.get("tokenizer_mode"):
        raise NotCovered(f"its tokenizer's mode {cfg['tokenizer_mode']!r}")
    return Text("siglip" if siglip else "clip", prefix, int(cfg.get("context_length", context)),
                vocab, enc, pool, hf, clean, bool(kwargs.get("strip_sep_token")))


def preprocess_steps(cfg: dict, size: int) -> list:
    """open_clip's inference transform for this config, as the light preprocessing's steps."""
    mode = cfg.get("resize_mode", "shortest")
    interp = cfg.get("interpolation", "bicubic")
    if interp not in ("bicubic", "bilinear", "nearest", "lanczos", "box", "hamming"):
        raise NotCovered(f"its pictures are resized by {interp!r}")
    size_cfg = cfg.get("size", size)
    if isinstance(size_cfg, (list, tuple)) and size_cfg[0] != size_cfg[-1]:
        raise NotCovered("its pictures are not square")
    if mode == "squash":
        steps = [["resize", [size, size], interp]]
    elif mode == "shortest":
        steps = [["resize", size, interp], ["crop", [size, size]]]
    else:
        raise NotCovered(f"its pictures are resized by {mode!r}")
    mean = list(cfg.get("mean") or OPENAI_MEAN)
    std = list(cfg.get("std") or OPENAI_STD)
    return steps + [["convert", "RGB"], ["tensor"], ["normalize", mean, std]]
