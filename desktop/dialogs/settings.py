"""The Settings dialog: the model (from the table of offered ones), device, threads, the thumbnail
cache and how often folders are reconciled."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
)

from core.model.offered import DEFAULT_MODEL, MIN_PHOTOS_PER_S, MODELS, offered


MODEL_COLUMNS = ["Model", "Licence", "Languages", "Download", "Quality (published)",
                 "Speed here"]


def quality_text(m) -> str:
    """Published quality in a few words: MSCOCO R@1 and Crossmodal-3600 recall by language."""
    parts = [f"COCO R@1 {m.coco_t2i_r1}%" if m.coco_t2i_r1 is not None else "COCO: not published"]
    if m.xm3600_recall:
        codes = {"English": "en", "German": "de", "Japanese": "ja", "Spanish": "es"}
        parts.append("XM3600 " + ", ".join(f"{codes.get(k, k)} {v}%"
                                           for k, v in m.xm3600_recall.items()))
    return "; ".join(parts)


class ModelField(QLineEdit):
    """The model spec typed or chosen; answers to the editable combo box's calls it replaced."""

    def currentText(self) -> str:
        return self.text()

    def setCurrentText(self, text: str) -> None:
        self.setText(text)


class SettingsDialog(QDialog):
    """Model (from the table of offered models, or any other), device, threads, thumbnail cache
    and reconcile interval; stored in QSettings. A licence that is not open is shown and asked
    about once before its model is chosen."""

    def __init__(self, parent=None, current_model: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(860, 520)
        self.settings = QSettings()
        # what the library in use runs, else what was chosen before, else the default
        self._initial_model = current_model or self.settings.value("model", "") or DEFAULT_MODEL
        self.models = QTableWidget(len(MODELS), len(MODEL_COLUMNS))
        self.models.setHorizontalHeaderLabels(MODEL_COLUMNS)
        self.models.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.models.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.models.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.models.verticalHeader().hide()
        for row, m in enumerate(MODELS):
            name = m.name + (" — default" if m.spec == DEFAULT_MODEL else "") + (
                " (needs the full installation)" if m.needs_full_installation else "")
            cells = [name, m.licence if m.open else f"{m.licence} (not open)", m.languages,
                     f"{m.size_mb} MB", quality_text(m),
                     f"{m.photos_per_s} photos/s" if m.photos_per_s else "not measured"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{m.spec}\nLicence: {m.licence_url}")
                if m.spec == DEFAULT_MODEL:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.models.setItem(row, col, item)
        self.models.resizeColumnsToContents()
        self.models.horizontalHeader().setSectionResizeMode(
            MODEL_COLUMNS.index("Quality (published)"), QHeaderView.ResizeMode.Stretch)
        self.model = ModelField(self._initial_model)
        self.model.setPlaceholderText("NAME:TAG, hf-hub:org/repo or local-dir:/path")
        self._chosen = self._initial_model
        self._select_row(self._initial_model)
        self.models.itemSelectionChanged.connect(self._row_chosen)
        self.model.textEdited.connect(lambda text: self._select_row(text.strip()))
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
        form.addRow(self.models)
        form.addRow("Model", row)
        note = QLabel(
            f"<small>Speed: photos indexed per second on a 2-core CPU. Quality as published "
            f"(see docs/PERFORMANCE.md). The default indexes at ≥ {MIN_PHOTOS_PER_S:g} photos/s "
            "with an open licence. NAME:TAG and hf-hub: models are downloaded from "
            "huggingface.co once and their towers built here; a model folder works offline. "
            "A model marked as needing the full installation is made with torch.</small>")
        note.setWordWrap(True)
        form.addRow("", note)
        form.addRow("Device", self.device)
        form.addRow("Indexing threads", self.threads)
        form.addRow("Thumbnail cache", self.thumbs)
        form.addRow("Full re-check every", self.reconcile)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _select_row(self, spec: str) -> None:
        self.models.blockSignals(True)
        self.models.clearSelection()
        for row, m in enumerate(MODELS):
            if m.spec == spec:
                self.models.selectRow(row)
        self.models.blockSignals(False)

    def _row_chosen(self) -> None:
        rows = self.models.selectionModel().selectedRows()
        if not rows:
            return
        spec = MODELS[rows[0].row()].spec
        if self.licence_accepted(spec):
            self._chosen = spec
            self.model.setText(spec)
        else:  # declined: back to what was chosen before
            self._select_row(self._chosen)

    def licence_accepted(self, spec: str) -> bool:
        """True for an open licence or one accepted before; otherwise shows the licence's first
        sentence and asks (once: a yes is remembered)."""
        m = offered(spec)
        if m is None or m.open or self.settings.value(f"licences/{m.licence}", False, type=bool):
            return True
        answer = QMessageBox.question(
            self, f"{m.name}: {m.licence} licence",
            f"{m.name} is not published under an open licence. Its licence begins:\n\n"
            f"“{m.licence_first_sentence}”\n\nFull text: {m.licence_url}\n\n"
            "Use it anyway?")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.settings.setValue(f"licences/{m.licence}", True)
        return True

    def _pick_model_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with open_clip_config.json")
        if folder:
            self.model.setText(f"local-dir:{folder}")
            self._select_row("")

    def values(self) -> dict:
        return {"model": self.model.text().strip() or self._initial_model,
                "threads": self.threads.value(), "thumbs": self.thumbs.text().strip(),
                "reconcile_minutes": self.reconcile.value(), "device": self.device.currentText()}

    def accept(self) -> None:
        values = self.values()
        if values["model"] == self._initial_model:
            # unchanged: nothing stored, so a library keeps the model it was made with
            del values["model"]
        elif not self.licence_accepted(values["model"]):  # typed by hand
            return
        for key, value in values.items():
            self.settings.setValue(key, value)
        super().accept()
