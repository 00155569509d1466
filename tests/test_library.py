"""The core directly: unchanged files are never read, the index follows the catalog."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from helpers import draw_photo, make_photo
from PIL import Image

from core.library import Library
from core.types import CatalogError, Query


def test_second_index_run_reads_no_image(library, photo_dir, monkeypatch):
    library.add_folder(photo_dir)
    first = library.update()
    assert first.embedded == 8

    def forbidden(*a, **k):
        raise AssertionError("an unchanged photo was read")

    monkeypatch.setattr(Image, "open", forbidden)
    monkeypatch.setattr("core.folders.scanner.content_hash", forbidden)
    second = library.update()
    assert second.scan.unchanged == 8 and second.embedded == 0


def test_index_catches_up_when_older_than_catalog(tmp_path, photo_dir, random_model):
    from helpers import make_photo

    home = tmp_path / "home"
    with Library(home, model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        (index_file,) = home.glob("index-*.hnsw")
        saved = index_file.read_bytes()
        header = lib.catalog.index_header(lib.embedder.model_id)
        make_photo(photo_dir / "new.jpg", "purple", "triangle", seed=5)
        (photo_dir / "red_circle.jpg").unlink()
        lib.update()
        expected = [r.media_id for r in lib.search(Query.text("purple", k=8))]
    # put back the older index and header, as after a crash before the last save
    index_file.write_bytes(saved)
    with Library(home) as lib:
        lib.catalog.set_index_header(header)
        results = lib.search(Query.text("purple", k=8))
        assert lib.index_state == "caught-up"
        assert [r.media_id for r in results] == expected
        assert len(lib.index) == lib.catalog.vector_count(lib.embedder.model_id) == 8


def test_index_agrees_with_exact_search(library, photo_dir):
    from core.search.scoring import ExactSearch

    library.add_folder(photo_dir)
    library.update()
    ids, mat, _ = library.catalog.vectors(library.embedder.model_id)
    exact = ExactSearch(ids, mat)
    q = library.embedder.encode_text(["a blue triangle"])[0]
    assert library.index.knn(q, 5)[0].tolist() == exact.knn(q, 5)[0].tolist()


def test_corrupt_catalog_is_reported_and_left_untouched(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    garbage = b"this is not a database" * 100
    (home / "catalog.db").write_bytes(garbage)
    with pytest.raises(CatalogError) as err:
        Library(home)
    assert str(home / "catalog.db") in str(err.value)
    assert (home / "catalog.db").read_bytes() == garbage


def test_catalog_from_newer_version_is_refused(tmp_path):
    home = tmp_path / "home"
    Library(home).close()
    import sqlite3

    conn = sqlite3.connect(home / "catalog.db")
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match="newer"):
        Library(home)


def test_weighted_and_negative_terms_move_the_query(library, photo_dir):
    library.add_folder(photo_dir)
    library.update()
    emb = library.embedder
    plain = library.query_vector(Query(texts=[("red", 1.0)]))
    minus = library.query_vector(Query(texts=[("red", 1.0), ("blue", -1.0)]))
    blue = emb.encode_text(["blue"])[0]
    assert float(minus @ blue) < float(plain @ blue)
    assert np.isclose(np.linalg.norm(minus), 1.0, atol=1e-5)


def test_folder_filter_pages_until_k_results(library, photo_dir):
    library.add_folder(photo_dir)
    library.update()
    q = Query(texts=[("red", 1.0)], k=2, folder=str(photo_dir / "sub"))
    results = library.search(q)
    assert len(results) == 2
    assert all("/sub/" in r.path for r in results)


def test_truncated_text_encoding_equals_full(random_model):
    from core.model.embedder import Embedder

    emb = Embedder.load(random_model, text_precision="fp32")
    texts = ["a", "a red circle on a white wall", "dog " * 30]
    fast = emb.encode_text(texts, truncate=True)
    full = emb.encode_text(texts, truncate=False)
    assert np.allclose(fast, full, atol=1e-5)


def test_bf16_text_tower_agrees_with_fp32(random_model):
    from core.model.embedder import Embedder

    fp32 = Embedder.load(random_model, text_precision="fp32")
    bf16 = Embedder.load(random_model, text_precision="bf16")
    assert bf16.text_precision == "bf16" and fp32.text_precision == "fp32"
    texts = [f"photo number {i} of a {c} thing" for i, c in enumerate(["red", "blue", "odd"])]
    cosine = (fp32.encode_text(texts) * bf16.encode_text(texts)).sum(axis=1)
    assert cosine.min() >= 0.99
    # image vectors, the stored ones, are untouched
    from PIL import Image

    image = Image.new("RGB", (64, 48), (200, 30, 30))
    assert np.allclose(fp32.encode_images([image]), bf16.encode_images([image]), atol=1e-6)


@pytest.fixture(scope="module")
def custom_text_model(tmp_path_factory):
    from helpers import TINY_CUSTOM_TEXT_CONFIG, make_random_model

    return make_random_model(tmp_path_factory.mktemp("models") / "custom-text", seed=3,
                             config=TINY_CUSTOM_TEXT_CONFIG)


def test_text_tower_without_causal_mask_is_never_truncated(custom_text_model):
    from core.model.embedder import Embedder

    emb = Embedder.load(custom_text_model, text_precision="fp32")
    texts = ["a", "a red circle on a white wall"]
    # padding changes the answer when every token sees every other: no shortcut may be taken
    assert np.array_equal(emb.encode_text(texts, truncate=True),
                          emb.encode_text(texts, truncate=False))


def test_bf16_applies_to_a_separate_text_tower(custom_text_model):
    from core.model.embedder import Embedder

    fp32 = Embedder.load(custom_text_model, text_precision="fp32")
    bf16 = Embedder.load(custom_text_model, text_precision="bf16")
    assert bf16.text_precision == "bf16"
    assert next(bf16.model.text.parameters()).dtype == torch.bfloat16
    assert next(bf16.model.visual.parameters()).dtype == torch.float32
    texts = ["a dog", "snow on the mountains at sunset"]
    assert (fp32.encode_text(texts) * bf16.encode_text(texts)).sum(axis=1).min() >= 0.99


@pytest.mark.parametrize("model_fixture", ["random_model", "custom_text_model"])
def test_refused_bf16_restores_the_exact_fp32_weights(model_fixture, request, monkeypatch):
    from core.model import embedder
    from core.model import torchtowers as towers

    spec = request.getfixturevalue(model_fixture)
    reference = embedder.Embedder.load(spec, text_precision="fp32")
    monkeypatch.setattr(towers, "BF16_MIN_COSINE", 1.01)  # nothing can agree this well
    refused = embedder.Embedder.load(spec, text_precision="bf16")
    assert refused.text_precision == "fp32"
    texts = ["a dog", "photo 12 of a red circle"]
    # float noise only (kernels differ with alignment); weights left rounded to bf16 differ ~1e-3
    assert np.allclose(reference.encode_text(texts), refused.encode_text(texts), atol=1e-5)


def test_channels_last_gives_the_same_image_vectors(trained_model):
    from core.model.embedder import Embedder

    fast = Embedder.load(trained_model)  # a ResNet image tower: channels-last by default
    plain = Embedder.load(trained_model, channels_last=False)
    assert fast.channels_last and not plain.channels_last
    images = [draw_photo(c, s, (320, 240), seed=i) for i, (c, s) in
              enumerate([("red", "circle"), ("blue", "square"), ("green", "stripe")])]
    cosine = (fast.encode_images(images) * plain.encode_images(images)).sum(axis=1)
    assert cosine.min() > 0.9999


def test_search_answers_exactly_while_the_index_is_rebuilt(tmp_path, photo_dir, random_model,
                                                           monkeypatch):
    import threading

    from core.search.index import VectorIndex
    from core.search.scoring import RebuildSearch

    home = tmp_path / "home"
    with Library(home, model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        expected = [r.media_id for r in lib.search(Query.text("green", k=8))]
    (index_file,) = home.glob("index-*.hnsw")
    index_file.write_bytes(b"garbage" * 1000)
    release = threading.Event()
    real_rebuild = VectorIndex.rebuild

    def slow_rebuild(self, catalog, **kw):
        assert release.wait(30)
        real_rebuild(self, catalog, **kw)

    monkeypatch.setattr(VectorIndex, "rebuild", slow_rebuild)
    with Library(home) as lib:
        results = lib.search(Query.text("green", k=8))  # answered while the rebuild waits
        assert lib.index_state.startswith("rebuilding")
        searcher = lib._searcher()
        assert isinstance(searcher, RebuildSearch)
        lib.scan()  # a scan that finds nothing keeps it (a whole stand-in read again would not
        assert lib._searcher() is searcher  # shrink as the index grows)
        assert [r.media_id for r in results] == expected
        release.set()
        lib.wait_for_index()
        assert lib.index_state.startswith("rebuilt")
        assert [r.media_id for r in lib.search(Query.text("green", k=8))] == expected
        assert isinstance(lib._searcher(), VectorIndex)


def test_search_with_k_below_one_returns_at_once(library, photo_dir):
    import threading

    from core.types import SnapseekError

    library.add_folder(photo_dir)
    library.update()
    outcome = {}

    def ask(k):
        try:
            outcome[k] = library.search(Query.text("red", k=k))
        except SnapseekError as exc:
            outcome[k] = exc

    for k in (0, -3):
        worker = threading.Thread(target=ask, args=(k,), daemon=True)
        worker.start()
        worker.join(30)
        assert not worker.is_alive(), f"search with k={k} never returned"
        assert isinstance(outcome[k], SnapseekError) and "at least 1" in str(outcome[k])


@pytest.fixture
def camera_dir(tmp_path):
    from helpers import make_camera_photo

    folder = tmp_path / "Cameras"
    make_camera_photo(folder / "a.jpg", "Apple", "iPhone 12", "red", "circle", seed=1)
    make_camera_photo(folder / "b.jpg", "Apple", "iPhone 12 Pro", "red", "square", seed=2)
    make_camera_photo(folder / "c.jpg", "Apple", "iPhone 12 Pro Max", "blue", "circle", seed=3)
    make_camera_photo(folder / "d.jpg", "Fujé", "ÉCLAIR 1", "green", "circle", seed=4)
    make_camera_photo(folder / "e.jpg", "Canon", "EOS R5", "yellow", "stripe", seed=5)
    return folder


@pytest.mark.parametrize("camera, expected", [
    ("iPhone 12", {"a.jpg"}),  # not the Pro, not the Pro Max
    ("apple iphone 12", {"a.jpg"}),  # make and model, any case
    ("  iPhone   12 ", {"a.jpg"}),
    ("iPhone 12 pro", {"b.jpg"}),
    ("iPhone 12*", {"a.jpg", "b.jpg", "c.jpg"}),  # a prefix, when asked for
    ("Apple*", {"a.jpg", "b.jpg", "c.jpg"}),
    ("iPhone", set()),
    ("éclair 1", {"d.jpg"}),  # Unicode case folding, which SQLite's LOWER lacks
    ("FUJÉ ÉCLAIR 1", {"d.jpg"}),
    ("eos r", set()),
    ("eos r*", {"e.jpg"}),
    ("EOS_R5", set()),  # no LIKE wildcards
    ("%", set()),
])
def test_camera_filter_matches_the_exact_model(library, camera_dir, camera, expected):
    import os

    library.add_folder(camera_dir)
    library.update()
    # filters alone (the catalog's browse) and with a text query (the ranked search) agree
    browsed = library.search(Query(camera=camera, k=20))
    ranked = library.search(Query(texts=[("red", 1.0)], camera=camera, k=20))
    assert {os.path.basename(r.path) for r in browsed} == expected
    assert {os.path.basename(r.path) for r in ranked} == expected


def test_forgotten_photos_lose_their_thumbnails(library, photo_dir):
    from helpers import files_under, make_video

    from core.media.thumbnails import thumb_path

    make_video(photo_dir / "clip.mp4", [("red", "circle", 3.0), ("blue", "square", 3.0),
                                        ("green", "stripe", 3.0)])
    library.add_folder(photo_dir)
    library.update()
    rows = {os.path.basename(r.path): r for r in library.recent(50)}
    photo, video = rows["green_square.jpg"].media_id, rows["clip.mp4"].media_id
    assert thumb_path(library.thumbs, photo).exists()
    moments = [p for p in files_under(library.thumbs) if p.name.startswith(f"{video}-")]
    assert moments  # the video has thumbnails beyond its first moment
    # deleted on disk, forgotten by a rescan: its thumbnail goes too
    (photo_dir / "green_square.jpg").unlink()
    (photo_dir / "clip.mp4").unlink()
    library.update()
    left = files_under(library.thumbs)
    assert thumb_path(library.thumbs, photo) not in left
    assert not [p for p in left if p.name.split(".")[0].split("-")[0] == str(video)]
    assert len(left) == 7  # the other photos keep theirs
    library.remove_folder(photo_dir)
    assert files_under(library.thumbs) == []


def test_library_home_is_created_private(tmp_path):
    import stat

    old = os.umask(0o022)
    try:
        Library(tmp_path / "a" / "home").close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a" / "home").stat().st_mode) == 0o700


# -- filters: one definition, in SQL, taken by the vector search -------------------------------
def test_folder_filter_takes_wildcards_literally_and_non_utf8_names(library, tmp_path):
    from helpers import make_photo

    root = tmp_path / "Photos"
    inside = root / "Été_100%"
    make_photo(inside / "a.jpg", "red", seed=1)
    odd = os.fsencode(str(inside)) + b"/caf\xe9.jpg"  # Latin-1: not UTF-8
    os.rename(make_photo(inside / "tmp.jpg", "red", "square", seed=2), odd)
    make_photo(root / "ÉtéX100 more" / "b.jpg", "red", seed=3)  # what LIKE's _ and % match
    make_photo(root / "Été_100%.jpg", "red", seed=4)
    library.add_folder(root)
    library.update()
    expected = {"a.jpg", os.fsdecode(b"caf\xe9.jpg")}
    browsed = library.search(Query(folder=str(inside), k=20))
    ranked = library.search(Query(texts=[("red", 1.0)], folder=str(inside), k=20))
    assert {os.path.basename(r.path) for r in browsed} == expected
    assert {os.path.basename(r.path) for r in ranked} == expected


def test_a_filter_that_lets_one_photo_through_needs_no_paging(library, tmp_path, monkeypatch):
    from helpers import make_photo

    from core.search.index import VectorIndex

    root = tmp_path / "Many"
    for i in range(199):
        make_photo(root / "common" / f"p{i:03d}.jpg", "red", size=(64, 48), seed=i)
    make_photo(root / "rare" / "only.jpg", "blue", size=(64, 48), seed=999)
    library.add_folder(root)
    library.update()
    asked = []
    real_knn = VectorIndex.knn

    def counting(self, vector, k, *a, **kw):
        asked.append(k)
        return real_knn(self, vector, k, *a, **kw)

    monkeypatch.setattr(VectorIndex, "knn", counting)
    results = library.search(Query(texts=[("red", 1.0)], folder=str(root / "rare"), k=10))
    assert [os.path.basename(r.path) for r in results] == ["only.jpg"]
    assert asked == [10], f"the index was asked {asked}: paging, not a filter"


@pytest.mark.parametrize("filters", [
    {"folder": "sub"}, {"kinds": frozenset({"photo"})}, {"after": 1e9},
    {"before": 1e9}, {"camera": "nothing"}, {"folder": "sub", "kinds": frozenset({"video"})},
])
def test_browse_and_vector_search_let_the_same_photos_through(library, photo_dir, filters):
    from core.query.filters import Filters

    if "folder" in filters:
        filters = {**filters, "folder": str(photo_dir / filters["folder"])}
    library.add_folder(photo_dir)
    library.update()
    browsed = {r.media_id for r in library.search(Query(k=100, **filters))}
    ranked = {r.media_id for r in library.search(Query(texts=[("red", 1.0)], k=100, **filters))}
    assert browsed == ranked == library.catalog.allowed_ids(Filters.of(Query(**filters)))


def test_thumbnails_are_sharp_whatever_the_model_input(library, tmp_path):
    from helpers import make_photo

    from core.media.thumbnails import thumb_path

    make_photo(tmp_path / "P" / "wide.jpg", "red", size=(640, 480))
    library.add_folder(tmp_path / "P")
    library.update()
    (result,) = library.recent(5)
    assert library.embedder.image_size < 384
    with Image.open(thumb_path(library.thumbs, result.media_id)) as thumb:
        assert thumb.size == (384, 288)


def test_a_failed_rebuild_starts_once_and_is_reported_once(tmp_path, photo_dir, random_model,
                                                           monkeypatch):
    import threading

    from core.search.index import VectorIndex
    from core.types import Notice

    home = _home_with_a_broken_index(tmp_path, photo_dir, random_model)
    calls, go = [], threading.Event()

    def failing(self, catalog, **kw):
        calls.append(1)
        assert go.wait(30)  # the first search is answered while the rebuild runs
        kw["progress"](1 << 39)  # the stand-in lets go of every block, then the rebuild fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(VectorIndex, "rebuild", failing)
    with Library(home) as lib:
        errors = []
        lib.subscribe(lambda e: isinstance(e, Notice) and e.level == "error" and errors.append(e))
        assert len(lib.search(Query.text("red", k=3))) == 3
        go.set()
        for _ in range(4):
            lib.wait_for_index()
            # after the failure the whole stand-in is read again: exact search answers
            assert len(lib.search(Query.text("red", k=3))) == 3
        assert calls == [1]
        assert len(errors) == 1 and "could not be rebuilt" in errors[0].text


def test_pictures_are_prepared_for_the_model_in_the_decode_threads(library, photo_dir,
                                                                   monkeypatch):
    """One thread preparing every batch (resize, to float, normalise) was the limit of indexing
    on a many-core machine: each decode thread prepares its own pictures, same vectors."""
    import threading

    from PIL import Image

    emb = library.load_model()
    pictures = [Image.open(p).convert("RGB") for p in sorted(photo_dir.glob("*.jpg"))[:3]]
    assert np.array_equal(emb.encode_images(pictures),
                          emb.encode_images([emb.prepare(p) for p in pictures]))
    threads, real = set(), type(emb).prepare

    def spy(self, image):
        threads.add(threading.current_thread().name)
        return real(self, image)

    monkeypatch.setattr(type(emb), "prepare", spy)
    library.add_folder(photo_dir)
    library.update()
    assert threads and all(name.startswith("decode") for name in threads), threads


def test_a_writer_arriving_as_a_search_starts_the_rebuild_waits_for_it(tmp_path, photo_dir,
                                                                      random_model, monkeypatch):
    """The search reads its stand-in before the rebuild starts; a writer asking for the index
    meanwhile must wait for that rebuild, not build a second one beside it (twice the memory,
    two saves of one file, and its photos lost when the first one lands)."""
    import sys
    import threading
    import time

    from core.search.index import VectorIndex
    from core.search.vectorstore import VectorStore

    home = _home_with_a_broken_index(tmp_path, photo_dir, random_model)
    reading, go, rebuilds = threading.Event(), threading.Event(), []
    real_rebuild, real_standin = VectorIndex.rebuild, VectorStore._standin

    def counted(self, catalog, **kw):
        rebuilds.append(threading.current_thread().name)
        real_rebuild(self, catalog, **kw)

    def slow_standin(self, model_id):
        reading.set()
        assert go.wait(30)
        return real_standin(self, model_id)

    monkeypatch.setattr(VectorIndex, "rebuild", counted)
    monkeypatch.setattr(VectorStore, "_standin", slow_standin)
    with Library(home) as lib:
        lib.load_model()
        searched = threading.Thread(target=lambda: lib.search(Query.text("red", k=3)))
        searched.start()
        assert reading.wait(30)
        got = {}
        writer = threading.Thread(target=lambda: got.setdefault("index", lib.index))
        writer.start()
        deadline = time.monotonic() + 30  # the writer is in Library.index, at the search's lock
        while (getattr(sys._current_frames().get(writer.ident), "f_code", None) is None
               or sys._current_frames()[writer.ident].f_code.co_name != "index"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        go.set()
        searched.join(60)
        writer.join(60)
        assert rebuilds == ["snapseek-rebuild"]
        assert got["index"] is lib._searcher() and len(got["index"]) == 8


def _home_with_a_broken_index(tmp_path, photo_dir, model):
    """A library home whose index file is garbage: the next search rebuilds it."""
    home = tmp_path / "home"
    with Library(home, model=model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
    (index_file,) = home.glob("index-*.hnsw")
    index_file.write_bytes(b"garbage" * 1000)
    return home


def test_a_forgotten_photos_thumbnail_never_comes_back(tmp_path, photo_dir, random_model,
                                                       monkeypatch):
    """A thumbnail made while the photo is forgotten (the grid asked for it, the folder was
    removed meanwhile) must not be left behind in the library home."""
    import threading

    import core.library.details as details
    from core.media.thumbnails import thumb_path

    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(photo_dir)
        lib.update()
        media_id = lib.recent(1)[0].media_id
        thumb_path(lib.thumbs, media_id).unlink()  # so that it is made again from the photo
        decoding, forgotten = threading.Event(), threading.Event()
        real = details.open_image

        def decode_while_forgotten(*a, **k):
            decoding.set()
            assert forgotten.wait(30)
            return real(*a, **k)

        monkeypatch.setattr(details, "open_image", decode_while_forgotten)
        asked = threading.Thread(target=lib.thumbnail, args=(media_id,))
        asked.start()
        assert decoding.wait(30)
        lib.remove_folder(photo_dir)
        forgotten.set()
        asked.join(30)
        assert not thumb_path(lib.thumbs, media_id).exists()
        assert not [p for p in lib.thumbs.rglob("*") if p.is_file()]


def test_an_existing_empty_home_and_a_chosen_thumbnail_folder_are_private(tmp_path, random_model):
    """Before, a home folder that existed already was made private only once a catalog was in
    it (its first session's thumbnails readable by others), and a thumbnail folder of the
    user's choosing never."""
    home, thumbs = tmp_path / "home", tmp_path / "my-thumbnails"
    for folder in (home, thumbs):
        folder.mkdir()
        os.chmod(folder, 0o755)
    with Library(home, model=random_model, thumbs_dir=thumbs):
        assert os.stat(home).st_mode & 0o077 == 0
        assert os.stat(thumbs).st_mode & 0o077 == 0


def test_photos_under_a_linked_subfolder_are_found_by_the_path_a_person_gives(
        tmp_path, random_model):
    elsewhere = tmp_path / "Elsewhere"
    make_photo(elsewhere / "two.jpg", "blue")
    folder = tmp_path / "Pictures"
    make_photo(folder / "one.jpg", "red")
    os.symlink(elsewhere, folder / "linked")
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        for given in (folder / "linked" / "two.jpg", folder / "one.jpg"):
            assert lib.media_id_of(str(given)) is not None, given
        lib.set_folder_paused(str(folder / "linked" / ".."), True)
        assert lib.folders()[0].paused


def test_pause_resume_and_cancel_read_the_indexing_in_flight_once():
    """The indexing thread sets the pipeline to None when it ends: reading it twice (check,
    then call) could find it gone between the two."""
    from core.library.inflight import InFlight

    calls = []

    class Ending:  # the indexing in flight, ending between any two reads
        def __init__(self):
            self.reads = 0

        def __get__(self, obj, owner=None):
            self.reads += 1
            return None if self.reads % 2 == 0 else type(
                "Pipeline", (), {n: (lambda self, n=n: calls.append(n))
                                 for n in ("pause", "resume", "cancel")})()

        def __set__(self, obj, value):
            pass

    class Racing(InFlight):
        _pipeline = Ending()

    in_flight = Racing()
    in_flight.pause()  # finds it in flight: paused
    in_flight.resume()  # finds it ended: nothing to resume (before: 'NoneType' has no 'pause')
    in_flight.cancel()  # in flight again: cancelled
    assert calls == ["pause", "cancel"]
