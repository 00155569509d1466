"""The results model's background work: every load ends in a picture or an error tile."""

from __future__ import annotations

import pytest
from driving import after_posted_events

from core.types import SearchResult

pytestmark = pytest.mark.usefixtures("qapp")


def test_a_thumbnail_that_fails_to_load_becomes_an_error_tile(qtbot):
    from desktop.search.results import CellRole, ResultsModel, ThumbnailRole

    def broken(media_id, frame):
        raise OSError("thumbnail folder unreadable")

    model = ResultsModel(broken)
    model.set_results([SearchResult(media_id=1, path="/photos/a.jpg", score=1.0)])
    index = model.index(0)
    assert index.data(ThumbnailRole) is None  # loading: "…"
    qtbot.waitUntil(lambda: index.data(ThumbnailRole) is not None, timeout=5_000)
    assert index.data(ThumbnailRole).isNull()  # "no preview", not "…" forever
    assert index.data(CellRole).thumbnail.isNull()


def test_a_closed_runner_delivers_nothing(qtbot):
    import threading

    from desktop.tasks import TaskRunner

    runner = TaskRunner()
    gate, got = threading.Event(), []
    runner.run(lambda: gate.wait(5) and "late", got.append, got.append)
    gate.set()
    runner.close()  # the task ended: its answer is posted, and must be dropped
    after_posted_events(qtbot)
    assert got == []
    assert runner.run(lambda: "after", got.append).cancelled
    after_posted_events(qtbot)
    assert got == []


def test_a_failed_task_without_an_error_path_is_logged(qtbot, caplog):
    from desktop.tasks import TaskRunner

    runner = TaskRunner()
    runner.run(lambda: 1 / 0)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5_000)
    assert "ZeroDivisionError" in caplog.text


def test_background_tasks_reuse_their_workers_catalog_connections(qtbot, library):
    """A long session runs thousands of tasks; each must not leave a SQLite connection behind."""
    import gc
    import sqlite3

    from desktop.tasks import TaskRunner

    def connections() -> int:
        gc.collect()
        return sum(type(o) is sqlite3.Connection for o in gc.get_objects())

    runner = TaskRunner(max_threads=4)
    for _ in range(20):  # every worker has made its connection
        runner.run(library.catalog.media_count)
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    before = connections()
    for _ in range(300):
        runner.run(library.catalog.media_count)
    qtbot.waitUntil(lambda: not runner.busy, timeout=30_000)
    # at most one more per worker that had not run yet (the pool starts workers lazily)
    assert connections() <= before + 4
    runner.close()


@pytest.fixture
def gated(tmp_path):
    """A model whose thumbnail loads wait on a gate, recording which ones ran."""
    import threading

    from PIL import Image

    from desktop.search.results import ResultsModel

    thumb = tmp_path / "thumb.png"
    Image.new("RGB", (8, 8), "red").save(thumb)
    gate, loaded = threading.Event(), []

    def load(media_id, frame):
        gate.wait(10)
        loaded.append(media_id)
        return str(thumb)

    model = ResultsModel(load)
    model.set_results([SearchResult(media_id=i, path=f"/photos/{i}.jpg", score=1.0)
                       for i in range(1, 5_001)])
    yield model, gate, loaded
    gate.set()  # a failed test must not leave loads waiting
    model.close()


def test_a_fast_scroll_loads_what_is_on_screen_not_everything_it_passed(qtbot, gated):
    """Scrolling past 5,000 cells must not queue 5,000 loads: the cells painted last (on
    screen now) load first, the ones scrolled past long ago are dropped and asked again only
    if painted again."""
    from desktop.search.results import CellRole, ResultsModel

    model, gate, loaded = gated
    for row in range(5_000):  # the view paints every cell once on its way down
        model.index(row).data(CellRole)
    assert model.pending_loads() <= ResultsModel.LOADS_WAITING + 4, model.pending_loads()
    changed = []
    model.dataChanged.connect(lambda first, last, roles: changed.append((first.row(), last.row())))
    gate.set()
    qtbot.waitUntil(lambda: model.pending_loads() == 0, timeout=20_000)
    assert len(loaded) <= ResultsModel.LOADS_WAITING + 4, len(loaded)
    # once the queue is empty, the view is told to paint every row again: a cell still on
    # screen whose ask was dropped (a 4K screen of small thumbnails) asks again
    assert (0, 4_999) in changed, changed[-3:]
    # the four in flight when the scroll began, then the newest first
    assert set(range(4_990, 5_001)) <= set(loaded)
    assert model.index(4_999).data(CellRole).thumbnail is not None
    assert model.index(1_000).data(CellRole).thumbnail is None  # dropped: asked again now
    qtbot.waitUntil(lambda: model.index(1_000).data(CellRole).thumbnail is not None,
                    timeout=5_000)


