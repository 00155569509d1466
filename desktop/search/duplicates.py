"""Near-duplicate groups: a similarity slider over a grid of groups. It never deletes."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QSlider, QVBoxLayout

from desktop.search.results import ResultsModel, thumbnail_grid
from desktop.tasks import TaskRunner


class DuplicatesDialog(QDialog):
    """Groups of photos whose vectors are at least this similar, largest groups first; each
    group on its own tint. Double-click opens a photo; nothing here removes files."""

    def __init__(self, library, load_thumbnail, parent=None, threshold: float = 0.95):
        super().__init__(parent)
        self.setWindowTitle("Near-duplicates")
        self.resize(900, 620)
        self.library = library
        self.tasks = TaskRunner(self, max_threads=1)
        self._generation = 0
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=80, maximum=100)
        self.slider.setValue(round(threshold * 100))
        self.value = QLabel()
        self.summary = QLabel("Looking for near-duplicates…")
        self.model = ResultsModel(load_thumbnail, self)
        self.grid, _ = thumbnail_grid(self.model, 140)
        self.grid.doubleClicked.connect(self._open)
        row = QHBoxLayout()
        row.addWidget(QLabel("Similarity at least"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.value)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.grid, 1)
        layout.addWidget(QLabel("<small>Snapseek never deletes or moves files; open or reveal "
                                "them to decide.</small>"))
        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self.refresh)
        self.slider.valueChanged.connect(self._slid)
        self._slid(self.slider.value())
        self.refresh()

    @property
    def threshold(self) -> float:
        return self.slider.value() / 100

    def _slid(self, value: int) -> None:
        self.value.setText(f"{value / 100:.2f}")
        self._debounce.start()

    def refresh(self) -> None:
        self._generation += 1
        generation, threshold, lib = self._generation, self.threshold, self.library
        self.tasks.run(lambda: lib.duplicates(threshold), lambda g: self._show(generation, g),
                       lambda e: self.summary.setText(f"⚠ {e}"))

    def _show(self, generation: int, groups) -> None:
        if generation != self._generation:
            return  # the slider moved on meanwhile
        flat = [r for group in groups for r in group]
        self.groups = groups
        self.model.set_results(flat, {r.media_id: i for i, g in enumerate(groups) for r in g})
        self.summary.setText(f"{len(groups)} groups, {len(flat)} photos" if groups
                             else "No near-duplicates at this similarity.")

    def _open(self, index) -> None:
        path = self.model.result(index.row()).path
        QDesktopServices.openUrl(QUrl.fromLocalFile(path if os.path.exists(path)
                                                    else os.path.dirname(path)))

    def done(self, result: int) -> None:
        self.tasks.close(10000)
        self.model.close()
        super().done(result)
