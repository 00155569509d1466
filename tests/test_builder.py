"""The towers built without torch from a model's weights file (core/model/builder.py) mean what
torch's mean: the same vectors (cosine >= 0.9999) on real pictures and texts in four languages,
for each family the builder covers, the same ranking for a trained model, and a meaning check
that passes a model that means something and stops one that does not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY_CONFIG, TINY_CUSTOM_TEXT_CONFIG, save_local_dir
from PIL import Image

TEXTS = ["a photo of a dog", "our family at the beach last summer", "receipt from IKEA",
         "ein Hund am Strand", "una foto de un gato", "東京タワーの夜景", "Anna in Lisbon",
         "snow on the mountains at sunset, seen from a small wooden cabin window"]
SIGLIP_CONFIG = {
    "embed_dim": 768, "init_logit_bias": -10, "custom_text": True,
    "vision_cfg": {"image_size": 256, "timm_model_name": "vit_base_patch32_siglip_256",
                   "timm_model_pretrained": False, "timm_pool": "map", "timm_proj": "none"},
    "text_cfg": {"context_length": 64, "vocab_size": 1024, "hf_tokenizer_name": "test/gemma",
                 "tokenizer_kwargs": {"clean": "canonicalize"}, "width": 768, "heads": 12,
                 "layers": 2, "no_causal_mask": True, "proj_bias": True, "pool_type": "last",
                 "norm_kwargs": {"eps": 1e-6}, "act_kwargs": {"approximate": "tanh"}}}
SIGLIP_PREPROCESS = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                     "interpolation": "bicubic", "resize_mode": "squash"}


def real_pictures() -> list[Image.Image]:
    """Photographs that ship in packages: an astronaut, a cup of coffee, a cat, a rocket, and
    Grace Hopper."""
    import matplotlib.cbook
    from skimage import data

    out = [Image.fromarray(f()) for f in (data.astronaut, data.coffee, data.chelsea, data.rocket)]
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        out.append(Image.open(f).convert("RGB"))
    return out


def random_model(folder: Path, config: dict, preprocess: dict | None = None, seed: int = 0):
    """An open_clip model with random weights (moved off their initial values, so that no
    layer's scale or bias is a trivial one) saved as a model folder; the torch model."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    kind = open_clip.CustomTextCLIP if config.get("custom_text") else open_clip.CLIP
    model = kind(**{k: v for k, v in config.items() if k != "custom_text"}).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    save_local_dir(model, config, folder)
    if preprocess is not None:
        cfg = json.loads((folder / "open_clip_config.json").read_text())
        cfg["preprocess_cfg"] = preprocess
        (folder / "open_clip_config.json").write_text(json.dumps(cfg))
    return model


def built(folder: Path, runtime: Path):
    """The built towers as the library opens them (a LightEmbedder), image tower in fp32."""
    from core.model.builder import build
    from core.model.exported import open_light

    spec = f"local-dir:{folder}"
    build(spec, folder, runtime, check=False)
    light = open_light(spec, runtime, 2, lambda: pytest.fail("the full model was loaded"))
    assert light is not None
    return light


def torch_side(folder: Path):
    import open_clip

    spec = f"local-dir:{folder}"
    model, _, preprocess = open_clip.create_model_and_transforms(spec)
    return model.eval(), preprocess, open_clip.get_tokenizer(spec)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(1)


def check_agreement(folder: Path, runtime: Path):
    import torch

    light = built(folder, runtime)
    model, preprocess, tokenizer = torch_side(folder)
    pictures = real_pictures()
    ours = light.prepare(pictures[0])  # the light preprocessing gives torch's tensor
    assert np.abs(ours - preprocess(pictures[0]).numpy()).max() < 1e-4
    with torch.inference_mode():
        want_i = model.encode_image(torch.stack([preprocess(p) for p in pictures])).numpy()
        want_t = model.encode_text(tokenizer(TEXTS)).numpy()
    got_i, got_t = light.encode_images(pictures), light.encode_text(TEXTS)
    assert cosines(got_i, want_i).min() >= 0.9999, cosines(got_i, want_i)
    assert cosines(got_t, want_t).min() >= 0.9999, cosines(got_t, want_t)
    assert not light.full_loaded


@pytest.mark.parametrize("config", [TINY_CONFIG, TINY_CUSTOM_TEXT_CONFIG],
                         ids=["clip", "clip-custom-text"])
def test_clip_towers_built_without_torch_agree_with_torch(tmp_path, config):
    random_model(tmp_path / "model", config)
    check_agreement(tmp_path / "model", tmp_path / "runtime")


def test_a_quick_gelu_clip_vit_at_its_own_sizes_agrees_with_torch(tmp_path):
    config = {"embed_dim": 48, "quick_gelu": True,
              "vision_cfg": {"image_size": 48, "layers": 3, "width": 96, "patch_size": 12,
                             "head_width": 32},
              "text_cfg": {"context_length": 20, "vocab_size": 49408, "width": 48, "heads": 3,
                           "layers": 2}}
    random_model(tmp_path / "model", config,
                 {"mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3], "interpolation": "bilinear",
                  "resize_mode": "shortest"})
    check_agreement(tmp_path / "model", tmp_path / "runtime")


def test_siglip_towers_built_without_torch_agree_with_torch(tmp_path):
    """SigLIP 2 B/32's image tower (timm's ViT, attention pooling, tanh GELU) at full size,
    with SigLIP's text tower (no causal mask, last position, projection with bias) kept small,
    and a Gemma-like tokenizer."""
    from hf_tokenizer import gemma_like
    from test_tokenizers import texts

    folder = tmp_path / "model"
    random_model(folder, SIGLIP_CONFIG, SIGLIP_PREPROCESS)
    gemma_like(folder, texts() + TEXTS, vocab=1000)
    check_agreement(folder, tmp_path / "runtime")


def test_the_token_table_stays_in_the_weights_file(tmp_path, random_model_folder):
    runtime = tmp_path / "runtime"
    light = built(random_model_folder, runtime)
    light.encode_text(["a red square"])
    manifest = json.loads(next(runtime.glob("text-*.json")).read_text())
    assert manifest["embed"]["path"] == str(random_model_folder / "open_clip_model.safetensors")
    assert not list(runtime.glob("*.npy"))  # no copy of the table beside the towers


@pytest.fixture
def random_model_folder(tmp_path) -> Path:
    folder = tmp_path / "random"
    random_model(folder, TINY_CONFIG)
    return folder


def test_the_trained_model_built_without_torch_ranks_as_torch_does(tmp_path, vit_model_spec):
    import torch
    from helpers import draw_photo
    from ranking_model import CLASSES

    folder = Path(vit_model_spec[len("local-dir:"):])
    light = built(folder, tmp_path / "runtime")
    model, preprocess, tokenizer = torch_side(folder)
    pictures = [draw_photo(c, s, (160, 120), seed=900 + i) for i, (c, s) in enumerate(CLASSES)]
    pictures += [draw_photo(c, s, (120, 160), seed=950 + i) for i, (c, s) in enumerate(CLASSES)]
    queries = [f"a {c} {s}" for c, s in CLASSES]
    with torch.inference_mode():
        want_i = model.encode_image(torch.stack([preprocess(p) for p in pictures])).numpy()
        want_t = model.encode_text(tokenizer(queries)).numpy()
    want_i /= np.linalg.norm(want_i, axis=1, keepdims=True)  # as the library keeps them
    got_i, got_t = light.encode_images(pictures), light.encode_text(queries)
    for q in range(len(queries)):
        want = np.argsort(-(want_t[q] @ want_i.T))[:5]
        got = np.argsort(-(got_t[q] @ got_i.T))[:5]
        assert list(got) == list(want), queries[q]


def shapes_pairs():
    from helpers import draw_photo

    kinds = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "stripe"),
             ("purple", "circle")]
    return [(draw_photo(c, s, (160, 120), seed=70 + i), f"a {c} {s}")
            for i, (c, s) in enumerate(kinds)]


