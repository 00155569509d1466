"""open_clip's torch towers made faster without changing their vectors: the text tower cut at
its last token and in bf16 where it agrees, MobileCLIP's branches fused, the device chosen."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
BF16_MIN_COSINE = 0.995
PROBE_TEXTS = ["a photo of a dog", "our family at the beach last summer", "receipt",
               "snow on the mountains at sunset, seen from a small wooden cabin window"]


def text_tower_to_bf16(model, tokenizer, device: str) -> str:
    """Run the text tower in bf16 when it agrees with fp32 (cosine ≥ 0.995 on probe texts).

    A one-token query is bound by reading the weights, so halving their size halves its time.
    Image vectors, the ones stored, stay fp32. Returns the precision in use.
    """
    import torch

    tower = getattr(model, "text", None)  # CustomTextCLIP (MobileCLIP, ...) keeps it apart
    truncated = supports_truncation(model)
    if tower is None and not truncated:
        return "fp32"

    def encode(tokens):
        out = encode_text_truncated(model, tokens) if truncated else model.encode_text(tokens)
        return torch.nn.functional.normalize(out.float(), dim=-1)

    if tower is not None:
        modules = [tower]
    else:
        modules = [model.token_embedding, model.transformer, model.ln_final]
        if isinstance(model.text_projection, torch.nn.Linear):
            modules.append(model.text_projection)
    # references to the fp32 tensors, so a refusal restores them exactly rather than rounded
    saved = [dict(m.state_dict()) for m in modules]
    loose = {} if tower is not None else {
        "positional_embedding": model.positional_embedding.data, "attn_mask": model.attn_mask,
        "text_projection": None if isinstance(model.text_projection, torch.nn.Linear)
        or model.text_projection is None else model.text_projection.data}

    def cast_loose(values):
        model.positional_embedding.data = values["positional_embedding"]
        model.attn_mask = values["attn_mask"]
        if values["text_projection"] is not None:
            model.text_projection.data = values["text_projection"]

    with torch.inference_mode():
        tokens = tokenizer(PROBE_TEXTS).to(device)
        reference = encode(tokens)
        for m in modules:
            m.to(torch.bfloat16)
        if loose:
            cast_loose({k: None if v is None else v.to(torch.bfloat16) for k, v in loose.items()})
        cosine = float((reference * encode(tokens)).sum(-1).min())
        if cosine >= BF16_MIN_COSINE:
            return "bf16"
        for m, state in zip(modules, saved, strict=True):  # keep exactness where bf16 disagrees
            m.to(torch.float32)
            m.load_state_dict(state)
        if loose:
            cast_loose(loose)
    log.info("bf16 text tower disagrees with fp32 (cosine %.4f): staying fp32", cosine)
    return "fp32"


def is_convnet(visual) -> bool:
    """Many convolutions (MobileCLIP, ResNets), not a ViT's single patch embedding."""
    import torch

    return sum(isinstance(m, torch.nn.Conv2d) for m in visual.modules()) >= 10


def reparameterize(model) -> None:
    """Fuse MobileCLIP's train-time branches (timm); several times faster at inference."""
    try:
        from timm.utils.model import reparameterize_model
    except ImportError:
        return
    if any(hasattr(m, "reparameterize") for m in model.modules()):
        reparameterize_model(model, inplace=True)


def supports_truncation(model) -> bool:
    return (
        hasattr(model, "token_embedding")
        and getattr(model, "attn_mask", None) is not None
        and getattr(model, "text_pool_type", "argmax") in ("argmax", "eos")
    )


def encode_text_truncated(model, tokens):
    """CLIP's text tower run only up to the last real token.

    Exact: with the causal mask, position i never attends past i, so the padding after the
    pooled token cannot change it.
    """
    import torch
    from open_clip.transformer import text_global_pool

    if model.text_pool_type == "eos":
        pooled_at = (tokens == model.text_eos_id).int().argmax(dim=-1)
    else:
        pooled_at = tokens.argmax(dim=-1)
    n = int(pooled_at.max().item()) + 1
    tokens = tokens[:, :n]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:n].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:n, :n])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type,
                         eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        if isinstance(model.text_projection, torch.nn.Linear):
            x = model.text_projection(x)
        else:
            x = x @ model.text_projection
    return x


def pick_device(preference: str = "auto") -> str:
    import torch

    if preference and preference != "auto":
        return preference
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"
