"""The Folders dialog: the watched folders with their counts and errors; add, remove, pause."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from core.paths import inside
from core.types import away_line
from desktop.tasks import TaskRunner


PATH, PHOTOS, ERRORS, STATE = range(4)


class FoldersDialog(QDialog):
    """Watched folders with their counts and errors; add, remove (after asking), pause."""

    def __init__(self, library, add_folder, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Folders")
        self.resize(760, 460)
        self.library = library
        self._add_folder = add_folder
        self.tasks = TaskRunner(self, max_threads=1)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Folder", "Photos", "Errors", "State"])
        self.table.horizontalHeader().setSectionResizeMode(PATH, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._show_errors)
        self.errors = QListWidget()
        add = QPushButton("Add…")
        add.clicked.connect(self._add)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove)
        self.pause_button = QPushButton("Pause / Resume")
        self.pause_button.clicked.connect(self._toggle_pause)
        buttons = QHBoxLayout()
        for b in (add, self.remove_button, self.pause_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 2)
        layout.addWidget(QLabel("Files that could not be read in the selected folder:"))
        layout.addWidget(self.errors, 1)
        layout.addLayout(buttons)
        self._all_errors: list[tuple[str, str]] = []
        self.refresh()

    def refresh(self) -> None:
        lib = self.library
        self.tasks.run(lambda: (lib.folders(), lib.errors()), self._fill)

    def _fill(self, payload) -> None:
        folders, errors = payload
        self._all_errors = errors
        self.table.setRowCount(len(folders))
        for row, f in enumerate(folders):
            self.table.setItem(row, PATH, QTableWidgetItem(f.path))
            for col, value in ((PHOTOS, f.media_count), (ERRORS, f.error_count)):
                item = QTableWidgetItem(str(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
            state = "paused" if f.paused else away_line(f.drive, f.away) if f.away else "watching"
            self.table.setItem(row, STATE, QTableWidgetItem(state))
        self._show_errors()

    def _selected(self) -> tuple[str, bool] | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].row()
        return self.table.item(row, PATH).text(), self.table.item(row, STATE).text() == "paused"

    def _show_errors(self) -> None:
        self.errors.clear()
        chosen = self._selected()
        if chosen:
            for path, reason in self._all_errors:
                if inside(path, chosen[0]):
                    self.errors.addItem(f"{path}: {reason}")

    def _add(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos", str(Path.home()))
        if folder:
            self._add_folder(folder)
            self.refresh()

    def _remove(self) -> None:
        chosen = self._selected()
        if not chosen:
            return
        answer = QMessageBox.question(
            self, "Remove folder",
            f"Stop watching {chosen[0]} and forget its photos?\n\n"
            "Nothing is deleted from the disk.")
        if answer == QMessageBox.StandardButton.Yes:
            self.tasks.run(lambda: self.library.remove_folder(chosen[0]),
                           lambda _: self.refresh(), lambda e: QMessageBox.warning(self, "", str(e)),
                           changes=True)

    def _toggle_pause(self) -> None:
        chosen = self._selected()
        if chosen:
            path, paused = chosen
            self.tasks.run(lambda: self.library.set_folder_paused(path, not paused),
                           lambda _: self.refresh(), lambda e: QMessageBox.warning(self, "", str(e)),
                           changes=True)
