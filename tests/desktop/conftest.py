"""The main window over the trained model's ranked photos, opened as the app opens it."""

from __future__ import annotations

import pytest
from driving import close_window


@pytest.fixture(autouse=True)
def pasted_pictures_in_tmp(tmp_path, monkeypatch):
    """Pictures pasted in a test go to its own folder, not the user's cache."""
    monkeypatch.setattr("desktop.search.query_input.pasted_root", lambda: tmp_path / "pasted")


@pytest.fixture
def window(qtbot, ranked_photos):
    from core.library import Library
    from desktop.window.main import MainWindow

    home, photos, truth = ranked_photos
    lib = Library(home)
    lib.faces_enabled = lib.text_enabled = False  # as ranked_photos was indexed
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: not win.indexer.busy, timeout=60_000)
    # the first test of a run also pays for importing torch and loading the model
    qtbot.waitUntil(lambda: lib.model_loaded, timeout=180_000)
    # and the start-up reconcile has finished and its status line has been shown, so the
    # tests' own events are not overwritten by it
    qtbot.waitUntil(lambda: lib.background is not None and lib.background.idle.is_set()
                    and not win.tasks.busy, timeout=120_000)
    win.truth = truth
    yield win
    close_window(qtbot, win)
