"""One owner per rule and per resource: the filters, the vector index, thumbnails' files, the
catalog's transactions and the library home's writer lock. Fast: nothing here loads torch."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from helpers import ROOT

from core.query.filters import Filters
from core.search.index import HNSW_EF_SEARCH, VectorIndex
from core.search import index as index_module
from core.store import Catalog
from core.types import label_of

DIM = 8


def _unit(rng, n):
    vecs = rng.standard_normal((n, DIM)).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def _catalog_with(tmp_path, files: list[tuple[str | bytes, dict]]) -> tuple[Catalog, dict]:
    """A catalog holding indexed media at these paths (bytes: a name that is not UTF-8)."""
    cat = Catalog(tmp_path / "catalog.db")
    folder_id = cat.add_folder(str(tmp_path))
    rng = np.random.default_rng(1)
    ids = {}
    with cat.write() as w:
        for path, _ in files:
            ids[path] = cat.insert_media(w, folder_id, os.fsdecode(path), 1, 1, "h", "photo")
    cat.store_vectors("m", [(ids[p], _unit(rng, 1)[0], meta) for p, meta in files], [])
    return cat, ids


# -- 1. one filter definition, in SQL ---------------------------------------------------------
def test_folder_filter_takes_its_name_literally_and_non_utf8_files(tmp_path):
    inside = os.path.join(str(tmp_path), "Été_100%")
    odd = os.fsencode(inside) + b"/caf\xe9.jpg"  # Latin-1, not UTF-8: stored as a BLOB
    cat, ids = _catalog_with(tmp_path, [
        (inside + "/a.jpg", {}), (odd, {}),
        (os.path.join(str(tmp_path), "ÉtéX100 more", "b.jpg"), {}),  # what LIKE's _ and % take
        (os.path.join(str(tmp_path), "été_100%", "c.jpg"), {}),  # another folder on POSIX
        (os.path.join(str(tmp_path), "Été_100%.jpg"), {}),
    ])
    want = {ids[inside + "/a.jpg"], ids[odd]}
    filters = Filters(folder=inside)
    assert cat.allowed_ids(filters) == want
    assert set(cat.ids_passing(filters, 100)) == want
    # a folder whose own name is not UTF-8
    cat2, ids2 = _catalog_with(tmp_path / "two", [
        (os.fsencode(str(tmp_path / "two")) + b"/d\xe9j\xe0/x.jpg", {}),
        (os.fsencode(str(tmp_path / "two")) + b"/d\xe9j\xe0x/y.jpg", {})])
    only = os.fsdecode(os.fsencode(str(tmp_path / "two")) + b"/d\xe9j\xe0")
    assert cat2.allowed_ids(Filters(folder=only)) == {
        ids2[os.fsencode(str(tmp_path / "two")) + b"/d\xe9j\xe0/x.jpg"]}


def test_camera_filter_folds_unicode_case_in_sql(tmp_path):
    cat, ids = _catalog_with(tmp_path, [
        (str(tmp_path / "a.jpg"), {"camera": "Fujé ÉCLAIR"}),
        (str(tmp_path / "b.jpg"), {"camera": "Fujé ÉCLAIR 2"}),
        (str(tmp_path / "c.jpg"), {"camera": None})])
    assert cat.allowed_ids(Filters(camera="éclair")) == {ids[str(tmp_path / "a.jpg")]}
    assert cat.allowed_ids(Filters(camera="fujé éclair*")) == {
        ids[str(tmp_path / "a.jpg")], ids[str(tmp_path / "b.jpg")]}


def test_name_filters_fold_unicode_case_and_have_no_wildcards(tmp_path):
    cat, ids = _catalog_with(tmp_path, [
        (str(tmp_path / "ÉTÉ" / "PLAGE.jpg"), {}),
        (str(tmp_path / "xtx" / "plage.jpg"), {}),
        (str(tmp_path / "50% off.jpg"), {}),
        (str(tmp_path / "500 off.jpg"), {})])
    assert cat.allowed_ids(Filters(names=(("path", "été"),))) == {
        ids[str(tmp_path / "ÉTÉ" / "PLAGE.jpg")]}
    assert cat.allowed_ids(Filters(names=(("name", "50%"),))) == {
        ids[str(tmp_path / "50% off.jpg")]}
    assert cat.allowed_ids(Filters(names=(("path", "_t_"),))) == set()


def test_filters_of_a_query_and_no_filters(tmp_path):
    from core.types import Query

    cat, ids = _catalog_with(tmp_path, [(str(tmp_path / "a.jpg"), {"taken_at": 100.0}),
                                        (str(tmp_path / "b.jpg"), {"taken_at": 300.0})])
    assert not Filters.of(Query.text("x"))
    assert cat.allowed_ids(Filters.of(Query.text("x"))) is None  # everything: no set to build
    only = Filters.of(Query(after=200.0, before=400.0))
    assert only and cat.allowed_ids(only) == {ids[str(tmp_path / "b.jpg")]}
    assert cat.ids_passing(Filters(), 10) == [ids[str(tmp_path / "b.jpg")], ids[str(tmp_path / "a.jpg")]]


def test_index_search_takes_the_allowed_set(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    vecs = _unit(rng, 200)
    index = VectorIndex(tmp_path / "i.hnsw", "m", DIM)
    index.add(np.arange(1, 201), vecs)
    # a video's later moments (labels above the media id) go with their media id
    index.add(np.array([label_of(7, 1), label_of(7, 2)]), _unit(rng, 2))
    far = -vecs[99]  # the one allowed photo is the worst match for this query
    labels, _ = index.knn(far, 10, allowed={100})
    assert labels.tolist() == [100]
    labels, _ = index.knn(far, 10, allowed={7, 100})
    assert sorted(labels.tolist()) == sorted([7, label_of(7, 1), label_of(7, 2), 100])
    assert index.knn(far, 10, allowed=set())[0].tolist() == []
    # many allowed: hnswlib's own filter, which gives the same answer here
    allowed = set(range(1, 201, 2))
    exact_labels, _ = index.knn(vecs[0], 30, allowed=allowed)
    monkeypatch.setattr("core.search.index.EXACT_BELOW", 0)
    labels, _ = index.knn(vecs[0], 30, allowed=allowed)
    assert len(labels) == 30 and {int(x) & ((1 << 40) - 1) for x in labels} <= allowed
    assert len(set(labels.tolist()) & set(exact_labels.tolist())) >= 27
    assert index.knn(far, 10, allowed={100})[0].tolist() == [100]


def test_exact_search_takes_the_allowed_set():
    from core.search.scoring import ExactSearch

    rng = np.random.default_rng(0)
    vecs = _unit(rng, 50)
    exact = ExactSearch(np.arange(1, 51), vecs)
    labels, _ = exact.knn(-vecs[9], 5, allowed={10, 20})
    assert sorted(labels.tolist()) == [10, 20]


# -- 3. the vector index ----------------------------------------------------------------------
def test_ef_is_set_per_query_not_only_raised(tmp_path):
    rng = np.random.default_rng(0)
    index = VectorIndex(tmp_path / "i.hnsw", "m", DIM)
    index.add(np.arange(1, 701), _unit(rng, 700))
    assert len(index.knn(_unit(rng, 1)[0], 500)[0]) == 500
    assert index._index.ef == HNSW_EF_SEARCH
    assert len(index.knn(_unit(rng, 1)[0], 5)[0]) == 5
    assert index._index.ef == HNSW_EF_SEARCH
    found, _ = index.knn_many(_unit(rng, 3), 300)
    assert found.shape == (3, 300) and index._index.ef == HNSW_EF_SEARCH


def _catalog_of_vectors(tmp_path, n: int, videos: dict[int, int] | None = None,
                        model: str = "m") -> tuple[Catalog, dict[int, np.ndarray]]:
    """A catalog of n indexed photos (media ids 1..n); `videos` maps a media id to its number
    of moments. Returns it and each label's vector."""
    rng = np.random.default_rng(1)
    cat = Catalog(tmp_path / "catalog.db")
    folder = cat.add_folder(str(tmp_path / "p"))
    with cat.write() as w:
        ids = [cat.insert_media(w, folder, str(tmp_path / "p" / f"{i}.jpg"), 1, 0, f"h{i}")
               for i in range(n)]
    items, truth = [], {}
    for media_id in ids:
        moments = (videos or {}).get(media_id, 1)
        vecs = _unit(rng, moments)
        items.append((media_id, vecs if moments > 1 else vecs[0],
                      {"times": list(range(moments))} if moments > 1 else {}))
        for frame in range(moments):
            truth[label_of(media_id, frame)] = vecs[frame]
    cat.store_vectors(model, items, [])
    return cat, truth


