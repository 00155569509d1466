"""Offered models: the open-licence default and its rule, `snapseek models`, libraries keeping
their model, tokenizers read offline from the model's own files, and queries in any language."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from helpers import make_photo, run_cli
from ranking_model import CLASSES

from core.model.offered import MODELS

MOBILECLIP = "MobileCLIP2-S2:dfndr2b"


# -- the table and the default ----------------------------------------------------------------
def test_default_is_the_open_licence_model_the_rule_picks():
    from core.model.embedder import DEFAULT_MODEL
    from core.model.offered import MIN_PHOTOS_PER_S, MODELS, choose_default, offered

    default = offered(DEFAULT_MODEL)
    assert default is not None and default.open
    assert default.licence in ("Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "CC-BY-4.0")
    assert len(default.indexing_runs) == 3 and min(default.indexing_runs) >= MIN_PHOTOS_PER_S
    assert choose_default(MODELS) == DEFAULT_MODEL
    mobileclip = offered(MOBILECLIP)
    assert mobileclip is not None and not mobileclip.open
    assert mobileclip.licence == "Apple-AMLR"
    assert "sole purpose" in mobileclip.licence_first_sentence
    # every published number says where it was published
    for m in MODELS:
        assert (m.coco_t2i_r1 is None) == (m.coco_source is None), m.spec
        assert bool(m.xm3600_recall) == bool(m.xm3600_source), m.spec
        assert m.languages in ("English", "multilingual")


def test_the_rule_prefers_open_then_multilingual_then_quality():
    from core.model.offered import OfferedModel, choose_default

    def model(spec, licence, languages, r1, runs):
        return OfferedModel(spec, spec, licence, "", languages, 100, r1, "src" if r1 else None,
                            indexing_runs=runs)

    research = model("fast:research", "Apple-AMLR", "English", 60.0, (30.0, 30.0, 30.0))
    english = model("english:mit", "MIT", "English", 45.0, (12.0, 11.0, 13.0))
    worse = model("worse:mit", "MIT", "English", 40.0, (20.0, 20.0, 20.0))
    multi = model("multi:apache", "Apache-2.0", "multilingual", 42.0, (9.0, 8.5, 10.0))
    assert choose_default([research, english, worse]) == "english:mit"  # never the research one
    assert choose_default([research, english, worse, multi]) == "multi:apache"
    # one slow run is enough to miss the bar: a default must clear it every time
    slow_once = replace(multi, indexing_runs=(9.0, 7.9, 10.0))
    assert choose_default([english, slow_once]) == "english:mit"
    with pytest.raises(ValueError):
        choose_default([research])


def test_models_command_lists_every_model_and_the_default(tmp_path):
    from core.model.offered import DEFAULT_MODEL, MODELS

    out = json.loads(run_cli("models", "--json", home=tmp_path / "home").stdout)
    assert out["default"] == DEFAULT_MODEL
    rows = {r["spec"]: r for r in out["models"]}
    assert list(rows) == [m.spec for m in MODELS]
    assert [s for s, r in rows.items() if r["default"]] == [DEFAULT_MODEL]
    for r in rows.values():
        for key in ("name", "licence", "open", "languages", "size_mb", "coco_t2i_r1",
                    "xm3600_recall", "photos_per_s", "indexing_runs"):
            assert key in r
    assert rows[MOBILECLIP]["licence"] == "Apple-AMLR" and rows[MOBILECLIP]["open"] is False
    assert rows[DEFAULT_MODEL]["open"] is True and rows[DEFAULT_MODEL]["photos_per_s"] >= 8
    assert not (tmp_path / "home").exists()  # lists models without making a library

    text = run_cli("models", home=tmp_path / "home").stdout
    assert f"* {DEFAULT_MODEL}" in text and "Apple-AMLR (not an open licence)" in text


def test_a_library_made_with_mobileclip_keeps_it(tmp_path, random_model):
    from core.library import Library
    from core.model.embedder import DEFAULT_MODEL
    from core.store import Catalog

    assert DEFAULT_MODEL != MOBILECLIP
    home = tmp_path / "home"
    Library(home).close()  # a library as an earlier version made it...
    catalog = Catalog(home / "catalog.db")
    catalog.set_meta("model", MOBILECLIP)  # ...with the default of its day
    catalog.close()
    lib = Library(home)
    assert lib.model_spec == MOBILECLIP  # the stored model wins over the new default
    lib.close()
    fresh = Library(tmp_path / "new")
    assert fresh.model_spec == DEFAULT_MODEL
    fresh.close()
    chosen = Library(home, model=random_model)  # only an explicit choice changes it
    assert chosen.model_spec == random_model
    chosen.close()


# -- tokenizers from the model's own files, offline -------------------------------------------
@pytest.fixture(scope="session")
def bilingual() -> str:
    from bilingual_model import bilingual_model

    return bilingual_model()


def test_hf_tokenizer_loads_from_the_model_folder_offline(bilingual, tmp_path):
    from core.model.embedder import Embedder
    from core.types import ModelUnavailable

    emb = Embedder.load(bilingual, device="cpu")  # the network is blocked (conftest)
    assert type(emb.tokenizer).__name__ == "HFTokenizer"
    vectors = emb.encode_text(["un círculo rojo", "ein roter Kreis", "海辺の犬", "Ærø ÿ ñ"])
    assert vectors.shape == (4, emb.dim)
    # a folder without its tokenizer files: one clear line, not a transformers traceback
    broken = tmp_path / "no-tokenizer"
    shutil.copytree(bilingual[len("local-dir:"):], broken)
    for f in broken.glob("tokenizer*"):
        f.unlink()
    with pytest.raises(ModelUnavailable, match="tokenizer files"):
        Embedder.load(f"local-dir:{broken}", device="cpu")


def test_hub_tokenizer_is_read_from_the_cache_without_the_network(bilingual, tmp_path,
                                                                  monkeypatch):
    """A NAME:TAG model whose tokenizer lives on the hub (SigLIP 2's Gemma): once downloaded it
    loads from the cache; not downloaded with downloads off, it says so in one line."""
    from huggingface_hub import constants

    from core.model.offered import ModelSpec
    from core.model.sources import tokenizer as load_tokenizer
    from core.types import ModelUnavailable

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    spec = ModelSpec.parse("ViT-B-32-SigLIP2-256:webli")
    with pytest.raises(ModelUnavailable, match="not on this computer and downloads are off"):
        load_tokenizer(spec, allow_download=False)  # nothing downloaded
    # the hub cache as a download of the weights leaves it: the same repo, no tokenizer yet
    repo = tmp_path / "hub" / "models--timm--ViT-B-32-SigLIP2-256"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    (snapshot / "open_clip_pytorch_model.bin").write_bytes(b"weights")
    with pytest.raises(ModelUnavailable, match="not on this computer and downloads are off"):
        load_tokenizer(spec, allow_download=False)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(f"{bilingual[len('local-dir:'):]}/{f}", snapshot / f)
    tokenizer = load_tokenizer(spec, allow_download=False)
    tokens = tokenizer(["perro en la playa"])
    assert tokens.shape == (1, 64)  # SigLIP 2's context length, from open_clip's config
    assert int(tokens[0, 0]) != int(tokens[0, -1])  # real tokens, then padding


# -- queries in other languages ------------------------------------------------------------------
@pytest.fixture(scope="module")
def bilingual_library(tmp_path_factory, bilingual):
    """48 fresh pictures (2 per colour x shape, none from training) indexed by the CLI."""
    root = tmp_path_factory.mktemp("bilingual")
    truth = {}
    for i in range(2):
        for j, (colour, shape) in enumerate(CLASSES):
            path = make_photo(root / "Pictures" / f"IMG_{i * 100 + j:04d}.jpg", colour, shape,
                              seed=700_000 + 100 * i + j)
            truth[str(path)] = (colour, shape)
    home = root / "home"
    run_cli("index", str(root / "Pictures"), home=home, model=bilingual)
    return home, truth


SAME_MEANING = [("a red circle", "un círculo rojo", "ein roter Kreis"),
                ("a blue square", "un cuadrado azul", "ein blaues Quadrat"),
                ("a green triangle", "un triángulo verde", "ein grünes Dreieck"),
                ("a yellow stripe", "una franja amarilla", "ein gelber Streifen")]


def test_spanish_and_german_queries_find_what_english_finds(bilingual_library, bilingual):
    from core.library import Library
    from core.types import Query

    home, truth = bilingual_library
    lib = Library(home)
    assert lib.model_spec == bilingual
    try:
        for english, spanish, german in SAME_MEANING:
            want = truth_of(english)
            for text in (english, spanish, german):
                top = [truth[r.path] for r in lib.search(Query.text(text, k=2))]
                assert top == [want, want], (text, top)
    finally:
        lib.close()
    for text in ("un círculo rojo", "ein roter Kreis"):
        out = json.loads(run_cli("search", text, "-k", "2", "--json", home=home).stdout)
        assert [truth[r["path"]] for r in out] == [("red", "circle")] * 2, text


def truth_of(english: str) -> tuple[str, str]:
    _, colour, shape = english.split()
    return colour, shape


NON_ASCII = ["海辺の犬", "perro en la playa", "Hund am Strand", "crème brûlée à Noël",
             "Straße in München", "niño año 2021", "фото собаки", "😀 party", '"café" name:ñandú']


def test_non_ascii_queries_answer_without_error(bilingual_library):
    """The query path as the CLI takes it (date words, quoted and name: terms, name-word
    lifting, the tokenizer) meets non-ASCII text without an error."""
    from core.library import Library
    from core.search.scoring import parse_query

    home, truth = bilingual_library
    lib = Library(home)
    try:
        for text in NON_ASCII:
            query, _ = parse_query(text, k=5)
            assert query.texts, text  # the words stay words: date words are English only
            results = lib.search(query)
            assert all(r.path in truth for r in results), text
            if "name:" not in text and '"' not in text:
                assert len(results) == 5, text
    finally:
        lib.close()
    proc = run_cli("search", "海辺の犬 2021", "-k", "3", "--json", home=home, check=False)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 3 and "Traceback" not in proc.stderr


class _Shapes:
    """A model's tensor names and shapes, as core.model.family reads a weights file."""

    def __init__(self, state: dict):
        self.tensors = {k: tuple(v.shape) for k, v in state.items()}

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def names(self, prefix: str = "") -> list[str]:
        return [n for n in self.tensors if n.startswith(prefix)]

    def shape(self, name: str) -> tuple:
        return self.tensors[name]


@pytest.mark.parametrize("spec", [m.spec for m in MODELS])
def test_each_offered_model_says_truly_whether_it_needs_the_full_installation(spec):
    """What the table says (and `snapseek models --json` shows) is what the builder finds in
    the architecture: open_clip's own config and the tensors of its state dict."""
    import open_clip
    import torch

    from core.model.family import NotCovered, read

    name = spec.split(":")[0]
    cfg = open_clip.get_model_config(name)
    kind = open_clip.CustomTextCLIP if cfg.get("custom_text") else open_clip.CLIP
    with torch.device("meta"):  # the shapes, without the memory
        model = kind(**{k: v for k, v in cfg.items() if k != "custom_text"})
    try:
        arch = read({"model_cfg": cfg}, _Shapes(model.state_dict()))
    except NotCovered:
        arch = None
    entry = next(m for m in MODELS if m.spec == spec)
    assert entry.needs_full_installation == (arch is None)
    if arch is not None:
        assert entry.family == ("siglip" if arch.vision.kind == "timm" else "clip")


def test_models_json_says_which_need_the_full_installation():
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "core.cli", "models", "--json"],
                         capture_output=True, text=True, check=True)
    rows = {m["spec"]: m["needs_full_installation"] for m in json.loads(out.stdout)["models"]}
    assert rows["ViT-B-32-SigLIP2-256:webli"] is False
    assert rows["MobileCLIP2-S2:dfndr2b"] is True
