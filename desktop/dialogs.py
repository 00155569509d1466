"""The folders, settings and date range dialogs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDate, QSettings, Qt
from PySide6.QtWidgets import (
    QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
    QHeaderView,
    QLabel, QLineEdit, QListWidget, QMessageBox, QPushButton, QSpinBox, QTableWidget,
    QTableWidgetItem, QVBoxLayout,
)

from core.embedder import DEFAULT_MODEL

from .tasks import TaskRunner

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
            self.table.setItem(row, STATE, QTableWidgetItem("paused" if f.paused else "watching"))
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
            prefix = chosen[0].rstrip("/") + "/"
            for path, reason in self._all_errors:
                if path.startswith(prefix):
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
                           lambda _: self.refresh(), lambda e: QMessageBox.warning(self, "", str(e)))

    def _toggle_pause(self) -> None:
        chosen = self._selected()
        if chosen:
            path, paused = chosen
            self.tasks.run(lambda: self.library.set_folder_paused(path, not paused),
                           lambda _: self.refresh())


class SettingsDialog(QDialog):
    """Model, threads, thumbnail cache and reconcile interval; stored in QSettings."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = QSettings()
        self.model = QComboBox(editable=True)
        # the default; twice as fast to index, a little less accurate; the previous default
        self.model.addItems([DEFAULT_MODEL, "MobileCLIP2-S0:dfndr2b",
                             "ViT-B-32-256:datacomp_s34b_b86k"])
        self.model.setCurrentText(self.settings.value("model", DEFAULT_MODEL))
        pick = QPushButton("Model folder…")
        pick.clicked.connect(self._pick_model_dir)
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(pick)
        self.threads = QSpinBox(minimum=0, maximum=64, specialValueText="automatic")
        self.threads.setValue(int(self.settings.value("threads", 0)))
        self.thumbs = QLineEdit(self.settings.value("thumbs", ""))
        self.thumbs.setPlaceholderText("inside the library folder")
        self.reconcile = QSpinBox(minimum=1, maximum=24 * 60, suffix=" min")
        self.reconcile.setValue(int(self.settings.value("reconcile_minutes", 30)))
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.device.setCurrentText(self.settings.value("device", "auto"))
        form = QFormLayout(self)
        form.addRow("Model", row)
        form.addRow("", QLabel("<small>NAME:TAG and hf-hub: models are downloaded from "
                               "huggingface.co once; a model folder works offline.</small>"))
        form.addRow("Device", self.device)
        form.addRow("Indexing threads", self.threads)
        form.addRow("Thumbnail cache", self.thumbs)
        form.addRow("Full re-check every", self.reconcile)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _pick_model_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with open_clip_config.json")
        if folder:
            self.model.setCurrentText(f"local-dir:{folder}")

    def values(self) -> dict:
        return {"model": self.model.currentText().strip() or DEFAULT_MODEL,
                "threads": self.threads.value(), "thumbs": self.thumbs.text().strip(),
                "reconcile_minutes": self.reconcile.value(), "device": self.device.currentText()}

    def accept(self) -> None:
        for key, value in self.values().items():
            self.settings.setValue(key, value)
        super().accept()


class DateRangeDialog(QDialog):
    """Taken between two days (both included)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Date Range")
        today = QDate.currentDate()
        self.start = QDateEdit(today.addYears(-1), calendarPopup=True)
        self.end = QDateEdit(today, calendarPopup=True)
        for edit in (self.start, self.end):
            edit.setDisplayFormat("yyyy-MM-dd")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From", self.start)
        form.addRow("To", self.end)
        form.addRow(buttons)

    def range(self) -> tuple[float, float, str]:
        """(after, before) as unix times in UTC, like EXIF dates, and a label."""
        import datetime as dt

        a, b = sorted((self.start.date().toPython(), self.end.date().toPython()))
        utc = dt.timezone.utc
        after = dt.datetime(a.year, a.month, a.day, tzinfo=utc).timestamp()
        before = (dt.datetime(b.year, b.month, b.day, tzinfo=utc) + dt.timedelta(days=1)).timestamp()
        return after, before, f"taken {a.isoformat()} – {b.isoformat()}"
