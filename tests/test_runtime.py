"""The image tower on OpenVINO gives torch's vectors, and falls back to torch otherwise."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("openvino", reason="needs openvino (a dependency)")


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
    from core.runtime import agreement, compile_tower, export

    model, size, reference, probes = tower_and_probes
    path = export(model.visual, size, tmp_path / "tower.xml")
    tower = compile_tower(path, "f32", threads=2)
    assert agreement(tower, reference, probes) >= 0.9999
    assert tower(probes[:1]).shape[0] == 1 and tower(probes).shape[0] == 4  # any batch size


def test_the_fast_tower_is_exported_once_and_checked_at_every_start(tower_and_probes, tmp_path,
                                                                   monkeypatch):
    from core import runtime

    model, size, reference, probes = tower_and_probes
    tower = runtime.fast_image_tower(model.visual, size, tmp_path, "m1", reference, probes, 2)
    assert tower is not None
    exports = []
    monkeypatch.setattr(runtime, "export", lambda *a: exports.append(a))
    again = runtime.fast_image_tower(model.visual, size, tmp_path, "m1", reference, probes, 2)
    assert again is not None and exports == []  # cached by model id in the home


def test_a_runtime_that_disagrees_is_not_used(tower_and_probes, tmp_path, caplog):
    from core import runtime

    model, size, reference, probes = tower_and_probes
    rng = np.random.default_rng(0)
    wrong = lambda batch: rng.normal(size=(len(batch), 32))  # noqa: E731
    assert runtime.fast_image_tower(model.visual, size, tmp_path, "m2", wrong, probes) is None
    assert "disagrees" in caplog.text


def test_a_failing_export_leaves_torch(tower_and_probes, tmp_path, monkeypatch, caplog):
    from core import runtime

    model, size, reference, probes = tower_and_probes

    def broken(*a):
        raise RuntimeError("cannot trace this model")

    monkeypatch.setattr(runtime, "export", broken)
    assert runtime.fast_image_tower(model.visual, size, tmp_path, "m3", reference, probes) is None
    assert "cannot trace" in caplog.text
