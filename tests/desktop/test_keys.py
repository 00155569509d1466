"""Keys pressed on the focused widget, as a person presses them (QTest.keyClick), and what
they must (and must not) do."""

from __future__ import annotations

import pytest
from driving import after_posted_events, wait_for_results
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtTest import QTest

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def opened(monkeypatch):
    """Every file the window asks the desktop to open, instead of opening it."""
    calls: list[str] = []
    monkeypatch.setattr("desktop.handoff.open_media", lambda path, at_s=None: calls.append(path))
    return calls


def _focus(qtbot, widget) -> None:
    widget.window().activateWindow()
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=5_000)


def _search(qtbot, window, text: str) -> None:
    gen = window.searching.generation
    _focus(qtbot, window.search.edit)
    window.search.edit.clear()
    qtbot.keyClicks(window.search.edit, text)
    wait_for_results(qtbot, window, gen)


def test_return_in_the_search_box_searches_and_opens_nothing(qtbot, window, opened):
    _focus(qtbot, window.search.edit)
    qtbot.keyClicks(window.search.edit, "a green square")
    gen = window.searching.generation
    QTest.keyClick(window.search.edit, Qt.Key.Key_Return)
    # Return searches at once, without waiting for the typing pause
    assert window.searching.generation > gen
    wait_for_results(qtbot, window, gen)
    after_posted_events(qtbot)  # an open the key might have queued would have run by now
    assert opened == []
    assert sum(window.truth[r.path] == ("green", "square")
               for r in window.model.results()[:5]) >= 4


