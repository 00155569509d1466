"""The light tokenizer (core/model/runtime.py, on the `tokenizers` library alone) gives the same token
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
    from open_clip.tokenizer import SimpleTokenizer

    from core.model.cliptokenizer import is_simple_tokenizer, save_clip_tokenizer
    from core.model.runtime import LightTokenizer

    theirs = SimpleTokenizer(context_length=context_length, clean=clean)
    assert is_simple_tokenizer(theirs)
    path = save_clip_tokenizer(theirs, tmp_path / "clip-tokenizer.json")
    ours = LightTokenizer(str(path), context_length, clean, pad_id=0)
    sample = texts()
    want, got = theirs(sample).numpy(), ours(sample)
    differ = [t for t, a, b in zip(sample, want, got, strict=True) if not np.array_equal(a, b)]
    assert not differ, differ[:5]
    assert (got[:, 0] == theirs.sot_token_id).all()


def test_siglip2s_gemma_tokenizer_without_torch_gives_open_clips_ids(tmp_path):
    """Needs a copy of SigLIP 2's tokenizer on this computer (the Hugging Face cache)."""
    repo = "timm/ViT-B-32-SigLIP2-256"
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(repo, allow_patterns=["tokenizer*", "special_tokens_map.json"],
                                   local_files_only=True)
        from open_clip.tokenizer import HFTokenizer

        theirs = HFTokenizer(folder, context_length=64, clean="canonicalize")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"SigLIP 2's Gemma tokenizer ({repo} on the Hugging Face hub) cannot be "
                    f"fetched here and no local copy exists ({type(exc).__name__})")
    from core.model.runtime import LightTokenizer

    path = tmp_path / "gemma.json"
    theirs.tokenizer.backend_tokenizer.save(str(path))
    ours = LightTokenizer(str(path), 64, "canonicalize", theirs.tokenizer.pad_token_id)
    sample = texts()
    assert np.array_equal(ours(sample), theirs(sample).numpy())
