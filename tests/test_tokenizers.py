"""The light tokenizer (core/model/tokens.py, on the `tokenizers` library alone) gives the same token
ids as open_clip's own, on texts in many languages and scripts: a text search without torch
finds what one with torch finds."""

from __future__ import annotations

import random

import numpy as np
import pytest

PHRASES = [
    "a photo of a dog", "our family at the beach last summer", "INVOICE 4471", "receipt",
    "Snow on the mountains at sunset, seen from a small wooden cabin window!",
    "it's the cat's toy, isn't it? we'll see, they'd know, I'm sure, you've got it",
    "fête à Paris", "Straße in München", "Ærø og Øresund", "crème brûlée", "naïve café",
    "İstanbul'da Şişli", "Ελληνικά γράμματα ΚΑΛΗΜΕΡΑ", "Привет, мир! Москва 2019",
    "日本語のテキスト 東京タワー", "我的猫在沙发上睡觉", "한국어 문장 서울", "नमस्ते दुनिया",
    "مرحبا بالعالم", "שלום עולם", "ภาษาไทย กรุงเทพ", "Tiếng Việt có dấu", "ქართული ენა",
    "emoji 😀🐶🐱 🎉 party", "👨‍👩‍👧 family", "tab\tand\nnewline   and  spaces",
    "&amp; &lt;html&gt; &quot;entities&quot;", "under_score and hy-phen and dot.ted",
    "3.14159 and 1,000,000 and #42 @home 100%", "C'EST LA VIE", "DON'T STOP",
    "mixed CaSe WoRdS", "a" * 90, "word " * 40, "ﬁ ligature and ½ fractions ①②③",
    "Zürich, Genève, Lugano", "São Paulo e Brasília", "Kraków i Łódź",
]


def texts(n: int = 400) -> list[str]:
    """PHRASES, and pairs of them shuffled, cased and punctuated at random (seeded)."""
    rnd = random.Random(17)
    out = list(PHRASES)
    marks = ["", "!", "?", "...", ",", " - ", "'s", "’s", "(", ")", "\"", "  "]
    while len(out) < n:
        a, b = rnd.sample(PHRASES, 2)
        text = f"{a}{rnd.choice(marks)} {b}{rnd.choice(marks)}"
        text = {0: str.upper, 1: str.title, 2: str.lower}.get(rnd.randrange(4), str)(text)
        out.append(text)
    return out


@pytest.mark.parametrize("clean", ["lower", "canonicalize", "whitespace"])
@pytest.mark.parametrize("context_length", [77, 16])
def test_clips_bpe_without_torch_gives_open_clips_ids(tmp_path, clean, context_length):
    """Built from the vocabulary the app ships (resources/clip/), not open_clip's."""
    from open_clip.tokenizer import SimpleTokenizer

    from core.model.tokens import LightTokenizer, save_clip_tokenizer

    theirs = SimpleTokenizer(context_length=context_length, clean=clean)
    path = save_clip_tokenizer(tmp_path / "clip-tokenizer.json")
    ours = LightTokenizer(str(path), context_length, clean, pad_id=0)
    sample = texts()
    want, got = theirs(sample).numpy(), ours(sample)
    differ = [t for t, a, b in zip(sample, want, got, strict=True) if not np.array_equal(a, b)]
    assert not differ, differ[:5]
    assert (got[:, 0] == theirs.sot_token_id).all()


# Gemma's own file (SigLIP 2's) cannot be fetched here: a tokenizer of the same kind, made with
# `tokenizers`, in each way a folder may say its special tokens and padding
@pytest.mark.parametrize("template, config", [
    ("$A <eos>", {}),  # as SigLIP 2's: the end token added, padded on the right
    ("$A <eos>", {"padding_side": None}),  # Gemma's class pads on the left unless told
    ("<bos> $A", {"add_bos_token": True, "add_eos_token": False}),
    ("<bos> $A <eos>", {"padding_side": "left"}),
    (None, {"add_eos_token": True}),  # flags without a post-processor: transformers adds none
], ids=["eos-right", "eos-class-default", "bos", "both-left", "flags-only"])
@pytest.mark.parametrize("clean", ["canonicalize", "whitespace"])
def test_a_models_own_tokenizer_without_transformers_gives_open_clips_ids(tmp_path, template,
                                                                           config, clean):
    from hf_tokenizer import gemma_like
    from open_clip.tokenizer import HFTokenizer

    from core.model.tokens import LightTokenizer, save_hf_tokenizer

    folder = gemma_like(tmp_path / "tok", texts(), template=template, **config)
    info = save_hf_tokenizer(folder, tmp_path / "ours.json")
    theirs = HFTokenizer(str(folder), context_length=64, clean=clean)
    ours = LightTokenizer(str(tmp_path / "ours.json"), 64, clean, info["pad_id"],
                          pad_left=info["pad_left"])
    sample = texts()
    want, got = theirs(sample).numpy(), ours(sample)
    differ = [t for t, a, b in zip(sample, want, got, strict=True) if not np.array_equal(a, b)]
    assert not differ, differ[:5]