def test_return_on_the_grid_views_the_result_and_esc_comes_back(qtbot, window, opened):
    _search(qtbot, window, "a red circle")
    _focus(qtbot, window.grid)
    window.grid.setCurrentIndex(window.model.index(1))
    QTest.keyClick(window.grid, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.viewer
    assert window.viewer.current() == window.model.result(1)
    qtbot.waitUntil(lambda: not window.viewer.image.isNull(), timeout=10_000)
    QTest.keyClick(window.viewer, Qt.Key.Key_Right)
    assert window.viewer.current() == window.model.result(2)
    QTest.keyClick(window.viewer, Qt.Key.Key_Plus)
    assert window.viewer.zoom > 1.0
    QTest.keyClick(window.viewer, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.results_page
    assert window.grid.currentIndex().row() == 2 and window.grid.hasFocus()
    assert opened == []  # nothing went to another program


def test_ctrl_return_on_the_grid_opens_in_the_default_app_once(qtbot, window, opened):
    _search(qtbot, window, "a red circle")
    _focus(qtbot, window.grid)
    window.grid.setCurrentIndex(window.model.index(1))
    QTest.keyClick(window.grid, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    after_posted_events(qtbot)  # a second open, queued by the same key, would have run
    assert opened == [window.model.result(1).path]


def test_double_click_views_once(qtbot, window, opened):
    _search(qtbot, window, "a blue circle")
    rect = window.grid.visualRect(window.model.index(0))
    # a person's double-click: press and release, then the second press comes as a double-click
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    views = []
    real_show = window.viewer.show_result
    window.viewer.show_result = lambda *a: (views.append(a), real_show(*a))
    qtbot.mouseDClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    after_posted_events(qtbot)  # an open queued by the double-click would have run
    assert window.stack.currentWidget() is window.viewer
    assert window.viewer.current() == window.model.result(0)
    assert len(views) == 1
    QTest.keyClick(window.viewer, Qt.Key.Key_Escape)
    assert opened == []


def test_ctrl_v_in_the_search_box_makes_an_image_chip(qtbot, window, tmp_path):
    from helpers import draw_photo

    draw_photo("yellow", "circle", (320, 240), seed=79).save(tmp_path / "clip.png")
    QGuiApplication.clipboard().setImage(QImage(str(tmp_path / "clip.png")))
    _focus(qtbot, window.search.edit)
    QTest.keyClick(window.search.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    # the picture is written to a file off the GUI thread; the chip comes when it is
    qtbot.waitUntil(lambda: len(window.search.chips) == 1, timeout=10_000)
    assert window.search.edit.text() == ""
    window.search.clear()


def test_ctrl_v_with_text_pastes_the_text(qtbot, window):
    QGuiApplication.clipboard().setText("a purple stripe")
    _focus(qtbot, window.search.edit)
    QTest.keyClick(window.search.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.search.edit.text() == "a purple stripe"
    assert window.search.chips == []
    window.search.clear()


def test_ctrl_v_with_copied_files_makes_image_chips(qtbot, window, tmp_path):
    from helpers import draw_photo

    paths = []
    for i, colour in enumerate(("red", "blue")):
        draw_photo(colour, "square", (320, 240), seed=80 + i).save(tmp_path / f"f{i}.png")
        paths.append(tmp_path / f"f{i}.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    QGuiApplication.clipboard().setMimeData(mime)
    _focus(qtbot, window.search.edit)
    QTest.keyClick(window.search.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert [p for _, p, _ in window.search.chips] == paths
    window.search.clear()


def test_space_presses_the_focused_button(qtbot, window):
    window.show_error("something to dismiss")
    assert window.banner.isVisible()
    dismiss = window.banner_dismiss
    _focus(qtbot, dismiss)
    preview = window.preview_action.isChecked()
    QTest.keyClick(dismiss, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=2_000)
    assert window.preview_action.isChecked() == preview


def test_space_on_the_grid_toggles_the_preview(qtbot, window):
    _search(qtbot, window, "a red square")
    _focus(qtbot, window.grid)
    QTest.keyClick(window.grid, Qt.Key.Key_Space)
    assert window.preview.isVisible()
    QTest.keyClick(window.grid, Qt.Key.Key_Space)
    assert not window.preview.isVisible()


def test_esc_clears_the_text_and_keeps_filters_and_chips(qtbot, window, tmp_path):
    from helpers import draw_photo

    draw_photo("orange", "triangle", (320, 240), seed=81).save(tmp_path / "q.png")
    window.search.set_filter("kind", "photo", "Photos")
    window.search.add_image(tmp_path / "q.png")
    _focus(qtbot, window.search.edit)
    qtbot.keyClicks(window.search.edit, "beach")
    QTest.keyClick(window.search.edit, Qt.Key.Key_Escape)
    assert window.search.edit.text() == ""
    assert "kind" in window.search.filters
    assert len(window.search.chips) == 1
    window.search.clear()


def test_more_like_this_is_a_chip_that_keeps_the_filters(qtbot, window):
    window.search.set_filter("kind", "photo", "Photos")
    _search(qtbot, window, "a red stripe")
    first = window.model.result(0)
    gen = window.searching.generation
    _focus(qtbot, window.grid)
    window.grid.setCurrentIndex(window.model.index(0))
    QTest.keyClick(window.grid, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    wait_for_results(qtbot, window, gen)
    assert "kind" in window.search.filters
    assert len(window.search.similar) == 1 and window.search.similar[0][1] == first.media_id
    query = window.search.query(10)
    assert query.media == [(first.media_id, 1.0)] and query.kinds == frozenset({"photo"})
    assert first.media_id not in [r.media_id for r in window.model.results()]
    window.search.clear()


def test_a_filter_only_view_stays_when_indexing_goes_idle(qtbot, window):
    window.search.set_filter("kind", "video", "Videos")
    gen = window.searching.generation
    window.searching.debounce.stop()
    window.searching.run()
    qtbot.waitUntil(lambda: window.searching.shown_generation > gen, timeout=10_000)
    shown = window.model.results()
    recent = window.library.recent(5)
    assert recent and shown != recent
    window.session.show_idle((120, 0, recent))
    assert window.model.results() == shown
    window.search.clear()


def test_search_by_image_file_offers_every_indexed_format():
    from PySide6.QtCore import QDir

    from desktop.search.query_input import query_file_filter

    def shown(name_filter: str, name: str) -> bool:  # as the file dialog reads a filter
        patterns = name_filter[name_filter.index("(") + 1:name_filter.rindex(")")].split()
        return QDir.match(patterns, name)

    everything, photos, videos = query_file_filter().split(";;")
    for name in ("IMG_0001.heic", "scan.avif", "DSC_1.cr2", "pano.dng", "beach.jpg",
                 "beach.jpeg", "screen.png", "clip.mp4", "clip.mov"):
        assert shown(everything, name), name
    for name in ("notes.txt", "beach.jpg.part", "backup.zip", "heic", "clip.mp4.json"):
        assert not shown(everything, name), name
    assert shown(photos, "beach.jpg") and not shown(photos, "clip.mp4")
    assert shown(videos, "clip.mp4") and not shown(videos, "beach.jpg")


def test_the_grid_scrolls_through_every_result(qtbot, window, monkeypatch):
    """Results come a page at a time; reaching the end of the grid brings the next page."""
    monkeypatch.setattr(window.searching, "RESULTS", 16)
    _search(qtbot, window, "a red circle")
    assert window.model.rowCount() < 16  # the relevant set first
    gen = window.searching.generation
    window.searching.show_all()
    wait_for_results(qtbot, window, gen)
    # a page of 16; the view may already have asked for the next one, if the grid has room
    assert window.model.rowCount() in (16, 32, 64)
    first_page = [r.media_id for r in window.model.results()][:16]
    bar = window.grid.verticalScrollBar()
    for _ in range(40):
        bar.setValue(bar.maximum())
        window.grid.viewport().repaint()
        qtbot.wait(50)
        if window.model.rowCount() == 120:
            break
    ids = [r.media_id for r in window.model.results()]
    assert len(ids) == 120 == len(set(ids))  # the whole library, each photo once
    assert ids[:16] == first_page  # the first page did not move
    window.search.clear()


def test_several_selected_results_copy_and_show_together(qtbot, window, monkeypatch):
    from PySide6.QtCore import QItemSelectionModel

    _search(qtbot, window, "a green circle")
    selection = window.grid.selectionModel()
    selection.clearSelection()
    for row in (0, 2, 3):
        selection.select(window.model.index(row), QItemSelectionModel.SelectionFlag.Select)
    paths = [window.model.result(r).path for r in (0, 2, 3)]
    _focus(qtbot, window.grid)
    QTest.keyClick(window.grid, Qt.Key.Key_C,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert QGuiApplication.clipboard().text().split("\n") == paths
    # without a file manager on D-Bus, the folders open (once each), off the GUI thread
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    opened = []
    monkeypatch.setattr("desktop.handoff.QDesktopServices.openUrl",
                        lambda url: opened.append(url.toLocalFile()))
    window.result_actions.reveal()
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    assert opened == list(dict.fromkeys(p.rsplit("/", 1)[0] for p in paths))
    mime = window.model.mimeData([window.model.index(r) for r in (0, 2, 3)])
    assert [u.toLocalFile() for u in mime.urls()] == paths  # and they drag out together


def test_down_or_tab_from_the_search_box_goes_to_the_results(qtbot, window):
    _search(qtbot, window, "a purple square")
    QTest.keyClick(window.search.edit, Qt.Key.Key_Down)
    assert window.grid.hasFocus()
    _focus(qtbot, window.search.edit)
    QTest.keyClick(window.search.edit, Qt.Key.Key_Tab)
    assert window.grid.hasFocus()
    window.search.clear()