def test_the_catalog_walks_every_vector_in_blocks_in_label_order(tmp_path):
    cat, truth = _catalog_of_vectors(tmp_path, 40, videos={5: 3, 39: 4})
    rng = np.random.default_rng(9)
    # another model's vectors for the same photos are not this model's
    cat.store_vectors("other", [(m, _unit(rng, 1)[0], {}) for m in range(1, 41)], [])

    def order(labels):
        return sorted(labels, key=lambda x: (x & ((1 << 40) - 1), x >> 40))

    for block in (1, 3, 7, 1000):
        blocks = list(cat.iter_vectors("m", block=block))
        assert all(len(b[0]) <= block for b in blocks)
        labels = np.concatenate([b[0] for b in blocks]).tolist()
        assert labels == order(truth)
        got = np.concatenate([b[1] for b in blocks])
        assert np.array_equal(got, np.stack([truth[x] for x in labels]))
    # rows newer than a seq (through the seq index): a photo and a video embedded again
    seq = cat.max_seq("m")
    again = {3: _unit(rng, 1), 39: _unit(rng, 2)}
    cat.store_vectors("m", [(3, again[3][0], {}), (39, again[39], {"times": [0, 1]})], [])
    for block in (1, 2, 100):
        newer = list(cat.iter_vectors("m", since_seq=seq, block=block))
        labels = np.concatenate([b[0] for b in newer]).tolist()
        assert labels == [3, 39, label_of(39, 1)]
        assert np.array_equal(np.concatenate([b[1] for b in newer]),
                              np.vstack([again[3], again[39]]))
    assert list(cat.iter_vectors("m", since_seq=cat.max_seq("m"))) == []
    assert cat.vector_count("m") == 40 and cat.vector_count("m", moments=True) == 43


