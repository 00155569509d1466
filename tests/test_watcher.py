"""Watched folders with real watchdog observers: the catalog and search follow the disk."""

from __future__ import annotations

import errno
import shutil
import time

import pytest
from helpers import make_photo

from core.library import Library
from core.types import Notice, Query


def wait_for(condition, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def disk_photos(folder) -> set[str]:
    return {str(p) for p in folder.rglob("*") if p.is_file() and p.suffix in (".jpg", ".png")}


def indexed(lib) -> dict[str, int]:
    """path → media id for media that have a vector of the library's model."""
    rows = lib.catalog.db.execute(
        "SELECT m.path, m.id FROM media m JOIN embeddings e ON e.media_id=m.id "
        "WHERE e.model_id=?", [lib.embedder.model_id]).fetchall()
    return dict(rows)


def consistent(lib, folder) -> bool:
    """Catalog, index and disk agree."""
    paths = indexed(lib)
    return (set(paths) == disk_photos(folder)
            and lib.index.ids == set(paths.values())
            and lib.catalog.media_count() == len(paths))


@pytest.fixture
def watched(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    for i, colour in enumerate(["red", "green", "blue"]):
        make_photo(folder / f"{colour}.jpg", colour, seed=i)
    make_photo(folder / "trip" / "a.jpg", "yellow", "square", seed=4)
    make_photo(folder / "trip" / "b.jpg", "purple", "triangle", seed=5)
    lib = Library(tmp_path / "home", model=random_model)
    lib.add_folder(folder)
    notices = []
    lib.subscribe(lambda e: isinstance(e, Notice) and notices.append(e))
    lib.notices = notices
    lib.start_watching(settle=0.3)
    wait_for(lambda: consistent(lib, folder), what="initial reconcile")
    yield lib, folder
    lib.close()


def test_new_photo_becomes_searchable(watched):
    lib, folder = watched
    make_photo(folder / "new" / "orange.jpg", "orange", "stripe", seed=9)
    wait_for(lambda: consistent(lib, folder), what="new photo indexed")
    hit = lib.search(Query.image(folder / "new" / "orange.jpg", k=1))[0]
    assert hit.path == str(folder / "new" / "orange.jpg")


def test_slow_copy_is_indexed_once_complete_not_recorded_broken(watched, tmp_path):
    lib, folder = watched
    source = make_photo(tmp_path / "big.jpg", "green", "stripe", size=(1600, 1200), seed=3)
    data = source.read_bytes()
    with open(folder / "slow.jpg", "wb") as f:
        for i in range(0, len(data), len(data) // 4 + 1):
            f.write(data[i:i + len(data) // 4 + 1])
            f.flush()
            time.sleep(0.15)
    wait_for(lambda: consistent(lib, folder), what="slow copy indexed")
    assert lib.catalog.error_count() == 0


def test_rename_and_moves_keep_vectors(watched):
    lib, folder = watched
    before = indexed(lib)
    (folder / "red.jpg").rename(folder / "crimson.jpg")
    (folder / "green.jpg").rename(folder / "trip" / "green.jpg")
    (folder / "trip").rename(folder / "journey")
    wait_for(lambda: consistent(lib, folder), what="moves followed")
    after = indexed(lib)
    assert after[str(folder / "crimson.jpg")] == before[str(folder / "red.jpg")]
    assert after[str(folder / "journey" / "green.jpg")] == before[str(folder / "green.jpg")]
    assert after[str(folder / "journey" / "a.jpg")] == before[str(folder / "trip" / "a.jpg")]
    assert sorted(after.values()) == sorted(before.values())


def indexing_waits_at_its_gate() -> bool:
    """Whether a thread is parked in IndexingPipeline.run's wait for resume()."""
    import sys

    for frame in sys._current_frames().values():
        inner = frame.f_code.co_name
        while frame is not None:
            if frame.f_code.co_name == "run" and frame.f_code.co_filename.endswith("pipeline.py"):
                return inner == "wait" and "_resume.wait()" in _line(frame)
            frame = frame.f_back
    return False


def _line(frame) -> str:
    import linecache

    return linecache.getline(frame.f_code.co_filename, frame.f_lineno)


def test_a_photo_moved_into_a_folder_then_the_folder_renamed_keeps_its_id(watched):
    # the second move comes while the first still settles (0.3 s here): scanned apart, the
    # first would find neither end on disk and forget the photo
    lib, folder = watched
    before = indexed(lib)
    (folder / "green.jpg").rename(folder / "trip" / "green.jpg")
    (folder / "trip").rename(folder / "journey")  # at once: the first has not settled yet
    wait_for(lambda: consistent(lib, folder), what="moves followed")
    after = indexed(lib)
    assert after[str(folder / "journey" / "green.jpg")] == before[str(folder / "green.jpg")]
    assert sorted(after.values()) == sorted(before.values())


def test_delete_and_move_out_forget_move_in_adds(watched, tmp_path):
    lib, folder = watched
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "blue.jpg").unlink()
    shutil.move(str(folder / "trip"), str(outside / "trip"))
    make_photo(outside / "in.jpg", "orange", "circle", seed=12)
    shutil.move(str(outside / "in.jpg"), str(folder / "in.jpg"))
    wait_for(lambda: consistent(lib, folder), what="deletes and moves followed")
    assert set(indexed(lib)) == {str(folder / "red.jpg"), str(folder / "green.jpg"),
                                 str(folder / "in.jpg")}
    results = lib.search(Query.text("blue", k=10))
    assert all("blue.jpg" not in r.path and "/trip/" not in r.path for r in results)


def test_burst_of_2000_files(watched, tmp_path):
    lib, folder = watched
    staging = tmp_path / "burst"
    for i in range(2000):
        make_photo(staging / f"b{i:04d}.png", ["red", "green", "blue", "yellow"][i % 4],
                   ["circle", "square"][i // 4 % 2], size=(48, 36), seed=i, exif_date=None)
    shutil.move(str(staging), str(folder / "burst"))
    wait_for(lambda: consistent(lib, folder), timeout=240, what="2,000 files indexed")
    assert len(indexed(lib)) == 2005


def test_burst_of_10000_files(watched, tmp_path):
    lib, folder = watched
    staging = tmp_path / "burst10k"
    staging.mkdir()
    tiles = [tmp_path / f"tile{i}.png" for i in range(8)]
    for i, tile in enumerate(tiles):
        make_photo(tile, ["red", "green", "blue", "yellow"][i % 4], size=(40, 30), seed=i,
                   exif_date=None)
    data = [t.read_bytes() for t in tiles]
    for i in range(10_000):
        # distinct bytes per file: each is a new photo, not a copy of another
        (staging / f"f{i:05d}.png").write_bytes(data[i % 8] + i.to_bytes(4, "little"))
    shutil.move(str(staging), str(folder / "burst10k"))
    wait_for(lambda: consistent(lib, folder), timeout=600, what="10,000 files indexed")
    assert len(indexed(lib)) == 10_005


def test_watched_folder_deleted_while_watching_keeps_running(watched, tmp_path):
    lib, folder = watched
    shutil.rmtree(folder / "trip")
    wait_for(lambda: consistent(lib, folder), what="deleted sub-folder followed")
    gone = tmp_path / "gone"
    folder.rename(gone)  # the watched folder itself disappears (unplugged disk)
    lib.background.reconcile()
    wait_for(lambda: any(f"{folder} is away" in n.text for n in lib.notices), what="notice")
    assert lib.background._thread.is_alive()
    assert lib.catalog.media_count() == 3  # kept until the disk comes back
    gone.rename(folder)
    make_photo(folder / "back.jpg", "orange", seed=3)
    lib.background.reconcile()
    wait_for(lambda: consistent(lib, folder), what="folder back")


def test_reconcile_catches_changes_made_while_closed(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    for i, colour in enumerate(["red", "green", "blue"]):
        make_photo(folder / f"{colour}.jpg", colour, seed=i)
    home = tmp_path / "home"
    with Library(home, model=random_model) as lib:
        lib.add_folder(folder)
        lib.update()
        red_id = indexed(lib)[str(folder / "red.jpg")]
    (folder / "red.jpg").rename(folder / "renamed.jpg")
    (folder / "green.jpg").unlink()
    make_photo(folder / "new.jpg", "purple", seed=8)
    with Library(home) as lib:
        lib.start_watching(settle=0.3)
        wait_for(lambda: consistent(lib, folder), what="start-up reconcile")
        assert indexed(lib)[str(folder / "renamed.jpg")] == red_id


def test_inotify_limit_falls_back_to_polling_and_says_so(tmp_path, random_model):
    from watchdog.observers import Observer

    class LimitedObserver(Observer):
        def schedule(self, *a, **k):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    folder = tmp_path / "Pictures"
    make_photo(folder / "red.jpg", "red")
    with Library(tmp_path / "home", model=random_model) as lib:
        notices = []
        lib.subscribe(lambda e: isinstance(e, Notice) and notices.append(e))
        lib.add_folder(folder)
        lib.start_watching(settle=0.2, poll_interval=0.3, observer_factory=LimitedObserver)
        wait_for(lambda: consistent(lib, folder), what="initial reconcile")
        assert str(folder) in lib.background.polling
        assert len([n for n in notices if "max_user_watches" in n.text]) == 1
        make_photo(folder / "green.jpg", "green", seed=1)
        wait_for(lambda: consistent(lib, folder), what="polled change indexed")


def test_pause_resume_and_shutdown_mid_batch_stay_consistent(tmp_path, random_model):
    folder = tmp_path / "Pictures"
    for i in range(300):
        make_photo(folder / f"p{i:03d}.jpg", ["red", "green", "blue"][i % 3], size=(400, 300),
                   seed=i)
    home = tmp_path / "home"
    lib = Library(home, model=random_model)
    lib.add_folder(folder)
    states = []
    lib.subscribe(lambda e: states.append(getattr(e, "state", None)))
    lib.start_watching(settle=0.2)
    wait_for(lambda: lib.catalog.vector_count(lib.embedder.model_id) > 0, what="indexing started")
    lib.pause()
    wait_for(lambda: "paused" in states, what="the batch in flight finished")
    frozen = lib.catalog.vector_count(lib.embedder.model_id)
    # really paused: the indexing thread waits at the pipeline's gate, where it cannot write
    wait_for(indexing_waits_at_its_gate, what="the indexing parked at the pause")
    assert lib.catalog.vector_count(lib.embedder.model_id) == frozen
    lib.resume()
    wait_for(lambda: lib.catalog.vector_count(lib.embedder.model_id) > frozen, what="resumed")
    lib.close()  # mid-indexing: the batch in flight finishes, the index is saved
    with Library(home) as again:
        ids = set(again.catalog.vector_ids(again.embedder.model_id).tolist())
        assert again.index.ids == ids
        assert again.index_state == "loaded"  # the saved index already matched the catalog
        again.update()
        assert len(again.index) == 300 == again.catalog.vector_count(again.embedder.model_id)


def test_a_video_dropped_in_becomes_searchable_and_leaves_with_all_its_moments(watched, tmp_path):
    from helpers import make_video

    lib, folder = watched
    staged = make_video(tmp_path / "staging" / "clip.mp4",
                        [("red", "circle", 3), ("blue", "square", 3), ("green", "stripe", 3)])
    shutil.move(staged, folder / "clip.mp4")

    def labels(video_id):
        return {label >> 40 for label in lib.index.ids if label & ((1 << 40) - 1) == video_id}

    # the catalog commits a batch before the index takes it (and forgets a file before the
    # index does): wait for the index, not only for the catalog
    wait_for(lambda: str(folder / "clip.mp4") in indexed(lib), what="the video indexed")
    video_id = indexed(lib)[str(folder / "clip.mp4")]
    moments = lib.catalog.db.execute("SELECT COUNT(*) FROM embeddings WHERE media_id=?",
                                     [video_id]).fetchone()[0]
    assert moments >= 3  # one vector per moment
    wait_for(lambda: labels(video_id) == set(range(moments)), what="every moment in the index")
    assert any(r.path.endswith("clip.mp4") for r in lib.search(Query.text("x", k=20)))
    (folder / "clip.mp4").unlink()
    wait_for(lambda: str(folder / "clip.mp4") not in indexed(lib), what="the video forgotten")
    wait_for(lambda: not labels(video_id), what="every moment out of the index")
    assert lib.catalog.db.execute("SELECT COUNT(*) FROM embeddings WHERE media_id=?",
                                  [video_id]).fetchone()[0] == 0


def test_removing_a_folder_between_the_vector_write_and_the_index_add_leaves_no_label(
        tmp_path, random_model, monkeypatch):
    """The batch's vectors are committed, then (another thread) the folder is removed, then the
    pipeline adds the batch to the index: no label may outlive its catalog row."""
    import threading

    folder = tmp_path / "Pictures"
    for i in range(6):
        make_photo(folder / f"p{i}.jpg", ["red", "green", "blue"][i % 3], seed=i)
    with Library(tmp_path / "home", model=random_model) as lib:
        lib.add_folder(folder)
        lib.scan()
        real_store = lib.catalog.store_vectors
        removed = []

        def store_then_remove(*a, **k):
            out = real_store(*a, **k)
            if not removed:
                t = threading.Thread(target=lambda: removed.append(lib.remove_folder(folder)))
                t.start()
                t.join()
            return out

        monkeypatch.setattr(lib.catalog, "store_vectors", store_then_remove)
        lib.index_pending()
        assert removed == [6]
        assert lib.catalog.media_count() == 0
        assert lib.index.ids == set() == set(lib.catalog.vector_ids(lib.embedder.model_id).tolist())
    with Library(tmp_path / "home", model=random_model) as again:
        assert again.index.ids == set()


def test_watch_and_unwatch_from_many_threads_start_one_observer_and_leave_none_running(
        tmp_path, random_model):
    import threading

    from core.folders.watcher import BackgroundIndexer

    started, lock = [], threading.Lock()

    class SlowObserver:
        """Takes its time to schedule: the window in which a second watch() could slip in."""

        def __init__(self):
            self.running = False
            with lock:
                started.append(self)

        def schedule(self, *a, **k):
            threading.Event().wait(0.05)

        def start(self):
            self.running = True

        def stop(self):
            self.running = False

        def join(self, timeout=None):
            pass

        def is_alive(self):
            return self.running

    folder = tmp_path / "Pictures"
    folder.mkdir()
    with Library(tmp_path / "home", model=random_model) as lib:
        bg = BackgroundIndexer(lib, observer_factory=SlowObserver)

        def together(*calls):
            gate = threading.Barrier(len(calls))
            threads = [threading.Thread(target=lambda c=c: (gate.wait(), c())) for c in calls]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        together(*[lambda: bg.watch(str(folder))] * 8)
        assert len(started) == 1 and started[0].running
        together(*[lambda: bg.unwatch(str(folder)), lambda: bg.watch(str(folder))] * 4)
        assert sum(o.running for o in started) <= 1  # never two at once for one folder
        assert sum(o.running for o in started) == len(bg._observers)
        bg.stop()
        assert not any(o.running for o in started)
        bg.watch(str(folder))  # a late watch (a folder added while stopping) starts nothing
        assert not any(o.running for o in started)
