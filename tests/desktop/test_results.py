"""The results model's background work: every load ends in a picture or an error tile."""

from __future__ import annotations

import pytest
from core.types import SearchResult

pytestmark = pytest.mark.usefixtures("qapp")


def test_a_thumbnail_that_fails_to_load_becomes_an_error_tile(qtbot):
    from desktop.results import CellRole, ResultsModel, ThumbnailRole

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
    runner.close()
    qtbot.wait(100)
    assert got == []
    runner.run(lambda: "after", got.append)
    qtbot.wait(100)
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
