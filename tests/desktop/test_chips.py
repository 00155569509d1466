"""Chips in the search bar: dates read from the text, filters, relevance feedback; and the
near-duplicates view. Driven as a user would, offscreen."""

from __future__ import annotations

import pytest
from driving import close_window, top_kinds, wait_for_results
from PySide6.QtCore import Qt

pytestmark = pytest.mark.usefixtures("qapp")


def wait_for_answer(qtbot, win, previous_generation):
    """Like wait_for_results, but an empty grid is an answer too."""
    qtbot.waitUntil(lambda: win.searching.shown_generation > previous_generation
                    and not win.tasks.busy, timeout=30_000)


def test_a_date_in_the_text_becomes_a_removable_chip(qtbot, window):
    gen = window.searching.generation
    qtbot.keyClicks(window.search.edit, "a red circle in 2019")  # every photo is from 2021
    chip = window.search.date_chip
    assert chip is not None and "taken 2019" in chip.text()
    wait_for_answer(qtbot, window, gen)
    assert window.model.rowCount() == 0
    gen = window.searching.generation
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)  # "in 2019" is words again
    assert window.search.date_chip is None and window.search.dismissed_dates == {"in 2019"}
    wait_for_results(qtbot, window, gen)
    assert sum(k == ("red", "circle") for k in top_kinds(window)) >= 4

    window.search.clear()
    gen = window.searching.generation
    qtbot.keyClicks(window.search.edit, "a red circle in July 2021")
    assert "Jul 2021" in window.search.date_chip.text()
    wait_for_results(qtbot, window, gen)
    assert sum(k == ("red", "circle") for k in top_kinds(window)) >= 4


def test_filters_menu_adds_chips_that_combine_with_the_search(qtbot, window):
    gen = window.searching.generation
    qtbot.keyClicks(window.search.edit, "a blue square")
    wait_for_results(qtbot, window, gen)
    window.filters.fill()
    kinds = next(a.menu() for a in window.filters.menu.actions() if a.text() == "Kind")
    videos = next(a for a in kinds.actions() if a.text() == "Videos")
    gen = window.searching.generation
    videos.trigger()
    chip = window.search.filter_chips["kind"]
    assert "Videos only" in chip.text()
    wait_for_answer(qtbot, window, gen)
    assert window.model.rowCount() == 0  # no videos among these photos
    gen = window.searching.generation
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)
    assert "kind" not in window.search.filters
    wait_for_results(qtbot, window, gen)
    assert sum(k == ("blue", "square") for k in top_kinds(window)) >= 4

    qtbot.waitUntil(lambda: bool(window.filters.folders and window.filters.cameras), timeout=10_000)
    window.filters.fill()
    folders = next(a.menu() for a in window.filters.menu.actions() if a.text() == "Folder")
    assert [a.text() for a in folders.actions()] == window.filters.folders
    cameras = next(a.menu() for a in window.filters.menu.actions() if a.text() == "Camera")
    assert [a.text() for a in cameras.actions()] == ["Snapseek Synthetic 1"]


def test_marking_results_reranks_at_once(qtbot, window):
    gen = window.searching.generation
    qtbot.keyClicks(window.search.edit, "red")
    wait_for_results(qtbot, window, gen)
    gen = window.searching.generation
    window.searching.show_all()  # past the relevant set: every red photo, and the others after them
    wait_for_results(qtbot, window, gen)
    results = window.model.results()
    squares = [i for i, r in enumerate(results) if window.truth[r.path] == ("red", "square")]
    circles = [i for i, r in enumerate(results) if window.truth[r.path] == ("red", "circle")]
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.model.index(squares[-1]))
    gen = window.searching.generation
    window.good_action.trigger()
    wait_for_results(qtbot, window, gen)
    assert window.search.feedback_chip.text().startswith("more like 1  ✕")
    bad_id = results[circles[0]].media_id
    window.grid.clearSelection()
    row = next(i for i, r in enumerate(window.model.results()) if r.media_id == bad_id)
    window.grid.setCurrentIndex(window.model.index(row))
    gen = window.searching.generation
    window.bad_action.trigger()
    wait_for_results(qtbot, window, gen)
    assert len(window.search.good) == 1 and window.search.bad == [bad_id]
    assert "more like 1 · fewer like 1" in window.search.feedback_chip.text()
    after = window.model.results()
    assert bad_id not in [r.media_id for r in after]  # "fewer like those" drops it
    assert sum(window.truth[r.path] == ("red", "square") for r in after[:5]) >= 4
    assert window.model.marks[window.search.good[0]] == 1
    gen = window.searching.generation
    qtbot.mouseClick(window.search.feedback_chip, Qt.MouseButton.LeftButton)
    wait_for_results(qtbot, window, gen)
    assert window.search.good == [] and window.model.marks == {}


def test_duplicates_view_groups_by_similarity_and_deletes_nothing(qtbot, window):
    from desktop.search.duplicates import DuplicatesDialog

    before = sorted(p for p in window.truth)
    dialog = DuplicatesDialog(window.library, window.thumbnail_for, window, threshold=1.0)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "No near-duplicates" in dialog.summary.text(), timeout=30_000)
    dialog.slider.setValue(90)
    qtbot.waitUntil(lambda: "groups" in dialog.summary.text(), timeout=30_000)
    groups = dialog.groups
    assert len(groups) >= 2 and [len(g) for g in groups] == sorted(map(len, groups), reverse=True)
    # every member is that similar to its group's first photo: no chains of small steps
    assert all(r.score >= 0.9 - 1e-5 for g in groups for r in g)
    # a group holds pictures of one kind, and each cell knows its group for the tint
    assert all(len({window.truth[r.path] for r in g}) == 1 for g in groups[:3])
    from desktop.search.results import GroupLabelRole, GroupRole

    assert dialog.model.data(dialog.model.index(0), GroupRole) == 0
    first_of_second = len(groups[0])
    assert dialog.model.data(dialog.model.index(first_of_second), GroupLabelRole) == \
        f"group 2 · {len(groups[1])}"
    assert dialog.model.data(dialog.model.index(1), GroupLabelRole) is None
    dialog.close()
    import os

    assert all(os.path.exists(p) for p in before)


def test_a_video_shows_its_length_and_moment(qtbot, tmp_path, random_model):
    from helpers import make_photo, make_video

    from core.library import Library
    from desktop.photo.preview import describe
    from desktop.window.main import MainWindow

    folder = tmp_path / "Pictures"
    make_video(folder / "clip.mp4", [("red", "circle", 3), ("blue", "square", 3)])
    make_photo(folder / "photo.jpg", "green", "triangle")
    lib = Library(tmp_path / "home", model=random_model)
    lib.add_folder(folder)
    lib.update()
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: lib.background is not None and lib.background.idle.is_set()
                    and not win.tasks.busy, timeout=120_000)
    gen = win.searching.generation
    win.search.set_filter("kind", "video", "Videos only")  # a filter alone lists its matches
    wait_for_results(qtbot, win, gen)
    assert [r.path.rsplit("/", 1)[1] for r in win.model.results()] == ["clip.mp4"]
    video = win.model.result(0)
    assert video.kind == "video" and abs(video.duration_s - 6) < 0.5
    qtbot.waitUntil(lambda: win.model.data(win.model.index(0), Qt.ItemDataRole.UserRole + 4)
                    is not None)
    assert not win.model.data(win.model.index(0), Qt.ItemDataRole.UserRole + 4).isNull()
    text = describe(video, lib.details(video.media_id))
    assert "video, 0:06" in text and "192×144" in text
    close_window(qtbot, win)
