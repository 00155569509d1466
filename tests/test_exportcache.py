"""The towers a home exports are kept once per machine: another home with the same weights
copies them instead of exporting again, and a copy that fails its check is dropped."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

PICTURES = [Image.new("RGB", (96, 64), c) for c in ("red", "navy", "olive")]


@pytest.fixture
def machine(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from core.model import exportcache

    return exportcache.folder()


def vectors(home, model):
    from core.library import Library

    with Library(home, model=model) as lib:
        emb = lib.load_model()
        out = emb.encode_images(PICTURES), emb.encode_text(["a red square", "navy"])
        image = getattr(emb, "image_runtime", "torch")
    # the text tower is exported for the next session (this one asks torch): its manifest
    return out, (image, bool(list((home / "runtime").glob("text-*.json"))))


def test_a_second_home_copies_the_export_instead_of_making_it(machine, random_model, tmp_path,
                                                              monkeypatch):
    from core.model import runtime

    first, used = vectors(tmp_path / "a", random_model)
    assert used[0].startswith("openvino") and used[1]
    kept = sorted(p.name for p in machine.iterdir())
    assert len([n for n in kept if n.endswith(".xml")]) == 2, kept  # image and text towers
    monkeypatch.setattr(runtime, "_converted", lambda *a, **k: pytest.fail("exported again"))
    second, used = vectors(tmp_path / "b", random_model)
    assert used[0].startswith("openvino") and used[1]
    for ours, theirs in zip(first, second, strict=True):
        assert np.allclose(ours, theirs, atol=1e-6)
    assert sorted(p.name for p in (tmp_path / "b" / "runtime").glob("*.xml")) == \
        sorted(n for n in kept if n.endswith(".xml"))


def test_a_copy_that_fails_its_check_is_dropped_and_made_again(machine, random_model, tmp_path,
                                                               monkeypatch):
    vectors(tmp_path / "a", random_model)
    for xml in machine.glob("*.xml"):  # damaged in the machine's cache
        xml.write_text("<net>not a model</net>")
    (_, _), used = vectors(tmp_path / "b", random_model)
    assert used[0].startswith("torch")  # the damaged copy was not used...
    assert not list(machine.glob("*.xml")) or all(
        "not a model" not in x.read_text() for x in machine.glob("*.xml"))
    (_, _), used = vectors(tmp_path / "c", random_model)  # ...and the next home exports afresh
    assert used[0].startswith("openvino") and used[1]
