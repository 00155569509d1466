"""PySide6 6.12.0 on Python < 3.12 takes a reference from None on every Python data() call
that returns None; enough of them deallocate None and abort the process. These tests pin the
app off that release and keep None off the grid's hot paths."""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import replace

import pytest
from driving import close_window
from PySide6.QtCore import Qt

from core.types import SearchResult

pytestmark = pytest.mark.usefixtures("qapp")

def settle_layout(qtbot, bar, keep=lambda: None) -> None:
    """A list view lays its items out in batches from the event loop: wait for the last.
    `keep` runs on each check (to put back rows that a late search answer replaced)."""
    last = [-1, 0]

    def settled() -> bool:
        keep()
        if bar.maximum() != last[0]:
            last[:] = [bar.maximum(), 0]
        last[1] += 1
        return bar.maximum() > 0 and last[1] > 5

    qtbot.waitUntil(settled, timeout=10_000)


def _results(n: int) -> list[SearchResult]:
    return [SearchResult(media_id=i + 1, path=f"/photos/IMG_{i:05d}.jpg", score=1.0 - i / n)
            for i in range(n)]


PROBE = """
import sys
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from core.types import SearchResult
from desktop.search.results import ResultsModel

app = QApplication([])
model = ResultsModel(lambda media_id, frame: None)
model.set_results([SearchResult(media_id=1, path="/photos/a.jpg", score=1.0)])
index = model.index(0)
role = Qt.ItemDataRole.UserRole + 99  # a role the results model has no data for
assert index.data(role) is None
before = sys.getrefcount(None)
for _ in range(50_000):
    index.data(role)
print(before, sys.getrefcount(None), flush=True)
"""


def test_none_from_data_does_not_cost_a_reference_to_none():
    """In a child process: on the broken release the child aborts (or None's count falls)."""
    import os
    import subprocess

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, f"the process died ({run.returncode}): {run.stderr[-400:]}"
    before, after = map(int, run.stdout.split())
    # a leak of one reference per call shows as a fall of 50,000; the interpreter itself
    # moves the count by a few hundred at most
    assert after > before - 1_000, f"None lost {before - after} references in 50,000 calls"


def test_painting_the_grid_asks_qt_for_at_most_one_value_per_cell(qtbot):
    """The delegate reads one cell value per paint, never None for a row that exists."""
    from desktop.search.results import ResultsModel, thumbnail_grid

    calls = {"none": 0, "values": 0}

    class Counting(ResultsModel):
        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            value = super().data(index, role)
            calls["none" if value is None else "values"] += 1
            return value

    model = Counting(lambda media_id, frame: None)
    model.set_results(_results(2_000))
    grid, _ = thumbnail_grid(model, 120)
    qtbot.addWidget(grid)
    grid.resize(900, 700)
    grid.show()
    qtbot.waitExposed(grid)
    bar = grid.verticalScrollBar()
    settle_layout(qtbot, bar)
    painted = 0
    for value in range(0, bar.maximum() + 1, max(1, bar.pageStep())):
        bar.setValue(value)
        grid.viewport().repaint()
        painted += 1
    assert painted > 10
    assert calls["values"] >= painted, calls  # every step painted cells
    # before: five role queries per painted cell, three of them None (thousands per scroll)
    assert calls["none"] < painted, calls


@pytest.fixture
def busy_window(qtbot, tmp_path, trained_model, trained_home):
    """The real window on a library of its own, watching a folder that keeps getting photos."""
    from helpers import make_photo
    from ranking_model import CLASSES

    from core.library import Library
    from desktop.window.main import MainWindow

    photos = tmp_path / "Pictures"
    for i, (colour, shape) in enumerate(CLASSES):
        make_photo(photos / f"IMG_{i:04d}.jpg", colour, shape, seed=900 + i)
    lib = Library(trained_home, model=trained_model)
    lib.add_folder(photos)
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: lib.model_loaded and lib.background is not None
                    and lib.background.idle.is_set() and not win.tasks.busy, timeout=180_000)
    win.photos = photos
    yield win
    close_window(qtbot, win)


