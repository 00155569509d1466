"""A Hugging Face tokenizer folder of the kind SigLIP 2 ships (Gemma's: a byte-fallback BPE over
"▁"-joined words), trained here with the `tokenizers` library on a few texts, since Gemma's own
file cannot be fetched in the tests."""

from __future__ import annotations

import json
from pathlib import Path

SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]


def gemma_like(folder: Path, texts: list[str], vocab: int = 800, template: str | None = "$A <eos>",
               **config) -> Path:
    """tokenizer.json and tokenizer_config.json in `folder`, as transformers saves them: the
    special tokens it adds are the tokenizer.json's post-processor (`template`; None: none);
    `config` overrides tokenizer_config.json's fields (padding_side ...)."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_previous")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                     decoders.Fuse()])
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=SPECIALS + byte_tokens,
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer)
    if template:
        specials = [t for t in SPECIALS if t in template.split()]
        tok.post_processor = processors.TemplateProcessing(
            single=template, pair=f"{template} $B:1",
            special_tokens=[(t, tok.token_to_id(t)) for t in specials])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    settings = {"tokenizer_class": "GemmaTokenizer", "bos_token": "<bos>", "eos_token": "<eos>",
                "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>",
                "add_bos_token": False, "add_eos_token": True, "padding_side": "right",
                "model_max_length": 64}
    settings.update(config)
    settings = {k: v for k, v in settings.items() if v is not None}
    (folder / "tokenizer_config.json").write_text(json.dumps(settings))
    return folder
