"""The app with a drive that comes and goes (a loop-mounted ext4 image): photos of a drive that
is unplugged stay in the grid, marked as away; opening one says so; the status bar names the
drive; and when it is plugged in again nothing is embedded again. A folder emptied at once is
asked about, and forgotten only when the user says so."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from driving import close_window
from helpers import make_photo, run_cli
from mounts import make_drive, mounted, need_mounts, plug, umount

from core.store import Catalog



def shots(tmp_path: Path) -> Path:
    """Where the pictures of the window go: SNAPSEEK_TEST_SHOTS to keep them and look."""
    folder = Path(os.environ.get("SNAPSEEK_TEST_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fill(folder: Path, n: int = 12) -> None:
    colours = ["red", "green", "blue", "yellow", "purple", "orange"]
    for i in range(n):
        make_photo(folder / f"{i:02d}.jpg", colours[i % 6], "circle", size=(160, 120), seed=i)


def catalog_state(home: Path) -> tuple[dict[str, int], int]:
    catalog = Catalog(home / "catalog.db")
    try:
        return (dict(catalog.db.execute("SELECT path, id FROM media").fetchall()),
                catalog.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
    finally:
        catalog.close()


@pytest.fixture
def indexed(tmp_path, random_model, exported_runtime):
    """A home whose one folder holds 12 photos, indexed: (home, folder maker)."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(exported_runtime, home / "runtime")

    def index(folder: Path) -> None:
        run_cli("index", "--no-faces", str(folder), home=home, model=random_model)

    return home, index


def open_window(qtbot, home: Path):
    from core.library import Library
    from desktop.window.main import MainWindow

    lib = Library(home)
    lib.faces_enabled = lib.text_enabled = False
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: lib.background is not None and lib.background.idle.is_set()
                    and not win.tasks.busy and win.model.rowCount() > 0, timeout=120_000)
    return win, lib


def test_an_unplugged_drive_stays_in_the_grid_as_away_and_comes_back_as_it_was(
        qtbot, tmp_path, indexed, monkeypatch):
    need_mounts()
    home, index = indexed
    image, usb = tmp_path / "usb.img", tmp_path / "media" / "USB"
    make_drive(image, "USB")
    with mounted(usb):
        plug(image, usb)
        fill(usb)
        index(usb)
        before = catalog_state(home)
        umount(usb)  # unplugged while the app was closed

        win, lib = open_window(qtbot, home)
        try:
            qtbot.waitUntil(lambda: "USB not connected" in win.state_label.text(),
                            timeout=30_000)
            assert "12 photos" in win.state_label.text()
            from desktop.dialogs.folders import FoldersDialog

            folders = FoldersDialog(lib, lib.add_folder)  # Folders…: the drive is named
            qtbot.addWidget(folders)
            qtbot.waitUntil(lambda: folders.table.rowCount() == 1)
            assert folders.table.item(0, 3).text() == "on USB, not connected"
            results = win.model.results()
            assert len(results) == 12 and {r.away for r in results} == {"on USB, not connected"}
            assert win.grid.grab().save(str(shots(tmp_path) / "away-grid.png"))
            win.grid.setCurrentIndex(win.model.index(0))
            win.preview_action.trigger()  # the preview: the thumbnail, and why
            qtbot.waitUntil(lambda: "score" in win.preview_info.text(), timeout=10_000)
            assert "on USB, not connected" in win.preview_info.text()
            qtbot.waitUntil(lambda: win.preview_image.pixmap() is not None
                            and not win.preview_image.pixmap().isNull(), timeout=10_000)
            assert win.grab().save(str(shots(tmp_path) / "away-window.png"))
            win.preview_action.trigger()

            opened = []
            monkeypatch.setattr("desktop.handoff.open_media", lambda *a: opened.append(a))
            win.grid.setCurrentIndex(win.model.index(0))
            win.result_actions.open_current()  # Ctrl+Return: in the default app
            assert opened == []
            said = win.statusBar().currentMessage()
            assert "00.jpg" in said or results[0].path.rsplit("/", 1)[-1] in said
            assert "on USB, not connected" in said and "\n" not in said

            win.view_result(0)  # in the viewer: the thumbnail, and one line says why
            qtbot.waitUntil(lambda: not win.viewer.image.isNull(), timeout=10_000)
            assert "on USB, not connected" in win.viewer.caption()
            assert win.viewer.grab().save(str(shots(tmp_path) / "away-viewer.png"))
            win.viewer.close_viewer()

            plug(image, usb)  # plugged in again while the app runs
            qtbot.waitUntil(lambda: "not connected" not in win.state_label.text()
                            and {r.away for r in win.model.results()} == {None},
                            timeout=60_000)
            assert win.model.rowCount() == 12
            assert catalog_state(home) == before  # same ids, nothing embedded again
        finally:
            close_window(qtbot, win)


def test_a_folder_emptied_at_once_is_asked_about_and_forgotten_only_on_request(
        qtbot, tmp_path, indexed):
    home, index = indexed
    folder = tmp_path / "Pictures"
    fill(folder)
    index(folder)
    for photo in sorted(folder.iterdir())[:11]:
        photo.unlink()

    win, lib = open_window(qtbot, home)
    try:
        qtbot.waitUntil(lambda: win.dialogs.forget_box is not None
                        and win.dialogs.forget_box.isVisible(), timeout=30_000)
        box = win.dialogs.forget_box
        assert f"11 of the 12 photos in {folder} are gone" in box.text()
        assert not box.isModal()  # the window goes on meanwhile
        box.grab().save(str(shots(tmp_path) / "away-forget-dialog.png"))
        assert lib.catalog.media_count() == 12  # nothing forgotten before the answer
        box.forget_button.click()
        qtbot.waitUntil(lambda: lib.catalog.media_count() == 1, timeout=60_000)
        told = json.dumps(lib.status())
        assert '"media_count": 1' in told
    finally:
        close_window(qtbot, win)