def _soak(qtbot, window, passes: int) -> dict:
    """Scroll 10,000 results top to bottom `passes` times while a search is typed, a filter or
    chip toggled and a new photo dropped into the watched folder about once a second."""
    from helpers import make_photo
    from PySide6.QtWidgets import QApplication
    from ranking_model import CLASSES

    lib, app = window.library, QApplication.instance()
    states: set[str] = set()

    def listen(event) -> None:  # a set: a list of every event would itself hold references
        states.add(getattr(event, "state", None) or "")

    lib.subscribe(listen)
    recent = lib.recent(1000)
    rows = [replace(recent[i % len(recent)], media_id=recent[i % len(recent)].media_id
                    if i < len(recent) else -i) for i in range(10_000)]
    words = ["a red circle", "green square", "blue triangle in 2021", "yellow stripe",
             "purple", "orange square"]
    tick, typed, arrived, steps = time.monotonic(), 0, 0, 0
    bar = window.grid.verticalScrollBar()

    def keep_rows() -> None:  # a typed search answered: back to the 10,000
        if window.model.rowCount() < len(rows):
            window.model.set_results(rows)

    for _ in range(passes):
        window.model.set_results(rows)
        settle_layout(qtbot, bar, keep_rows)
        value = 0
        while value <= bar.maximum():
            if window.model.rowCount() < len(rows):
                settle_layout(qtbot, bar, keep_rows)
            bar.setValue(value)
            window.grid.viewport().repaint()
            app.processEvents()
            value += max(1, bar.pageStep() // 2)
            steps += 1
            if time.monotonic() - tick >= 1.0 or steps % 40 == 0:  # about once a second
                tick = time.monotonic()
                edit = window.search.edit
                edit.setFocus()
                edit.clear()
                qtbot.keyClicks(edit, words[typed % len(words)])
                if typed % 2:
                    window.search.set_filter("kind", "photo", "Photos")
                else:
                    window.search.set_filter("kind", None, "")
                colour, shape = CLASSES[typed % len(CLASSES)]
                make_photo(window.photos / f"new_{typed:04d}.jpg", colour, shape,
                           seed=5_000 + typed)
                arrived += 1
                typed += 1
    window.search.clear()
    # the newest photos, asked now: a typing pause's answer landing after the count would change
    # what the grid holds (10,000 rows with their None fields, or not) and fail the test
    window.searching.now()
    # work still queued holds references (futures, closures): measure with none in flight
    qtbot.waitUntil(lambda: not window.searching.debounce.isActive() and not window.tasks.busy
                    and window.model.pending_loads() == 0, timeout=30_000)
    return {"typed": typed, "arrived": arrived, "states": states}


def _refcounts() -> tuple[int, int, int]:
    gc.collect()
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)


def _soak_test(qtbot, window, passes: int) -> None:
    _soak(qtbot, window, 1)  # caches, fonts and the first thumbnails settle
    before = _refcounts()
    done = _soak(qtbot, window, passes)
    after = _refcounts()
    assert done["typed"] >= passes, done  # searches ran while the grid scrolled
    # the photos dropped in are indexed (while the grid scrolled, or after it on a busy
    # machine): the listener still collects states, so wait for what it must see
    qtbot.waitUntil(lambda: "indexing" in done["states"], timeout=120_000)
    qtbot.waitUntil(lambda: window.library.status()["media_count"] >= 24 + done["arrived"]
                    and window.library.background.idle.is_set(), timeout=120_000)
    # The fault takes a reference per None returned: the count falls, by thousands a second.
    # It may rise: the photos that arrived are held in the library's tables and caches.
    for name, b, a in zip(("None", "True", "False"), before, after, strict=True):
        assert a > b - 1_000, f"references to {name} fell by {b - a}"


def test_scrolling_searching_and_indexing_together_leaves_refcounts_alone(qtbot, busy_window):
    _soak_test(qtbot, busy_window, passes=2)


@pytest.mark.slow
def test_a_long_session_leaves_refcounts_alone(qtbot, busy_window):
    _soak_test(qtbot, busy_window, passes=12)