def test_a_reader_interrupted_while_waiting_leaves_the_lock_usable():
    from core.search.index import RWLock

    lock = RWLock()
    with lock.write():
        real_wait = lock._cond.wait

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt  # Ctrl-C during a search that waits for a rebuild's batch

        lock._cond.wait = interrupted
        with pytest.raises(KeyboardInterrupt), lock.read():
            pass
        lock._cond.wait = real_wait
    done = threading.Event()

    def writer():
        with lock.write():
            done.set()

    threading.Thread(target=writer, daemon=True).start()
    assert done.wait(5) and lock._readers_waiting == 0


def test_search_during_a_rebuild_finds_every_vector_while_the_stand_in_shrinks(tmp_path,
                                                                               monkeypatch):
    """The rebuild adds block by block, and the stand-in lets go of each block the index
    holds: at every step, the answer is the exact one, and the stand-in ends empty."""
    from core.search.scoring import ExactSearch, RebuildSearch

    cat, truth = _catalog_of_vectors(tmp_path, 60, videos={10: 3})
    labels = np.array(sorted(truth), np.int64)
    exact = ExactSearch(labels, np.stack([truth[x] for x in labels]))
    monkeypatch.setattr(VectorIndex, "REBUILD_BLOCK", 7)
    monkeypatch.setattr("core.search.index.ADD_BATCH", 3)
    standin = ExactSearch.from_blocks(cat.iter_vectors("m", dtype=np.float16, block=5),
                                      dtype=np.float16,
                                      exact=lambda ls: (ls, np.stack([truth[int(x)] for x in ls])))
    building = VectorIndex(tmp_path / "i.hnsw", "m", DIM)
    search = RebuildSearch(building, standin)
    queries = _unit(np.random.default_rng(5), 4)
    sizes = []

    def progress(last_label):
        search.taken(last_label)
        sizes.append((len(standin), len(building)))
        for q in queries:
            got, scores = search.knn(q, 12)
            want, want_scores = exact.knn(q, 12)
            assert got.tolist() == want.tolist()
            assert np.allclose(scores, want_scores, atol=1e-5)
        got, _ = search.knn(queries[0], 5, allowed={10, 20})
        assert sorted(got.tolist()) == sorted([10, label_of(10, 1), label_of(10, 2), 20])

    building.rebuild(cat, save=False, progress=progress)
    assert len(sizes) == 9  # 63 vectors in blocks of 7
    assert [s[0] for s in sizes] == sorted((s[0] for s in sizes), reverse=True)
    assert sizes[0][0] < len(truth) and sizes[-1] == (0, len(truth))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked writes are Linux's")
