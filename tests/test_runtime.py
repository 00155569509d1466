"""The image tower on OpenVINO gives torch's vectors, built from the weights or exported from torch
(a family the builder does not cover), and falls back to torch otherwise."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tower_and_probes(tmp_path_factory):
    import open_clip
    import torch
    from helpers import draw_photo, make_random_model

    spec = make_random_model(tmp_path_factory.mktemp("m") / "tiny", seed=3)
    model, _, preprocess = open_clip.create_model_and_transforms(spec)
    model.eval()
    probes = torch.stack([preprocess(draw_photo(c, s, (320, 240), seed=i)) for i, (c, s) in
                          enumerate([("red", "circle"), ("blue", "square"), ("green", "stripe"),
                                     ("yellow", "triangle")])]).numpy()

    def reference(batch):
        with torch.inference_mode():
            return model.encode_image(torch.from_numpy(batch)).numpy()

    size = int(model.visual.image_size if isinstance(model.visual.image_size, int)
               else model.visual.image_size[0])
    return model, size, reference, probes


def test_openvino_vectors_equal_torch_fp32(tower_and_probes, tmp_path):
    from core.model.runtime import agreement, compile_tower
    from core.model.torchexport import export

    model, size, reference, probes = tower_and_probes
    path = export(model.visual, size, tmp_path / "tower.xml")
    tower = compile_tower(path, "f32", threads=2)
    assert agreement(tower, reference, probes) >= 0.9999
    assert tower(probes[:1]).shape[0] == 1 and tower(probes).shape[0] == 4  # any batch size


def test_the_fast_tower_is_exported_once_and_checked_at_every_start(tower_and_probes, tmp_path,
                                                                   monkeypatch):
    from core.model import torchexport

    model, size, reference, probes = tower_and_probes
    tower = torchexport.fast_image_tower(model.visual, size, tmp_path, "m1", reference, probes, 2)
    assert tower is not None
    exports = []
    monkeypatch.setattr(torchexport, "export", lambda *a: exports.append(a))
    again = torchexport.fast_image_tower(model.visual, size, tmp_path, "m1", reference, probes, 2)
    assert again is not None and exports == []  # cached by model id in the home


def test_a_runtime_that_disagrees_is_not_used(tower_and_probes, tmp_path, caplog):
    from core.model import torchexport

    model, size, reference, probes = tower_and_probes
    rng = np.random.default_rng(0)
    wrong = lambda batch: rng.normal(size=(len(batch), 32))  # noqa: E731
    assert torchexport.fast_image_tower(model.visual, size, tmp_path, "m2", wrong, probes) is None
    assert "disagrees" in caplog.text


def test_a_failing_export_leaves_torch(tower_and_probes, tmp_path, monkeypatch, caplog):
    from core.model import torchexport

    model, size, reference, probes = tower_and_probes

    def broken(*a):
        raise RuntimeError("cannot trace this model")

    monkeypatch.setattr(torchexport, "export", broken)
    assert torchexport.fast_image_tower(model.visual, size, tmp_path, "m3", reference, probes) is None
    assert "cannot trace" in caplog.text


# -- the Embedder on the runtime ------------------------------------------------------------------
def _embedder_vectors(spec, cache, images):
    from core.model.embedder import Embedder

    emb = Embedder.load(spec, device="cpu", runtime_cache=cache, text_precision="fp32")
    return emb, emb.encode_images(images)


@pytest.fixture(scope="module")
def spec_and_images(tmp_path_factory):
    from helpers import draw_photo, make_random_model

    spec = make_random_model(tmp_path_factory.mktemp("m") / "tiny-emb", seed=5)
    images = [draw_photo(c, s, (300 + 20 * i, 200), seed=i) for i, (c, s) in
              enumerate([("red", "circle"), ("blue", "square"), ("green", "stripe")] * 12)]
    return spec, images  # 36 pictures: more than one batch of 32


def _torch_vectors(spec, images, monkeypatch):
    from core.model.embedder import Embedder

    monkeypatch.setenv("SNAPSEEK_RUNTIME", "torch")
    emb = Embedder.load(spec, device="cpu", text_precision="fp32")
    out = emb.encode_images(images)
    monkeypatch.delenv("SNAPSEEK_RUNTIME")
    return out


def test_embedder_vectors_on_the_fp32_runtime_equal_torch(spec_and_images, tmp_path,
                                                          monkeypatch):
    from core.model import runtime

    spec, images = spec_and_images
    reference = _torch_vectors(spec, images, monkeypatch)
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: False)  # a CPU without native bf16
    emb, ours = _embedder_vectors(spec, tmp_path, images)
    assert emb.image_runtime == "openvino f32"
    assert ours.shape == reference.shape and ours.dtype == np.float32
    assert float((ours * reference).sum(1).min()) >= 0.9999


def test_embedder_vectors_on_the_bf16_runtime_agree_with_torch(spec_and_images, tmp_path,
                                                               monkeypatch):
    from core.model import runtime

    if not runtime.cpu_has_bf16():
        pytest.skip("this CPU has no native bf16")
    spec, images = spec_and_images
    reference = _torch_vectors(spec, images, monkeypatch)
    emb, ours = _embedder_vectors(spec, tmp_path, images)
    assert emb.image_runtime == "openvino bf16"
    assert float((ours * reference).sum(1).min()) >= 0.999


def test_the_embedder_builds_the_towers_once_per_model(spec_and_images, tmp_path, monkeypatch):
    from core.model import builder

    spec, images = spec_and_images
    calls = []
    real = builder.build
    monkeypatch.setattr(builder, "build", lambda *a, **k: calls.append(a) or real(*a, **k))
    first, _ = _embedder_vectors(spec, tmp_path, images[:2])
    second, _ = _embedder_vectors(spec, tmp_path, images[:2])  # the next start of the app
    assert len(calls) == 1 and second.image_runtime.startswith("openvino")
    assert not first.full_loaded and not second.full_loaded
    image_tower = tmp_path.glob(f"*-{first.image_size}.*")
    assert sorted(p.suffix for p in image_tower) == [".bin", ".xml"]


def test_snapseek_runtime_torch_keeps_torch(spec_and_images, tmp_path, monkeypatch):
    spec, images = spec_and_images
    monkeypatch.setenv("SNAPSEEK_RUNTIME", "torch")
    emb, _ = _embedder_vectors(spec, tmp_path, images[:2])
    assert emb.image_runtime == "torch fp32" and not any(tmp_path.iterdir())


def test_the_library_keeps_the_export_in_its_home(library, photo_dir):
    library.add_folder(photo_dir)
    library.update()
    emb = library.embedder
    assert emb.image_runtime.startswith("openvino")
    assert list((library.home / "runtime").glob(f"*{emb.runtime_key()}*.xml"))


# -- 1M photos: the exact stand-in during rebuilds in float16 -------------------------------------
def test_the_float16_stand_in_ranks_like_float32_in_half_the_memory():
    from core.search.scoring import ExactSearch

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((5000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(5000) + 1
    full, half = ExactSearch(ids, vectors), ExactSearch(ids, vectors, dtype=np.float16)
    half.CHUNK = 1000  # several chunks
    assert half.nbytes * 2 == full.nbytes
    for q in vectors[:20]:
        a, sa = full.knn(q, 10)
        b, sb = half.knn(q, 10)
        assert a[0] == b[0] and len(set(a.tolist()) & set(b.tolist())) >= 9
        assert np.abs(sa - sb).max() < 2e-3 and sb.dtype == np.float32
    allowed = set(range(1, 5001, 3))
    assert set(half.knn(vectors[0], 5, allowed)[0].tolist()) <= allowed


GUARDED_EXPORT = """
import os, socket, sys
attempts, plain_first = sys.argv[1], sys.argv[2]
if plain_first == "before":  # someone imported OpenVINO before the project did (its import sends an event)
    import time
    socket.getaddrinfo = lambda *a, **k: (_ for _ in ()).throw(OSError("offline"))
    import openvino
    from openvino_telemetry import Telemetry
    deadline = time.monotonic() + 60  # its own events, sent from threads: gone before ours
    while Telemetry().sender.queue_size and time.monotonic() < deadline:
        time.sleep(0.05)
