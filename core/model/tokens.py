"""Text to token ids without torch or transformers, as open_clip gives them: its cleaning, in
its order, then the `tokenizers` library on a tokenizer file with the special tokens added as
the model's own tokenizer adds them.

Two kinds: CLIP's BPE (open_clip's SimpleTokenizer, rebuilt from its vocabulary, which ships in
resources/clip/ under open_clip's MIT licence), and a model's own `tokenizer.json` (SigLIP 2's
Gemma, XLM-R ...), read with its `tokenizer_config.json` as transformers reads it: the
beginning and end tokens it is told to add, the side it pads on and the pad token."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np

from core.paths import resource

CLIP_VOCAB = "clip/bpe_simple_vocab_16e6.txt.gz"
CLIP_SPECIALS = ("<start_of_text>", "<end_of_text>")
# SimpleTokenizer's pattern after its special tokens, applied case-blind as it does
WORDS = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
# transformers' tokenizers that pad on the left unless told otherwise (their class default)
PADS_LEFT = ("GemmaTokenizer", "GemmaTokenizerFast", "LlamaTokenizer", "LlamaTokenizerFast",
             "CodeLlamaTokenizer", "CodeLlamaTokenizerFast")


# -- open_clip's cleaning ---------------------------------------------------------------------
def _canonicalize(text: str) -> str:
    """open_clip's 'canonicalize' cleaning (lower case, no punctuation), without torch."""
    import string

    text = text.replace("_", " ").translate(str.maketrans("", "", string.punctuation)).lower()
    return " ".join(text.split()).strip()


def _basic_clean(text: str) -> str:
    import html

    import ftfy

    return html.unescape(html.unescape(ftfy.fix_text(text))).strip()


CLEANERS = {
    "canonicalize": lambda t: _canonicalize(_basic_clean(t)),
    "lower": lambda t: " ".join(_basic_clean(t).split()).lower(),
    "whitespace": lambda t: " ".join(_basic_clean(t).split()),
}


class LightTokenizer:
    """open_clip's tokenizer (CLIP's, or HFTokenizer in its standard mode) on the `tokenizers`
    library alone. Token ids as int64 numpy arrays, padded to the context length."""

    def __init__(self, tokenizer_json: str, context_length: int, clean: str, pad_id: int,
                 sep_id: int | None = None, pad_left: bool = False):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(tokenizer_json)
        self._tok.no_padding()
        self._tok.enable_truncation(context_length)
        self.context_length, self.pad_id, self.sep_id = context_length, pad_id, sep_id
        self.pad_left = pad_left
        self._clean = CLEANERS[clean]

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.full((len(texts), self.context_length), self.pad_id, np.int64)
        for row, enc in zip(out, self._tok.encode_batch([self._clean(t) for t in texts]),
                            strict=True):
            if self.pad_left:
                row[self.context_length - len(enc.ids):] = enc.ids
            else:
                row[:len(enc.ids)] = enc.ids
        if self.sep_id is not None:
            out[out == self.sep_id] = 0
        return out


# -- CLIP's BPE -------------------------------------------------------------------------------
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's (and SimpleTokenizer's) map of bytes to printable characters."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def clip_vocabulary(vocab_gz: str | Path | None = None) -> tuple[dict[str, int], list[tuple]]:
    """SimpleTokenizer's encoder and merges, built as it builds them from its vocabulary."""
    path = Path(vocab_gz) if vocab_gz else resource(CLIP_VOCAB)
    lines = gzip.open(path).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    vocab = list(_bytes_to_unicode().values())
    vocab += [v + "</w>" for v in vocab] + ["".join(m) for m in merges] + list(CLIP_SPECIALS)
    return dict(zip(vocab, range(len(vocab)), strict=True)), merges


def save_clip_tokenizer(path: Path, vocab_gz: str | Path | None = None) -> Path:
    """CLIP's BPE as a `tokenizers` JSON file at `path`: start and end of text around the ids,
    the same ids SimpleTokenizer gives once the text is cleaned."""
    from tokenizers import Regex, Tokenizer, pre_tokenizers, processors
    from tokenizers.models import BPE

    encoder, merges = clip_vocabulary(vocab_gz)
    out = Tokenizer(BPE(vocab=encoder, merges=merges, end_of_word_suffix="</w>",
                        continuing_subword_prefix="", fuse_unk=False))
    special = "|".join(re.escape(t) for t in CLIP_SPECIALS)
    out.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(f"(?i){special}|{WORDS}"), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    sot, eot = CLIP_SPECIALS
    out.post_processor = processors.TemplateProcessing(
        single=f"{sot} $A {eot}", special_tokens=[(sot, encoder[sot]), (eot, encoder[eot])])
    out.add_special_tokens(list(CLIP_SPECIALS))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(str(path))
    return path


# -- a model's own tokenizer.json -------------------------------------------------------------
class TokenizerError(ValueError):
    """A tokenizer folder that cannot be read; the message says why, in one line."""


def _token_text(value) -> str | None:
    return value.get("content") if isinstance(value, dict) else value


def save_hf_tokenizer(folder: Path, path: Path) -> dict:
    """The folder's tokenizer.json saved at `path` for LightTokenizer, and what it needs beside
    it: {"pad_id", "pad_left"}.

    As transformers reads a folder that holds a tokenizer.json: the special tokens are the ones
    its own post-processor adds (transformers writes the beginning and end tokens it is told to
    add there, and ignores tokenizer_config.json's add_bos_token / add_eos_token beside it); the
    pad token and the side it pads on come from tokenizer_config.json, the side by the
    tokenizer class's default where the file does not say (Gemma's and Llama's: the left)."""
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as exc:  # noqa: BLE001 - the tokenizers library raises its own kinds
        raise TokenizerError(f"{folder / 'tokenizer.json'} cannot be read ({exc})") from exc
    config = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):  # the latter wins
        try:
            config.update(json.loads((folder / name).read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            raise TokenizerError(f"{folder / name} cannot be read ({exc})") from exc
    pad = _token_text(config.get("pad_token"))
    pad_id = tok.token_to_id(pad) if pad else None
    side = config.get("padding_side") or (
        "left" if config.get("tokenizer_class") in PADS_LEFT else "right")
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))
    return {"pad_id": 0 if pad_id is None else int(pad_id), "pad_left": side == "left"}