def test_the_index_file_is_written_by_a_child_so_no_thread_waits_on_it(tmp_path, monkeypatch):
    """hnswlib holds Python's interpreter lock for a whole save (seconds at 200k photos):
    written in this process, it froze every thread, the app's window too."""
    monkeypatch.setattr(index_module, "FORK_MIN_BYTES", 0)  # as a large index is
    rng = np.random.default_rng(0)
    cat = Catalog(tmp_path / "catalog.db")
    index = VectorIndex(tmp_path / "i.hnsw", "m", DIM)
    index.add(np.arange(1, 501), _unit(rng, 500))
    writers = tmp_path / "writers"

    class Recording:  # the index, noting which process writes its file
        def __init__(self, real):
            self._real = real

        def save_index(self, path):
            with open(writers, "a") as f:
                f.write(f"{os.getpid()}\n")
            return self._real.save_index(path)

        def __getattr__(self, name):
            return getattr(self._real, name)

    real = index._index
    index._index = Recording(real)
    index.save(cat)
    (writer,) = writers.read_text().split()
    assert int(writer) != os.getpid()
    index._index = real
    assert _labels_in_file(tmp_path / "i.hnsw") == set(range(1, 501))

    class Failing(Recording):
        def save_index(self, path):
            raise RuntimeError("Cannot open file")

    index.add(np.arange(501, 511), _unit(rng, 10))
    index._index = Failing(real)
    with pytest.raises(OSError, match="could not be written"):
        index.save(cat)
    index._index = real
    assert _labels_in_file(tmp_path / "i.hnsw") == set(range(1, 501))  # the last good file


def test_without_a_process_to_fork_the_index_is_written_here(tmp_path, monkeypatch):
    def no_fork():
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(index_module, "FORK_MIN_BYTES", 0)  # as a large index is
    cat = Catalog(tmp_path / "catalog.db")
    index = VectorIndex(tmp_path / "i.hnsw", "m", DIM)
    index.add(np.arange(1, 51), _unit(np.random.default_rng(0), 50))
    index.save(cat)
    assert _labels_in_file(tmp_path / "i.hnsw") == set(range(1, 51))
    assert cat.index_header("m").count == 50


def test_a_small_index_is_written_here_a_fork_would_stall_longer(tmp_path, monkeypatch):
    forks = []

    def fork():
        forks.append(1)
        raise OSError(12, "Cannot allocate memory")  # written here then, as without a fork

    monkeypatch.setattr(os, "fork", fork)
    cat = Catalog(tmp_path / "catalog.db")
    index = VectorIndex(tmp_path / "i.hnsw", "m", DIM)
    index.add(np.arange(1, 51), _unit(np.random.default_rng(0), 50))
    index.save(cat)
    assert forks == [] and _labels_in_file(tmp_path / "i.hnsw") == set(range(1, 51))
    monkeypatch.setattr(index_module, "FORK_MIN_BYTES", 0)  # as a large one
    index.save(cat)
    assert forks == [1] or not index_module.FORK_WRITES


def _labels_in_file(path) -> set[int]:
    import hnswlib

    raw = hnswlib.Index(space="ip", dim=DIM)
    raw.load_index(str(path))
    return set(int(x) for x in raw.get_ids_list())


