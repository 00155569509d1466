"""The app's one search box: a place filter and chip, the relevant set with "Show all", and
the preview's "why" (words, chips, score, where in the picture)."""

from __future__ import annotations

import pytest
from driving import close_window, wait_for_results
from PySide6.QtCore import Qt

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def travel_window(qtbot, tmp_path, trained_model, trained_home):
    from test_one_box import sign_photo, travel_photos

    from core.library import Library
    from desktop.window.main import MainWindow

    folder = tmp_path / "Pictures"
    travel_photos(folder, others=12, colours=("yellow", "purple"))
    sign_photo(folder / "IMG_9001.jpg", ["INVOICE 4471"])
    lib = Library(trained_home, model=trained_model)
    lib.add_folder(folder)
    lib.update()
    lib.enrich()
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: lib.model_loaded and bool(win.search.known_places)
                    and not win.tasks.busy, timeout=120_000)
    yield win
    close_window(qtbot, win)


def _type(qtbot, win, text):
    gen = win.searching.generation
    win.search.edit.clear()
    qtbot.keyClicks(win.search.edit, text)
    wait_for_results(qtbot, win, gen)


def test_a_place_typed_or_picked_filters(qtbot, travel_window):
    win = travel_window
    _type(qtbot, win, "a blue circle in Lisbon")
    assert win.search.place_chip is not None and win.search.place_chip.label == "in Lisbon"
    names = {r.path.rsplit("/", 1)[-1] for r in win.model.results()}
    assert names <= {"IMG_00.jpg", "IMG_01.jpg", "IMG_02.jpg"} and "IMG_01.jpg" in names
    # the chip dismissed: the words are words again
    gen = win.searching.generation
    qtbot.mouseClick(win.search.place_chip, Qt.MouseButton.LeftButton)
    wait_for_results(qtbot, win, gen)
    assert win.search.query(10).place is None
    # Filters → Place lists the library's places with their counts
    win.search.clear()
    win.filters.fill()
    place_menu = next(a.menu() for a in win.filters.menu.actions() if a.text() == "Place")
    entries = [a.text() for a in place_menu.actions()]
    assert "Reykjavík  (3)" in entries and "Iceland  (3)" in entries
    gen = win.searching.generation
    next(a for a in place_menu.actions() if a.text() == "Iceland  (3)").trigger()
    win.searching.debounce.stop()
    win.searching.run()
    qtbot.waitUntil(lambda: win.searching.shown_generation > gen, timeout=10_000)
    assert sorted(r.path.rsplit("/", 1)[-1] for r in win.model.results()) == [
        "IMG_10.jpg", "IMG_11.jpg", "IMG_12.jpg"]
    win.search.clear()


def test_the_relevant_set_then_show_all(qtbot, travel_window):
    win = travel_window
    _type(qtbot, win, "a purple square")
    shown = win.model.rowCount()
    assert 0 < shown < 22 and win.matches_label.isVisible()
    assert f"{shown} match" in win.matches_label.text() and "Show all" in win.matches_label.text()
    gen = win.searching.generation
    win.matches_label.linkActivated.emit("all")
    qtbot.waitUntil(lambda: win.searching.shown_generation > gen, timeout=10_000)
    assert win.model.rowCount() == 22 and not win.matches_label.isVisible()
    win.search.clear()


def test_the_preview_says_why_and_where(qtbot, travel_window):
    win = travel_window
    _type(qtbot, win, "invoice")
    assert win.model.result(0).path.endswith("IMG_9001.jpg")
    win.grid.setCurrentIndex(win.model.index(0))
    win.preview_action.trigger()
    qtbot.waitUntil(lambda: "Why:" in win.preview_info.text(), timeout=10_000)
    info = win.preview_info.text()
    assert "invoice" in info and "text in the photo" in info and "INVOICE 4471" in info
    qtbot.waitUntil(win.where_button.isEnabled, timeout=10_000)
    win.where_button.click()
    qtbot.waitUntil(lambda: win.last_where is not None, timeout=60_000)
    grid = win.last_where["grid"]
    # normalised to its peak; all 0 where covering no part lowers the match (the tiny model
    # knows shapes, not the word on this sign): the heatmap's aim is tests/test_explain.py's
    assert len(grid) >= 3 and max(max(r) for r in grid) in (0.0, 1.0)
    assert all(0.0 <= v <= 1.0 for r in grid for v in r)
    win.preview_action.trigger()
    win.search.clear()
