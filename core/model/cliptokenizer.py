"""CLIP's BPE tokenizer (open_clip's SimpleTokenizer) as a `tokenizers` file, so that text is
tokenized without open_clip, which imports torch. Built from the tokenizer's own vocabulary and
merges (they ship in open_clip's wheel); the cleaning stays in Python (runtime.CLEANERS)."""

from __future__ import annotations

from pathlib import Path

# SimpleTokenizer's pattern after its special tokens, applied case-blind as it does
WORDS = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def is_simple_tokenizer(tok) -> bool:
    """open_clip's CLIP tokenizer in its plain mode (no reduction of long texts)."""
    return (type(tok).__name__ == "SimpleTokenizer" and hasattr(tok, "bpe_ranks")
            and getattr(tok, "reduction_fn", None) is None)


def save_clip_tokenizer(tok, path: Path) -> Path:
    """Write `tok` (a SimpleTokenizer) as a `tokenizers` JSON file at `path`."""
    import re

    from tokenizers import Regex, Tokenizer, pre_tokenizers, processors
    from tokenizers.models import BPE

    merges = sorted(tok.bpe_ranks, key=tok.bpe_ranks.get)
    model = BPE(vocab=dict(tok.encoder), merges=[tuple(m) for m in merges],
                end_of_word_suffix="</w>", continuing_subword_prefix="", fuse_unk=False)
    out = Tokenizer(model)
    specials = [tok.decoder[i] for i in tok.all_special_ids]
    special = "|".join(re.escape(t) for t in specials)
    out.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(f"(?i){special}|{WORDS}"), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    sot, eot = tok.decoder[tok.sot_token_id], tok.decoder[tok.eot_token_id]
    out.post_processor = processors.TemplateProcessing(
        single=f"{sot} $A {eot}", special_tokens=[(sot, tok.sot_token_id),
                                                  (eot, tok.eot_token_id)])
    out.add_special_tokens(specials)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(str(path))
    return path
