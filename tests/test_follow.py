"""A reader that follows the library's model (the app, `snapseek search` without --model) when a
switch flips in another process: whatever its threads do in the moment it changes models, it
answers with the library's model afterwards, never with the old one's index or model."""

from __future__ import annotations

import threading

import pytest
from helpers import make_photo, make_random_model

from core.library import Library
from core.types import Query

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]
QUERY = Query.text("a red circle", k=12)


@pytest.fixture(scope="module")
def model_b(tmp_path_factory) -> str:
    return make_random_model(tmp_path_factory.mktemp("models") / "tiny-random-b", seed=5)


def answers(lib: Library) -> list[tuple[int, float]]:
    return [(r.media_id, round(r.score, 4)) for r in lib.search(QUERY)]


def switched_elsewhere(tmp_path, model_a: str, model_b: str, monkeypatch, keep_old=False):
    """A home indexed with A, a reader of it (A loaded, its index not yet), then a switch to B
    made by another Library, as another process would. With keep_old, the switch stopped just
    after its flip: A's vectors and index file are still there (begin_switch deletes them)."""
    folder = tmp_path / "Pictures"
    for i in range(12):
        make_photo(folder / f"p{i:03d}.jpg", COLOURS[i % 6], size=(240, 180), seed=i)
    home = tmp_path / "home"
    with Library(home, model=model_a) as lib:
        lib.add_folder(folder)
        lib.update()
        a_file = lib._index_path(lib.embedder.model_id)
    reader = Library(home)
    reader.load_model()
    switcher = Library(home, model=model_b)
    if keep_old:
        monkeypatch.setattr(switcher, "drop_models", lambda model_ids: 0)
    try:
        switcher.begin_switch()
        switcher.update()
        assert switcher.model_spec == model_b
    finally:
        switcher.close()
    with Library(home) as fresh:
        expected = answers(fresh)
    return reader, a_file, expected


def test_a_rebuild_begun_as_the_model_changes_never_answers_for_the_new_model(
        tmp_path, random_model, model_b, monkeypatch):
    """A search starts rebuilding the old model's index just as the reader lets that model go
    (after the unload waited for rebuilds, before it took the locks): the old index, when it is
    done, must not answer the new model's searches."""
    from core.search.index import VectorIndex

    reader, a_file, expected = switched_elsewhere(tmp_path, random_model, model_b, monkeypatch,
                                                  keep_old=True)
    a_file.write_bytes(b"garbage" * 1000)  # the old model's index is rebuilt when next loaded
    release, real_rebuild = threading.Event(), VectorIndex.rebuild

    def slow_rebuild(self, catalog, **kw):
        assert release.wait(60)
        real_rebuild(self, catalog, **kw)

    monkeypatch.setattr(VectorIndex, "rebuild", slow_rebuild)
    real_wait, slipped_in = reader.vectors.wait, []

    def wait_then_a_search_slips_in():
        real_wait()
        if not slipped_in:  # another thread's search, in the moment between
            slipped_in.append(reader.vectors.searcher())

    monkeypatch.setattr(reader.vectors, "wait", wait_then_a_search_slips_in)
    try:
        assert answers(reader) == expected  # the new model, exactly while the rebuild runs
        assert slipped_in  # (the old model's rebuild began in that moment)
        release.set()
        real_wait()
        assert answers(reader) == expected
        loaded = reader.vectors.loaded
        assert loaded is None or loaded.model_id == reader.embedder.model_id
    finally:
        release.set()
        reader.close()


def test_a_search_in_the_moment_the_model_changes_loads_the_new_model(
        tmp_path, random_model, model_b, monkeypatch):
    """Another thread's search loads the model just after the reader let the old one go: it
    must load the library's new model (it loaded the old one, and every search after that
    failed with "model changed while answering; try again" until the app restarted)."""
    reader, _, expected = switched_elsewhere(tmp_path, random_model, model_b, monkeypatch)
    real_unload, loaded = reader.model_holder._unload, []

    def unload_then_a_search_loads(*args, **kwargs):
        real_unload(*args, **kwargs)
        if not loaded:  # another thread's search, in the moment after
            loaded.append(reader.embedder.spec)

    monkeypatch.setattr(reader.model_holder, "_unload", unload_then_a_search_loads)
    try:
        for _ in range(3):
            assert answers(reader) == expected
        assert loaded == [model_b]
    finally:
        reader.close()