real_lookup, real_connect = socket.getaddrinfo, socket.socket.connect
def record(what):
    with open(attempts, "a") as f:  # forked children inherit this
        f.write(f"pid {os.getpid()}: {what}\\n")
    raise OSError("no network in this test")
socket.getaddrinfo = lambda host, *a, **k: record(f"look up {host}")
socket.socket.connect = lambda self, address: record(f"connect {address}")
if plain_first == "after":  # another library imports OpenVINO once the project is loaded
    import core
    import openvino
import torch
from pathlib import Path
from core.model.runtime import compile_tower
from core.model.torchexport import export
tower = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
path = export(tower, 8, Path(attempts).parent / "tower.xml")
compile_tower(path, "f32", threads=1)
import multiprocessing
for child in multiprocessing.active_children():
    child.join(10)
"""


@pytest.mark.parametrize("plain_first", ["no", "before", "after"],
                         ids=["fresh", "openvino-imported-before", "openvino-imported-after"])
def test_exporting_for_openvino_sends_nothing_anywhere(tmp_path, plain_first):
    # OpenVINO's converter sends usage events to Google Analytics from forked children unless
    # the user opted out; the project keeps its telemetry out (core.model.runtime.openvino)
    import os
    import subprocess
    import sys

    from helpers import ROOT

    attempts = tmp_path / "attempts"
    # as on a user's machine: OpenVINO sends nothing in CI or after an opt-out in the home
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    (tmp_path / "user").mkdir()  # an existing home without an opt-out file
    env.update(PYTHONPATH=str(ROOT), HOME=str(tmp_path / "user"))
    proc = subprocess.run([sys.executable, "-c", GUARDED_EXPORT, str(attempts),
                           plain_first], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "tower.xml").exists()
    assert not attempts.exists(), attempts.read_text()
