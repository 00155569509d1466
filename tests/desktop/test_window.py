"""The desktop window with pytest-qt (offscreen), driven as a user would, with the trained model."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from driving import close_window, top_kinds, wait_for_results
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage

from core.types import Notice, Progress

pytestmark = pytest.mark.usefixtures("qapp")


def test_typing_a_query_fills_the_grid_in_ranked_order(qtbot, window):
    gen = window.searching.generation
    qtbot.keyClicks(window.search.edit, "a green square")
    wait_for_results(qtbot, window, gen)
    assert sum(k == ("green", "square") for k in top_kinds(window)) >= 4
    scores = [r.score for r in window.model.results()]
    assert scores == sorted(scores, reverse=True)
    # thumbnails arrive off the GUI thread
    qtbot.waitUntil(lambda: window.model.data(window.model.index(0),
                                              Qt.ItemDataRole.UserRole + 4) is not None)


def test_latest_query_wins_over_a_slower_earlier_one(qtbot, window, monkeypatch):
    import time

    real_search = window.library.search
    slow_started, slow_done = threading.Event(), threading.Event()

    def search(query):
        if query.texts and query.texts[0][0] == "a yellow stripe":
            slow_started.set()
            time.sleep(1.5)  # the first query answers last
            try:
                return real_search(query)
            finally:
                slow_done.set()
        return real_search(query)

    monkeypatch.setattr(window.library, "search", search)
    window.search.edit.setText("a yellow stripe")
    window.searching.debounce.stop()
    window.searching.run()
    # running when overtaken (one still waiting is dropped unrun: tests/desktop/test_results.py):
    # its answer comes after the newer one's and must not replace it
    qtbot.waitUntil(slow_started.is_set, timeout=30_000)
    gen = window.searching.generation
    window.search.edit.setText("a blue circle")
    window.searching.debounce.stop()
    window.searching.run()
    wait_for_results(qtbot, window, gen)
    qtbot.waitUntil(slow_done.is_set, timeout=10_000)
    # the stale answer has reached the GUI thread (and been dropped there)
    qtbot.waitUntil(lambda: window.tasks.in_flight == 0, timeout=10_000)
    assert sum(k == ("blue", "circle") for k in top_kinds(window)) >= 4


def _drop(window, mime):
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropping_a_file_url_runs_an_image_query(qtbot, window, tmp_path):
    from helpers import make_photo

    query = make_photo(tmp_path / "query.jpg", "orange", "triangle", seed=77)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(query))])
    gen = window.searching.generation
    _drop(window, mime)
    assert len(window.search.chips) == 1
    wait_for_results(qtbot, window, gen)
    assert sum(k == ("orange", "triangle") for k in top_kinds(window)) >= 4


def test_dropping_raw_image_data_runs_an_image_query(qtbot, window, tmp_path):
    from helpers import draw_photo

    image = draw_photo("purple", "stripe", (320, 240), seed=78)
    image.save(tmp_path / "raw.png")
    mime = QMimeData()
    mime.setImageData(QImage(str(tmp_path / "raw.png")))
    gen = window.searching.generation
    _drop(window, mime)
    wait_for_results(qtbot, window, gen)
    assert sum(k == ("purple", "stripe") for k in top_kinds(window)) >= 4


def test_paste_and_removing_the_chip_update_results(qtbot, window, tmp_path):
    from helpers import draw_photo

    draw_photo("yellow", "circle", (320, 240), seed=79).save(tmp_path / "clip.png")
    QGuiApplication.clipboard().setImage(QImage(str(tmp_path / "clip.png")))
    window.grid.setFocus()
    gen = window.searching.generation
    window.query_input.paste()
    wait_for_results(qtbot, window, gen)
    assert sum(k == ("yellow", "circle") for k in top_kinds(window)) >= 4
    gen = window.searching.generation
    qtbot.keyClicks(window.search.edit, "a blue square")
    wait_for_results(qtbot, window, gen)
    chip = window.search.chips[0][0]
    gen = window.searching.generation
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)
    assert window.search.chips == []
    wait_for_results(qtbot, window, gen)
    assert sum(k == ("blue", "square") for k in top_kinds(window)) >= 4
    # the pasted picture was kept in a folder of the app's own while it ran, and leaves with it
    pasted = list(window.query_input.pasted.folder.glob("*.png"))
    assert len(pasted) == 1
    close_window(qtbot, window)
    assert not pasted[0].parent.exists()


def test_more_like_this(qtbot, window):
    gen = window.searching.generation
    qtbot.keyClicks(window.search.edit, "a red stripe")
    wait_for_results(qtbot, window, gen)
    first = window.model.result(0)
    gen = window.searching.generation
    qtbot.keyClick(window.grid, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    wait_for_results(qtbot, window, gen)
    ids = [r.media_id for r in window.model.results()]
    assert first.media_id not in ids
    assert sum(k == window.truth[first.path] for k in top_kinds(window, 4)) >= 3


def test_progress_from_a_worker_thread_updates_the_status_bar(qtbot, window):
    event = Progress("indexing", found=10, done=3, failed=1, total=10, rate=2.5, eta_s=3)
    worker = threading.Thread(target=window.bridge, args=(event,))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: "4 of 10" in window.state_label.text())
    assert window.progress_bar.value() == 4 and window.progress_bar.isVisible()


def test_core_errors_become_a_visible_message(qtbot, window, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    window.search.add_image(broken)
    qtbot.waitUntil(lambda: "⚠" in window.state_label.text(), timeout=10_000)
    assert "broken.jpg" in window.state_label.text()
    threading.Thread(target=window.bridge, args=(Notice("warning", "/mnt/nas: unreadable"),)).start()
    qtbot.waitUntil(lambda: "/mnt/nas" in window.statusBar().currentMessage())


def test_keyboard_shortcuts_are_in_the_menus(window):
    shortcuts = {name: a.shortcut().toString() for name, a in window.named_actions.items()}
    assert shortcuts["Find"] == "Ctrl+F"
    assert shortcuts["More Like This"] == "Ctrl+L"
    assert shortcuts["Clear Search"] == "Esc"
    assert shortcuts["View"] == "Return"
    assert shortcuts["Open in Default App"] == "Ctrl+Return"


def test_welcome_page_on_first_run(qtbot, tmp_path, random_model):
    from core.library import Library
    from desktop.window.main import MainWindow

    win = MainWindow(library=Library(tmp_path / "empty", model=random_model))
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.welcome, timeout=10_000)
    close_window(qtbot, win)


def test_what_is_typed_as_the_library_opens_is_what_warms_the_text_tower(qtbot, home,
                                                                         random_model):
    """The model is loaded and run once as the window comes up; where a query is typed
    already, it runs that query's text, so its search takes the answer instead of running
    the tower a second time (a second run after start costs 0.2 s more here)."""
    from core.library import Library
    from desktop.window.main import MainWindow

    lib = Library(home, model=random_model)
    lib.faces_enabled = lib.text_enabled = False
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.search.edit.blockSignals(True)  # (its own search, later, would encode it too)
    win.search.edit.setText("a red circle")
    win.search.edit.blockSignals(False)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: lib.model_loaded and not win.tasks.busy, timeout=120_000)
    cache = lib.embedder._text_cache
    assert cache.get("a red circle") is not None and cache.get("a photo") is None
    close_window(qtbot, win)


def test_window_appears_before_torch_is_imported(tmp_path):
    code = (
        "import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]);"
        "from desktop.window.main import MainWindow; w = MainWindow(home=sys.argv[1]); w.show();"
        "app.processEvents(); print('torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "home")], check=False,
                          capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.stdout.strip() == "False", proc.stdout + proc.stderr


def test_results_drag_out_as_file_urls(qtbot, window):
    gen = window.searching.generation
    qtbot.keyClicks(window.search.edit, "a red circle")
    wait_for_results(qtbot, window, gen)
    index = window.model.index(0)
    assert window.model.flags(index) & Qt.ItemFlag.ItemIsDragEnabled
    mime = window.model.mimeData([index])  # a method override: Qt's view drag calls it
    assert mime.urls()[0].toLocalFile() == window.model.result(0).path


def test_preview_pane_shows_photo_metadata_and_score(qtbot, window):
    gen = window.searching.generation
    qtbot.keyClicks(window.search.edit, "a blue circle")
    wait_for_results(qtbot, window, gen)
    window.preview_action.trigger()
    assert window.preview.isVisible()
    result = window.model.result(0)
    # the catalog's details arrive from a worker thread, after the name
    qtbot.waitUntil(lambda: "score" in window.preview_info.text())
    info = window.preview_info.text()
    assert result.path.rsplit("/", 1)[-1] in info and f"{result.score:.3f}" in info
    assert "640×480" in info or "480×640" in info
    assert "2021-07-14 10:30" in info and "Snapseek Synthetic 1" in info
    qtbot.waitUntil(lambda: window.preview_image.pixmap() is not None
                    and not window.preview_image.pixmap().isNull())


def test_missing_model_weights_become_a_visible_message(qtbot, tmp_path, photo_dir):
    from core.library import Library
    from desktop.window.main import MainWindow

    lib = Library(tmp_path / "home", model="ViT-B-32-256:datacomp_s34b_b86k",
                  allow_download=False)
    lib.add_folder(photo_dir)
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: "⚠" in win.state_label.text(), timeout=30_000)
    assert "ViT-B-32-256" in win.state_label.text() and "local-dir" in win.state_label.text()
    close_window(qtbot, win)


def test_folders_dialog_shows_counts_and_pauses(qtbot, tmp_path, photo_dir, random_model):
    from core.library import Library
    from desktop.dialogs.folders import FoldersDialog

    lib = Library(tmp_path / "home", model=random_model)
    lib.add_folder(photo_dir)
    lib.update()
    (photo_dir / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    lib.update()
    dialog = FoldersDialog(lib, lib.add_folder)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1)
    assert dialog.table.item(0, 1).text() == "9" and dialog.table.item(0, 2).text() == "1"
    dialog.table.selectRow(0)
    assert "broken.jpg" in dialog.errors.item(0).text()
    dialog.pause_button.click()
    qtbot.waitUntil(lambda: dialog.table.item(0, 3).text() == "paused")
    assert lib.folders()[0].paused
    lib.close()


def test_settings_persist(qtbot):
    from PySide6.QtCore import QSettings

    from desktop.dialogs.settings import SettingsDialog

    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.model.setCurrentText("local-dir:/models/mine")
    dialog.reconcile.setValue(45)
    dialog.accept()
    again = SettingsDialog()
    qtbot.addWidget(again)
    assert again.values()["model"] == "local-dir:/models/mine"
    assert again.values()["reconcile_minutes"] == 45
    QSettings().clear()


def test_errors_stay_visible_in_a_banner_until_dismissed(qtbot, window):
    threading.Thread(target=window.bridge,
                     args=(Notice("error", "Could not download the weights"),)).start()
    qtbot.waitUntil(lambda: window.banner.isVisible())
    assert "Could not download" in window.banner_text.text()


def test_after_a_disk_full_pause_one_click_resumes(qtbot, window):
    """The core pauses itself when the disk is full; the button says so and resumes at once."""
    lib = window.library
    lib.pause()  # what the indexer does on ENOSPC, followed by this progress event
    threading.Thread(target=window.bridge, args=(Progress("paused"),)).start()
    qtbot.waitUntil(lambda: window.pause_button.isVisible())
    assert window.pause_button.text() == "Resume" and window.pause_button.isChecked()
    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    assert not lib.paused
    assert window.pause_button.text() == "Pause" and not window.pause_button.isChecked()


def test_an_idle_report_with_nothing_new_keeps_the_place_in_the_newest_photos(qtbot, window):
    # the second pass's end and every periodic reconcile report idle; when the newest photos
    # are what the grid shows already, the grid must not start again from the top
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10_000)
    assert window.searching.nothing_asked()
    view, bar = window.grid, window.grid.verticalScrollBar()
    view.setCurrentIndex(window.model.index(7, 0))
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=10_000)
    bar.setValue(bar.maximum() // 2)
    scrolled = bar.value()
    window.state_label.setText("")
    window.status.idle.emit()
    qtbot.waitUntil(lambda: window.state_label.text().startswith("Up to date"), timeout=10_000)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=10_000)
    assert view.currentIndex().row() == 7
    assert bar.value() == scrolled