def test_thumbnails_kept_in_memory_are_bounded(qtbot, gated):
    """A day of scrolling through 200,000 photos keeps the recent thumbnails, not all."""
    from desktop.search.results import CellRole, ResultsModel

    model, gate, loaded = gated
    gate.set()
    for start in range(0, 5_000, 200):
        for row in range(start, start + 200):
            model.index(row).data(CellRole)
        qtbot.waitUntil(lambda: model.pending_loads() == 0, timeout=20_000)
    assert len(loaded) == 5_000
    assert model.thumbnails_kept() <= ResultsModel.THUMBNAILS_KEPT < 5_000
    assert model.index(4_999).data(CellRole).thumbnail is not None  # the recent ones stay
    assert model.index(0).data(CellRole).thumbnail is None  # the oldest went: asked again
    qtbot.waitUntil(lambda: model.index(0).data(CellRole).thumbnail is not None,
                    timeout=5_000)


def test_a_cancelled_job_never_runs_or_answers(qtbot):
    import threading

    from desktop.tasks import TaskRunner

    runner = TaskRunner(max_threads=1)
    gate, ran, got = threading.Event(), [], []
    running = runner.run(lambda: gate.wait(5) and ran.append("first") or "first", got.append,
                         got.append)
    queued = runner.run(lambda: ran.append("second") or "second", got.append, got.append)
    queued.cancel()  # not started: never runs
    running.cancel()  # started: runs to its end, its answer is dropped
    runner.run(lambda: "third", got.append)
    gate.set()
    qtbot.waitUntil(lambda: got == ["third"], timeout=5_000)
    assert ran == ["first"]
    # "first" ended before "third" began (one worker), so its dropped answer came before
    assert runner.in_flight == 0
    assert got == ["third"] and not runner.busy
    runner.close()


def test_changes_to_the_library_run_one_at_a_time_in_order(qtbot):
    """Two folder changes asked quickly never interleave, and searches are not held up."""
    import threading
    import time

    from desktop.tasks import TaskRunner

    runner = TaskRunner(max_threads=2)
    inside, most, order = [0], [0], []
    lock = threading.Lock()

    def change(name):
        def work():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1
                order.append(name)
            return name
        return work

    done = []
    for name in ("add", "remove", "rename", "hide"):
        runner.run(change(name), done.append, changes=True)
    runner.run(lambda: "search", done.append)
    qtbot.waitUntil(lambda: len(done) == 5, timeout=5_000)
    assert most[0] == 1 and order == ["add", "remove", "rename", "hide"]
    assert done[0] == "search"  # not queued behind the changes
    runner.close()


def test_a_change_asked_just_before_its_dialog_closes_still_happens(qtbot):
    """The People dialog renames someone and is closed while a long change (adding a folder)
    holds the lane: the rename still runs; only its answer goes nowhere."""
    import threading

    from desktop.tasks import TaskRunner

    window, dialog = TaskRunner(), TaskRunner()
    gate, happened, answers = threading.Event(), [], []
    window.run(lambda: gate.wait(5), changes=True)
    dialog.run(lambda: happened.append("renamed"), answers.append, changes=True)
    dialog.close(0)
    gate.set()
    # a change asked after it, on the same lane, answers after the rename's answer would have
    after = []
    window.run(lambda: "after", after.append, changes=True)
    qtbot.waitUntil(lambda: bool(after), timeout=5_000)
    assert happened == ["renamed"] and answers == []
    window.close()