def test_the_meaning_check_passes_a_model_that_means_what_it_says(tmp_path, vit_model_spec):
    from core.model.meaning import misread

    light = built(Path(vit_model_spec[len("local-dir:"):]), tmp_path / "runtime")
    assert misread(light.encode_images, light.encode_text, shapes_pairs()) == []


def test_the_meaning_check_stops_random_weights(tmp_path, random_model_folder):
    from core.model.meaning import misread

    light = built(random_model_folder, tmp_path / "runtime")
    assert misread(light.encode_images, light.encode_text, shapes_pairs())
    assert misread(light.encode_images, light.encode_text)  # the shipped pictures too


def test_a_model_that_fails_the_check_is_never_used(tmp_path, random_model_folder):
    from core.model.builder import build
    from core.model.exported import open_light
    from core.types import ModelUnavailable

    runtime, spec = tmp_path / "runtime", f"local-dir:{random_model_folder}"
    with pytest.raises(ModelUnavailable, match="not used"):
        build(spec, random_model_folder, runtime, check=True)
    assert not list(runtime.glob("text-*.json")) and not list(runtime.glob("*.xml"))
    assert open_light(spec, runtime, 2, lambda: None) is None


def test_a_family_the_builder_does_not_cover_says_which_part(tmp_path, trained_model):
    from core.model.builder import buildable

    folder = Path(trained_model[len("local-dir:"):])  # a ResNet image tower
    assert buildable(folder) == "its image tower is a ResNet"
    shutil.copytree(folder, tmp_path / "m")
    weights = tmp_path / "m" / "open_clip_model.safetensors"
    with open(weights, "r+b") as f:  # a download cut in half
        f.truncate(weights.stat().st_size // 2)
    assert "is cut short or damaged" in buildable(tmp_path / "m")
    weights.write_bytes(b"\xff" * 64)
    assert buildable(tmp_path / "m") == "open_clip_model.safetensors is not a safetensors file"


def test_without_torch_an_uncovered_model_says_it_needs_the_full_installation(
        tmp_path, trained_model, monkeypatch):
    from core.model import light
    from core.types import ModelUnavailable

    monkeypatch.setattr(light, "torch_installed", lambda: False)
    with pytest.raises(ModelUnavailable, match="needs the full installation"):
        light.open_or_build(trained_model, tmp_path / "runtime", 2, lambda: None)


def test_an_idle_library_lets_the_image_tower_go_and_compiles_it_again(tmp_path, vit_model_spec):
    from helpers import draw_photo

    from core.library import Library
    from core.types import Query

    (tmp_path / "Pictures").mkdir()
    for i, (c, s) in enumerate([("red", "circle"), ("blue", "square"), ("green", "triangle")]):
        draw_photo(c, s, (200, 150), seed=i).save(tmp_path / "Pictures" / f"{c}_{s}.jpg")
    with Library(tmp_path / "home", model=vit_model_spec) as lib:
        lib.add_folder(tmp_path / "Pictures")
        lib.update()
        emb = lib.embedder
        assert emb._image is not None  # indexing compiled it
        assert lib.lighten() is False  # nothing to swap: already light...
        assert emb._image is None and lib.embedder is emb  # ...but the image tower rests
        found = lib.search(Query(images=[(tmp_path / "Pictures" / "blue_square.jpg", 1.0)], k=1))
        assert found[0].path.endswith("blue_square.jpg") and not emb.full_loaded


@pytest.mark.parametrize("failure", [OSError(24, "Too many open files"), MemoryError(),
                                     RuntimeError("std::bad_alloc: out of memory")],
                         ids=["open-files", "memory", "runtime-memory"])
def test_running_out_of_something_is_not_taken_for_damage(tmp_path, random_model_folder,
                                                          monkeypatch, failure):
    """A tower that cannot be read for want of memory or file handles is left as it is: its
    files are whole, and the next start uses them."""
    from core.thirdparty import openvino  # its telemetry kept out before it is imported

    light = built(random_model_folder, tmp_path / "runtime")
    manifest = next((tmp_path / "runtime").glob("text-*.json"))

    def read_model(self, *a, **k):
        raise failure

    monkeypatch.setattr(openvino().Core, "read_model", read_model)
    assert light._damaged("text") is False and light._damaged("image") is False
    assert manifest.exists()
