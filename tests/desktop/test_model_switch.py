"""Changing the model in Settings: the library is re-embedded in the background while the old
model keeps answering searches, with progress in the status bar (issue 13, section 3)."""

from __future__ import annotations

import threading

import pytest
from driving import close_window
from helpers import make_photo, make_random_model
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from core.types import Progress

pytestmark = pytest.mark.usefixtures("qapp")
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]


def library_of_a(tmp_path, model_a, n, monkeypatch):
    """A library of `n` pictures indexed with model A (without the second pass), model B beside
    it, and the home (opened by the test without naming a model, as the app opens it)."""
    from core.library import Library
    from core.library.folderwork import FolderWork

    monkeypatch.setattr(FolderWork, "faces_enabled", False)
    monkeypatch.setattr(FolderWork, "text_enabled", False)
    model_b = make_random_model(tmp_path / "model-b", seed=5)
    folder = tmp_path / "Pictures"
    for i in range(n):
        make_photo(folder / f"p{i:02d}.jpg", COLOURS[i % 6], size=(240, 180), seed=i)
    home = tmp_path / "home"
    with Library(home, model=model_a) as first:
        first.add_folder(folder)
        first.update()
        a_id = first.embedder.model_id
    return home, model_b, a_id


def test_settings_switches_the_model_in_the_background_and_search_goes_on(
        qtbot, tmp_path, random_model, monkeypatch):
    from core.library import Library
    from desktop.window.main import MainWindow

    monkeypatch.setattr("core.library.switch.CHUNK", 8)
    home, model_b, a_id = library_of_a(tmp_path, random_model, 32, monkeypatch)
    lib = Library(home)
    gate, held = threading.Event(), threading.Event()

    def hold_midway(event):  # the watcher waits here with B partly made
        if isinstance(event, Progress) and event.state == "re-embedding" and event.done >= 8 \
                and not held.is_set():
            held.set()
            gate.wait(60)

    lib.subscribe(hold_midway)
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: lib.model_loaded and lib.background is not None
                    and lib.background.idle.is_set(), timeout=120_000)
    shown = {}

    def choose_b():
        dialog = QApplication.activeModalWidget()
        shown["model"] = dialog.model.text()
        dialog.model.setText(model_b)
        dialog.accept()

    try:
        QTimer.singleShot(200, choose_b)
        win.dialogs.show_settings()
        assert shown["model"] == random_model  # Settings shows the library's model
        qtbot.waitUntil(held.is_set, timeout=60_000)
        # mid-switch: the status bar says so, and searches answer from A, whole
        qtbot.waitUntil(lambda: "Re-embedding with" in win.state_label.text(), timeout=10_000)
        assert f"of {32:,}" in win.state_label.text()
        assert lib.model_spec == random_model and win.library is lib
        gen = win.searching.generation
        win.search.edit.setText("a red circle")
        win.searching.now()
        qtbot.waitUntil(lambda: win.searching.shown_generation > gen, timeout=30_000)
        assert win.model.rowCount() > 0
        assert lib.embedder.model_id == a_id
        assert not win.banner.isVisible() and "snapseek" not in win.state_label.text()
        gate.set()
        qtbot.waitUntil(lambda: lib.model_spec == model_b, timeout=120_000)
        # the old model's vectors go just after the flip (searches never wait for that)
        qtbot.waitUntil(lambda: lib.catalog.model_ids() == [lib.embedder.model_id],
                        timeout=30_000)
        gen = win.searching.generation
        win.search.edit.setText("a blue square")
        win.searching.now()
        qtbot.waitUntil(lambda: win.searching.shown_generation > gen, timeout=30_000)
        assert win.model.rowCount() > 0 and not win.banner.isVisible()
    finally:
        gate.set()
        QSettings().remove("model")  # other tests open libraries with the stored model
        close_window(qtbot, win)


def test_a_search_typed_while_the_switch_flips_shows_results(qtbot, tmp_path, random_model,
                                                             monkeypatch):
    """The flip itself held open: a search typed then waits for it (never an error, never a
    mix of the two models) and answers with the new model."""
    from core.library import Library
    from desktop.window.main import MainWindow

    home, model_b, _ = library_of_a(tmp_path, random_model, 12, monkeypatch)
    lib = Library(home)
    flipping, release = threading.Event(), threading.Event()
    real_activate = lib.activate

    def held_activate(embedder, index):  # inside the flip: no answer may be in flight
        flipping.set()
        release.wait(60)
        real_activate(embedder, index)

    lib.activate = held_activate
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: lib.model_loaded and lib.background is not None
                    and lib.background.idle.is_set(), timeout=120_000)
    try:
        QTimer.singleShot(200, lambda: (QApplication.activeModalWidget().model.setText(model_b),
                                        QApplication.activeModalWidget().accept()))
        win.dialogs.show_settings()
        qtbot.waitUntil(flipping.is_set, timeout=120_000)
        gen = win.searching.generation
        win.search.edit.setText("a red circle")
        win.searching.now()
        release.set()
        qtbot.waitUntil(lambda: win.searching.shown_generation > gen, timeout=60_000)
        assert win.model.rowCount() > 0
        assert lib.model_spec == model_b and not win.banner.isVisible()
        assert "snapseek" not in win.state_label.text()
    finally:
        release.set()
        QSettings().remove("model")
        close_window(qtbot, win)
