"""A CLI that answers in a second: commands that need no model never import torch, and a text
search runs on the exported text tower (OpenVINO + the `tokenizers` library), not torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["a", "photo", "of", "dog", "beach"]  # the stand-in tokenizer's vocabulary
# SigLIP 2's shape in miniature: its own Hugging Face tokenizer, no causal mask, last-token pool
HF_CONFIG = {
    "embed_dim": 32, "custom_text": True,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 8, "width": 32, "heads": 2, "layers": 1,
                 "hf_tokenizer_name": "stand-in", "tokenizer_kwargs": {"clean": "canonicalize"},
                 "no_causal_mask": True, "pool_type": "last", "proj_bias": True},
}


@pytest.fixture(scope="module")
def hf_model(tmp_path_factory) -> str:
    from helpers import make_random_model

    from benchmarks.data import stand_in_tokenizer

    folder = tmp_path_factory.mktemp("m") / "tiny-hf"
    spec = make_random_model(folder, seed=11, config=HF_CONFIG)
    stand_in_tokenizer(folder)
    return spec


def three_pictures(folder: Path) -> Path:
    from helpers import draw_photo

    folder.mkdir(parents=True)
    for i, (c, s) in enumerate([("red", "circle"), ("blue", "square"), ("green", "stripe")]):
        draw_photo(c, s, seed=i).save(folder / f"{c}-{s}.jpg")
    return folder


@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory, hf_model):

    from core.library import Library

    base = tmp_path_factory.mktemp("lib")
    pictures = three_pictures(base / "Pictures")
    with Library(base / "home", model=hf_model) as lib:
        lib.add_folder(pictures)
        lib.update()
    return base / "home"


def run_cli(home: Path, *args: str) -> tuple[dict, str]:
    """`snapseek ARGS` in a fresh interpreter: what it printed and which heavy modules it
    imported."""
    code = ("import json, sys\nfrom core.cli import main\ncode = main(sys.argv[1:])\n"
            "print(json.dumps({'code': code, 'mods': [m for m in ('torch', 'open_clip', "
            "'transformers', 'torchvision', 'timm') if m in sys.modules]}), file=sys.stderr)\n")
    env = {**os.environ, "SNAPSEEK_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


@pytest.mark.parametrize("args", [["status"], ["people"], ["search", "--after", "2000"],
                                  ["search", "--kind", "photo", "--json"]])
def test_commands_without_a_model_never_import_torch(indexed_home, args):
    got, out = run_cli(indexed_home, *args)
    assert got["code"] == 0 and got["mods"] == [], (args, got)
    if args[0] == "search":
        assert "red-circle" in out


def test_info_never_imports_torch(indexed_home):
    photo = next((indexed_home.parent / "Pictures").glob("*.jpg"))
    got, out = run_cli(indexed_home, "info", str(photo))
    assert got["mods"] == [] and photo.name in out


def test_a_text_search_loads_neither_torch_nor_the_image_tower(indexed_home):
    got, out = run_cli(indexed_home, "search", "photo of a dog", "--all", "--json")
    assert got["code"] == 0 and got["mods"] == []
    assert len(json.loads(out)) == 3
    assert list((indexed_home / "runtime").glob("text-*.json"))


def test_the_light_text_vectors_equal_torch(hf_model, tmp_path, monkeypatch):
    from helpers import draw_photo

    from core.model import runtime
    from core.model.embedder import Embedder
    from core.model.exported import LightEmbedder

    reference = torch_fp32(hf_model, monkeypatch)
    texts = ["a photo of a dog", "Dog!", "beach", "a photo of a beach " * 5, "zebra"]
    want = reference.encode_text(texts)
    for bf16 in (False, True):
        if bf16 and not runtime.cpu_has_bf16():
            continue
        monkeypatch.setattr(runtime, "cpu_has_bf16", lambda v=bf16: v)
        cache = tmp_path / f"bf16-{bf16}"
        full = Embedder.load(hf_model, device="cpu", runtime_cache=cache)  # exports
        light = Embedder.load(hf_model, device="cpu", runtime_cache=cache)
        assert isinstance(light, LightEmbedder) and not light.full_loaded
        assert light.model_id == full.model_id and light.dim == full.dim
        got = light.encode_text(texts)
        assert float((got * want).sum(1).min()) >= (0.999 if bf16 else 0.9999)
        assert not light.full_loaded  # text alone: the full model never loaded
        images = light.encode_images([draw_photo()])  # the image tower was exported too
        assert not light.full_loaded and images.shape == (1, full.dim)
        assert light.model is not None and light.full_loaded  # the rest: the full model


def test_other_weights_under_the_same_name_are_not_trusted(hf_model, tmp_path, monkeypatch):
    """Towers made from other weights are never used: the towers are built again from the
    weights the model has now."""
    from core.model import builder
    from core.model.embedder import Embedder
    from core.model.exported import LightEmbedder, manifest_path

    first = Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)
    manifest = next(tmp_path.glob("text-*.json"))
    data = json.loads(manifest.read_text())
    assert data["embed"] and "embeds" in data["inputs"]  # the token table apart, memory-mapped
    real = data["fingerprint"]
    data["fingerprint"] = "0" * 16  # as if the weights file had been replaced
    manifest.write_text(json.dumps(data))
    builds = []
    monkeypatch.setattr(builder, "build", lambda *a, **k: builds.append(a) or real_build(*a, **k))
    again = Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)
    assert isinstance(again, LightEmbedder) and len(builds) == 1
    assert manifest_path(tmp_path, again.spec) == manifest
    assert json.loads(manifest.read_text())["fingerprint"] == real
    assert np.allclose(again.encode_text(["a dog"]), first.encode_text(["a dog"]), atol=1e-5)


real_build = __import__("core.model.builder", fromlist=["build"]).build


def test_snapseek_runtime_torch_never_takes_the_light_path(hf_model, tmp_path, monkeypatch):
    from core.model.embedder import Embedder
    from core.model.exported import LightEmbedder

    Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)
    monkeypatch.setenv("SNAPSEEK_RUNTIME", "torch")
    assert not isinstance(Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path),
                          LightEmbedder)


def test_an_image_search_loads_only_the_exported_image_tower(indexed_home):
    photo = indexed_home.parent / "Pictures" / "blue-square.jpg"
    got, out = run_cli(indexed_home, "search", "--image", str(photo), "-k", "3", "--json")
    assert got["code"] == 0 and got["mods"] == []
    results = json.loads(out)
    assert results[0]["path"].endswith("blue-square.jpg") and results[0]["score"] > 0.99


def test_light_image_vectors_equal_the_full_embedders(hf_model, tmp_path):
    from helpers import draw_photo

    from core.model.embedder import Embedder
    from core.model.exported import LightEmbedder

    pictures = [draw_photo(c, s, (300 + 37 * i, 211), seed=i) for i, (c, s) in
                enumerate([("red", "circle"), ("blue", "square"), ("green", "stripe")])]
    full = Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)
    want = full.encode_images(pictures)  # exports the image tower, named in the manifest
    light = Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)
    assert isinstance(light, LightEmbedder)
    got = light.encode_images(pictures)
    assert light.image_runtime == full.image_runtime and not light.full_loaded
    assert float((got * want).sum(1).min()) >= 0.9999
    # prepared apart (in the indexing pipeline's decode threads): the same arrays, vectors
    ready = [light.prepare(p) for p in pictures]
    assert not light.full_loaded
    assert all(np.abs(a - full.prepare(p)).max() < 1e-4 for a, p in zip(ready, pictures,
                                                                         strict=True))
    assert np.array_equal(light.encode_images(ready), got)


def test_a_first_run_lets_the_torch_model_go_once_its_towers_are_exported(trained_model,
                                                                          tmp_path):
    """A model the builder does not cover (a ResNet image tower) loads whole on a first run to
    export it; idle, the library answers from the exported towers and the torch model is freed
    (a first session must not keep ~1.8 GB)."""
    hf_model = trained_model
    import gc
    import weakref

    from helpers import draw_photo

    from core.library import Library
    from core.model.exported import LightEmbedder
    from core.types import Query

    pictures = three_pictures(tmp_path / "Pictures")
    with Library(tmp_path / "home", model=hf_model) as lib:
        lib.add_folder(pictures)
        assert lib.lighten() is False  # nothing loaded yet
        lib.update()
        full = lib.embedder
        assert not isinstance(full, LightEmbedder)  # the first run: whole, exporting
        before = [r.path for r in lib.search(Query.text("photo of a dog", k=3))]
        model = weakref.ref(full.model)
        del full
        assert lib.lighten() is True
        gc.collect()
        assert model() is None, "the torch model is still held"
        light = lib.embedder
        assert isinstance(light, LightEmbedder) and not light.full_loaded
        assert [r.path for r in lib.search(Query.text("photo of a dog", k=3))] == before
        draw_photo("red", "square", seed=9).save(pictures / "new.jpg")
        lib.update()  # new photos are embedded by the exported image tower
        assert not light.full_loaded and lib.status()["indexed_count"] == 4
        assert lib.lighten() is False  # already light


def a_light_library(base: Path, spec: str) -> list[str]:
    """A library at base/home of three pictures, indexed and answering from its exported
    towers; what a text search finds there."""
    from core.library import Library
    from core.types import Query

    with Library(base / "home", model=spec) as lib:
        lib.add_folder(three_pictures(base / "Pictures"))
        lib.update()
        assert lib.lighten() is True
        return [r.path for r in lib.search(Query.text("photo of a dog", k=3))]


def test_a_library_whose_tower_fell_back_lets_the_torch_model_go_again_when_idle(
        trained_model, tmp_path):
    """A damaged tower made the full model answer (and export the towers again): idle, the
    library lets it go as after a first run, instead of holding it until the app restarts."""
    from core.library import Library
    from core.model.exported import LightEmbedder
    from core.types import Query

    before = a_light_library(tmp_path, trained_model)
    runtime = tmp_path / "home" / "runtime"
    xml = runtime / json.loads(next(runtime.glob("text-*.json")).read_text())["xml"]
    xml.write_text(xml.read_text()[:300])  # cut short
    with Library(tmp_path / "home") as lib:
        assert [r.path for r in lib.search(Query.text("photo of a dog", k=3))] == before
        assert lib.embedder.full_loaded  # the full model answered
        assert lib.lighten() is True
        light = lib.embedder
        assert isinstance(light, LightEmbedder) and not light.full_loaded
        assert [r.path for r in lib.search(Query.text("photo of a dog", k=3))] == before
        assert not light.full_loaded


def test_a_tower_that_will_not_compile_keeps_the_full_model_answering(trained_model, tmp_path,
                                                                      monkeypatch):
    """A whole tower this OpenVINO cannot compile is not exported again: the full model answers
    and stays, rather than being let go when idle and loaded again at the next search."""
    import openvino  # after core: with its telemetry off (core/thirdparty.py)

    from core.library import Library
    from core.types import Query

    before = a_light_library(tmp_path, trained_model)
    manifest = next((tmp_path / "home" / "runtime").glob("text-*.json"))
    text_xml = json.loads(manifest.read_text())["xml"]
    compile_model = openvino.Core.compile_model

    def refused(self, model, *a, **kw):
        if str(model).endswith(text_xml):
            raise RuntimeError("Exception from src/inference/src/cpp/core.cpp:132:\nan "
                               "operation this version cannot compile")
        return compile_model(self, model, *a, **kw)

    monkeypatch.setattr(openvino.Core, "compile_model", refused)
    with Library(tmp_path / "home") as lib:
        assert [r.path for r in lib.search(Query.text("photo of a dog", k=3))] == before
        emb = lib.embedder
        assert emb.full_loaded and manifest.exists()  # whole files: not exported again
        assert lib.lighten() is False and lib.embedder is emb


def test_a_model_folder_with_clips_tokenizer_searches_without_torch_from_the_first_search(
        tmp_path, random_model):
    """A local-dir: model with CLIP's BPE, in a home made before its towers were: the first
    search builds them from the weights, and no search imports torch."""
    import shutil

    pictures = three_pictures(tmp_path / "Pictures")
    home = tmp_path / "home"
    got, _ = run_cli(home, "index", str(pictures), "--model", random_model, "--no-faces")
    assert got["code"] == 0 and got["mods"] == []
    shutil.rmtree(home / "runtime")  # as a home indexed before the towers were made
    for args in (["red circle"], ["red circle"], ["--image", str(pictures / "red-circle.jpg")]):
        again, out = run_cli(home, "search", *args, "-k", "3", "--json")
        assert again["mods"] == [], (args, again)
        assert json.loads(out)[0]["path"].endswith("red-circle.jpg") or args[0] != "--image"


def torch_fp32(hf_model: str, monkeypatch):
    """The model on torch in full precision: what every exported tower is held to."""
    from core.model.embedder import Embedder

    monkeypatch.setenv("SNAPSEEK_RUNTIME", "torch")
    try:
        return Embedder.load(hf_model, device="cpu", text_precision="fp32")
    finally:
        monkeypatch.delenv("SNAPSEEK_RUNTIME")


@pytest.mark.parametrize("tower", ["text", "image"])
def test_a_damaged_built_tower_is_built_again_without_torch(hf_model, tmp_path, monkeypatch,
                                                            caplog, tower):
    """A tower the builder made whose files no longer read (cut short by a full disk, changed
    by another program) never fails a search, and needs no torch: it is built again at once."""
    from helpers import draw_photo

    from core.model import runtime
    from core.model.embedder import Embedder
    from core.model.exported import LightEmbedder

    def ask(emb):
        return (emb.encode_text(["a photo of a dog"]) if tower == "text"
                else emb.encode_images([draw_photo()]))

    want = ask(torch_fp32(hf_model, monkeypatch))
    close = 0.999 if runtime.cpu_has_bf16() else 0.9999
    light = Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)  # builds
    assert isinstance(light, LightEmbedder)
    manifest = json.loads(next(tmp_path.glob("text-*.json")).read_text())
    xml = tmp_path / manifest["xml" if tower == "text" else "image_xml"]
    xml.write_text(xml.read_text()[:300])  # cut short
    assert float((ask(light) * want).sum()) > close
    assert not light.full_loaded and f"the {tower} tower was damaged" in caplog.text
    assert "<" in xml.read_text()[-20:]  # whole again
    again = Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)
    assert float((ask(again) * want).sum()) > close and not again.full_loaded


@pytest.mark.parametrize("tower", ["text", "image"])
def test_a_damaged_export_answers_from_the_full_model_and_is_made_again(
        trained_model, tmp_path, monkeypatch, caplog, tower):
    """A tower exported from torch (a family the builder does not cover) whose files no longer
    read never fails a search: the full model answers, and the towers are exported again."""
    hf_model = trained_model
    from helpers import draw_photo

    from core.model import runtime
    from core.model.embedder import Embedder
    from core.model.exported import LightEmbedder

    def ask(emb):
        return (emb.encode_text(["a photo of a dog"]) if tower == "text"
                else emb.encode_images([draw_photo()]))

    want = ask(torch_fp32(hf_model, monkeypatch))
    close = 0.999 if runtime.cpu_has_bf16() else 0.9999
    Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)  # exports
    light = Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)
    assert isinstance(light, LightEmbedder)
    manifest = json.loads(next(tmp_path.glob("text-*.json")).read_text())
    xml = tmp_path / manifest["xml" if tower == "text" else "image_xml"]
    xml.write_text(xml.read_text()[:300])  # cut short
    assert float((ask(light) * want).sum()) > close
    assert light.full_loaded and f"{tower} tower is damaged" in caplog.text
    # the full model that answered exports the text tower again; an image tower that failed
    # is exported by the next load's full model (runtime.fast_image_tower)
    for _ in range(1 if tower == "text" else 2):
        light = Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)
        assert float((ask(light) * want).sum()) > close
    assert isinstance(light, LightEmbedder) and not light.full_loaded


def test_a_home_where_the_compiled_cache_cannot_be_made_still_answers_from_the_towers(
        hf_model, tmp_path, monkeypatch):
    """OpenVINO fails a compile whose cache folder cannot be made (a read-only home: a backup,
    a mounted snapshot): the towers are compiled without it, and nothing is exported again."""
    import openvino  # after core: with its telemetry off (core/thirdparty.py)
    from helpers import draw_photo

    from core.model.embedder import Embedder
    from core.model.exported import LightEmbedder

    Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)  # exports
    manifest = next(tmp_path.glob("text-*.json"))
    compile_model = openvino.Core.compile_model

    def read_only(self, model, device=None, config=None, **kw):  # OpenVINO's error, word for word
        if config and "CACHE_DIR" in config:
            raise RuntimeError("Exception from src/inference/src/cpp/core.cpp:132:\nCouldn't "
                               f"create directory [{config['CACHE_DIR']}], err=Read-only file "
                               "system)")
        return compile_model(self, model, device, config, **kw)

    monkeypatch.setattr(openvino.Core, "compile_model", read_only)
    light = Embedder.load(hf_model, device="cpu", runtime_cache=tmp_path)
    assert isinstance(light, LightEmbedder)
    assert light.encode_text(["a photo of a dog"]).shape == (1, light.dim)
    assert light.encode_images([draw_photo()]).shape == (1, light.dim)
    assert not light.full_loaded and manifest.exists()