def test_two_threads_saving_at_once_never_corrupt(tmp_path):
    rng = np.random.default_rng(0)
    cat = Catalog(tmp_path / "catalog.db")
    index = VectorIndex(tmp_path / "i.hnsw", "m", DIM)
    index.add(np.arange(1, 2001), _unit(rng, 2000))
    errors = []

    def saver():
        try:
            for _ in range(15):
                index.save(cat)
        except Exception as exc:  # noqa: BLE001 - any failure is the defect
            errors.append(exc)

    threads = [threading.Thread(target=saver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    again = VectorIndex(tmp_path / "i.hnsw", "m", DIM)
    assert again._try_load(cat) is None  # the file is whole and is the one its header names
    assert len(again._index.get_ids_list()) == 2000
    assert cat.index_header("m").generation == 45


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked writes are Linux's")
def test_adds_during_a_save_go_on_and_its_header_counts_what_its_file_holds(tmp_path,
                                                                           monkeypatch):
    """The file is the index as it was when the save began (the forked writer's snapshot):
    labels added while it is written go on at once, and are in neither that file nor its
    header, but in the next save's."""
    monkeypatch.setattr(index_module, "FORK_MIN_BYTES", 0)  # as a large index is
    rng = np.random.default_rng(0)
    cat = Catalog(tmp_path / "catalog.db")
    index = VectorIndex(tmp_path / "i.hnsw", "m", DIM)
    index.add(np.arange(1, 101), _unit(rng, 100))
    saving, go_on = tmp_path / "saving", tmp_path / "go-on"
    real = index._index.save_index

    def slow_save(path):  # runs in the writer process: signals through files
        saving.touch()
        deadline = time.monotonic() + 20
        while not go_on.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        real(path)

    monkeypatch.setattr(index, "_index", _Wrapped(index._index, save_index=slow_save))
    saver = threading.Thread(target=index.save, args=(cat,))
    saver.start()
    deadline = time.monotonic() + 20
    while not saving.exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    index.add(np.arange(101, 111), _unit(rng, 10))  # returns while the file is written
    assert saver.is_alive()
    go_on.touch()
    saver.join(20)
    assert cat.index_header("m").count == 100
    assert _labels_in_file(tmp_path / "i.hnsw") == set(range(1, 101))
    assert len(index) == 110
    index.save(cat)
    assert cat.index_header("m").count == 110
    assert _labels_in_file(tmp_path / "i.hnsw") == set(range(1, 111))


class _Wrapped:
    def __init__(self, inner, **overrides):
        self._inner, self._overrides = inner, overrides

    def __getattr__(self, name):
        return self._overrides.get(name) or getattr(self._inner, name)


# -- 2. thumbnails and the one atomic write ---------------------------------------------------
def test_atomic_write_uses_a_unique_temp_file_per_writer(tmp_path, monkeypatch):
    from core.media import thumbnails

    dest = tmp_path / "out.bin"
    seen = []
    barrier = threading.Barrier(2)

    def write(payload):
        with thumbnails.atomic_path(dest) as tmp:
            seen.append(tmp)
            with open(tmp, "wb") as f:
                f.write(payload * 10000)
            barrier.wait(5)  # both temp files exist at once

    threads = [threading.Thread(target=write, args=(bytes([i]),)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 2
    assert dest.read_bytes() in (b"\x01" * 10000, b"\x02" * 10000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    # a failed write leaves the old file and no temp file
    with pytest.raises(RuntimeError):
        with thumbnails.atomic_path(dest) as tmp:
            open(tmp, "wb").write(b"half")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    assert len(dest.read_bytes()) == 10000


def test_thumbnails_are_removed_with_their_temp_files(tmp_path):
    from PIL import Image

    from core.media import thumbnails

    image = Image.new("RGB", (640, 480), (200, 10, 10))
    for media_id, frame in ((12, 0), (12, 3), (123, 0)):
        thumbnails.save_thumbnail(image, thumbnails.thumb_path(tmp_path, media_id, frame))
    left_over = thumbnails.thumb_path(tmp_path, 12).with_name("12.jpg.x1y2.tmp")
    left_over.write_bytes(b"")
    with Image.open(thumbnails.thumb_path(tmp_path, 12)) as thumb:
        assert max(thumb.size) == thumbnails.THUMB_SIZE == 384
    assert thumbnails.remove_thumbnails(tmp_path, [12]) == 3
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["123.jpg"]
    assert thumbnails.decode_size(32) == 384 and thumbnails.decode_size(512) == 512


# -- 5. the catalog's writes ------------------------------------------------------------------
def test_writes_take_the_database_lock_when_they_begin(tmp_path):
    cat = Catalog(tmp_path / "catalog.db")
    other = sqlite3.connect(tmp_path / "catalog.db", timeout=0, isolation_level=None)
    with cat.write():
        # BEGIN IMMEDIATE: another writer is refused now, not at this transaction's first write
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()


def _open_fds_to(path) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                count += 1
        except OSError:
            pass
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_each_thread_closes_its_own_connection(tmp_path):
    cat = Catalog(tmp_path / "catalog.db")
    cat.folders()
    before = _open_fds_to(tmp_path / "catalog.db")
    for _ in range(5):
        t = threading.Thread(target=cat.folders)
        t.start()
        t.join()
    # SQLite may keep one closed connection's descriptor while another holds a lock on the
    # file (POSIX locks are per process), and reuse it: at most one more, not one per thread
    assert _open_fds_to(tmp_path / "catalog.db") <= before + 1
    cat.close()
    assert _open_fds_to(tmp_path / "catalog.db") == 0


def test_a_parent_folder_and_its_absorbed_children_land_together(tmp_path):
    from core.library import Library

    (tmp_path / "A" / "one").mkdir(parents=True)
    (tmp_path / "A" / "two").mkdir()
    with Library(tmp_path / "home") as lib:
        lib.add_folder(tmp_path / "A" / "one")
        lib.add_folder(tmp_path / "A" / "two")
        before = lib.catalog.db.execute("SELECT id, path FROM folders ORDER BY id").fetchall()
        # absorbing fails midway (after the first child moved over)
        lib.catalog.db.execute(
            "CREATE TEMP TRIGGER fail_second BEFORE DELETE ON folders "
            f"WHEN old.path = '{tmp_path / 'A' / 'two'}' BEGIN SELECT RAISE(ABORT, 'boom'); END")
        with pytest.raises(sqlite3.DatabaseError, match="boom"):
            lib.add_folder(tmp_path / "A")
        after = lib.catalog.db.execute("SELECT id, path FROM folders ORDER BY id").fetchall()
        assert after == before


# -- 4. one writer per library home -----------------------------------------------------------
_HOLDER = """
import sys, time
from core.library import Library
lib = Library(sys.argv[1])
with lib.writing():
    print("holding", flush=True)
    sys.stdin.read()
lib.close()
"""


def test_a_second_writer_is_told_the_library_is_busy(tmp_path):
    from helpers import run_cli

    home = tmp_path / "home"
    (tmp_path / "Pictures").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(home)], env=env, cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        busy = run_cli("remove", str(tmp_path / "Pictures"), home=home, check=False,
                       env={"SNAPSEEK_BUSY_WAIT": "1"}, timeout=60)
        assert busy.returncode != 0
        lines = busy.stderr.strip().splitlines()
        assert len(lines) == 1 and "this library is busy" in lines[0], busy.stderr
        assert "Traceback" not in busy.stderr
        assert time.monotonic() - started < 30
        # readers go on while a writer works
        status = run_cli("status", home=home, check=False, timeout=60)
        assert status.returncode == 0, status.stderr
    finally:
        holder.stdin.close()
        holder.wait(30)
    # once the first writer is done, the second gets its turn
    done = run_cli("remove", str(tmp_path / "Pictures"), home=home, check=False, timeout=60)
    assert "busy" not in done.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/bin/mount"),
                    reason="mounting a small tmpfs needs root")
def test_an_index_save_on_a_full_disk_keeps_the_last_good_file(tmp_path):
    """hnswlib writes what fits and says nothing when the disk is full: the short file must
    never replace the good one or be recorded in the header."""
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("mount is not permitted here")
    try:
        rng = np.random.default_rng(0)
        cat = Catalog(tmp_path / "catalog.db")  # the catalog on the big disk
        index = VectorIndex(disk / "i.hnsw", "m", DIM)
        index.add(np.arange(1, 201), _unit(rng, 200))
        index.save(cat)
        good = cat.index_header("m")
        index.add(np.arange(201, 5001), _unit(rng, 4800))  # far more than 1 MB
        with pytest.raises(OSError, match="No space left"):
            index.save(cat)
        assert cat.index_header("m") == good  # the header still names the good file
        assert [p.name for p in disk.iterdir()] == ["i.hnsw"]  # no short temp file left
        again = VectorIndex(disk / "i.hnsw", "m", DIM)
        assert again._try_load(cat) is None and len(again._index.get_ids_list()) == 200
    finally:
        subprocess.run(["umount", str(disk)], check=False)
