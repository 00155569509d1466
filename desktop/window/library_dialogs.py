"""The dialogs that look at or change the library from the window: folders (and adding one),
settings, duplicates and people."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.window.session import reopening_settings


class LibraryDialogs(QObject):
    """The window provides `library`, `session`, `searching`, `search`, `tasks`, `stack`,
    `results_page`, `show_error` and `thumbnail_for`."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.forget_box: QMessageBox | None = None  # the question open now, if any
        self._asked: set[str] = set()  # folders asked about in this run (kept: not again)

    # -- folders ---------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Add a folder of photos",
                                                  str(Path.home()))
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        w = self.window
        if w.library is None:
            return
        lib = w.library
        w.tasks.run(lambda: lib.add_folder(folder),
                    lambda _: w.stack.setCurrentWidget(w.results_page), w.show_error,
                    changes=True)

    def show_folders(self) -> None:
        from desktop.dialogs.folders import FoldersDialog

        if self.window.library is not None:
            FoldersDialog(self.window.library, self.add_folder, self.window).exec()

    def ask_forget(self, held) -> None:
        """Most of a folder's photos went at once while it is on its drive (core GoneHeld):
        forgotten only if the user says so. Not modal: the window goes on meanwhile."""
        w = self.window
        if held.folder in self._asked or w.library is None:
            return
        self._asked.add(held.folder)
        lib = w.library
        box = QMessageBox(QMessageBox.Icon.Question, "Photos gone from a folder",
                          f"{held.line()}.", parent=w)
        box.setInformativeText(
            "If they were deleted, Snapseek forgets them, with what it knew of them. If the "
            "folder was only emptied for a while (a sync, a backup being restored), keep them.")
        box.forget_button = box.addButton("Forget Them", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton("Keep Them", QMessageBox.ButtonRole.RejectRole))
        box.setWindowModality(Qt.WindowModality.NonModal)

        def answered() -> None:
            if box.clickedButton() is box.forget_button:
                self._asked.discard(held.folder)  # emptied again later: asked again
                w.tasks.run(lambda: lib.forget_missing(held.folder), None, w.show_error,
                            changes=True)
            if self.forget_box is box:
                self.forget_box = None
            box.deleteLater()

        box.finished.connect(answered)
        self.forget_box = box
        box.show()

    # -- settings --------------------------------------------------------------------
    def show_settings(self) -> None:
        from desktop.dialogs.settings import SettingsDialog

        w = self.window
        lib = w.library
        current = (lib.switch_target or lib.model_spec) if lib is not None else None
        dialog = SettingsDialog(w, current_model=current)
        before = reopening_settings()
        accepted = dialog.exec()
        dialog.deleteLater()  # by Qt, on this thread, not by Python at some later collection
        if accepted and w.library is not None:
            model = QSettings().value("model") or current
            if reopening_settings() == before:
                if model != current:  # re-embedded in the background; searches go on
                    w.tasks.run(lambda: lib.switch_model(model), None, w.show_error,
                                changes=True)
                return
            w.session.reopen()

    # -- looking at the library ------------------------------------------------------
    def show_duplicates(self) -> None:
        from desktop.search.duplicates import DuplicatesDialog

        w = self.window
        if w.library is not None:
            DuplicatesDialog(w.library, w.thumbnail_for, w).exec()

    def show_people(self) -> None:
        """The People view; double-clicking a person lists their photos, newest first."""
        from desktop.people.view import PeopleDialog

        w = self.window
        if w.library is None:
            return
        dialog = PeopleDialog(w.library, w)

        def search_person(person_id: int) -> None:
            item = dialog.people.currentItem()
            name = item.text().split("\n", 1)[0].strip() if item is not None else ""
            dialog.accept()
            # a chip, so the view says what it shows and stays when indexing goes idle
            w.search.clear()
            w.search.set_filter("person", str(person_id),
                                f"with {name}" if name else "this person")
            w.searching.now()

        dialog.person_chosen.connect(search_person)
        dialog.exec()
