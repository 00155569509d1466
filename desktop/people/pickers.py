"""Asking whose faces these are: a name (one given before, or a new one) or a person from the
list. Both open without blocking and answer by signal."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

PICK_ICON = 72
PersonRole = Qt.ItemDataRole.UserRole + 1  # on the People view's items and their copies here


def faces_count(count: int) -> str:
    """"1 face", "3 faces"."""
    return f"{count} face{'s' if count != 1 else ''}"


def ask_name(parent, names: list[str], count: int) -> QInputDialog:
    """A box for the name of `count` faces, offering the names already given; its
    `textValueSelected` carries the answer."""
    ask = QInputDialog(parent)
    ask.setWindowTitle("Name Faces")
    ask.setLabelText(f"Whose are these {faces_count(count)}? A new name makes a new person.")
    ask.setComboBoxEditable(True)
    ask.setComboBoxItems(sorted(set(names), key=str.casefold))
    ask.setTextValue("")
    ask.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return ask


class PersonPicker(QDialog):
    """The people to move faces to, by face and name; `chosen(person id)` on OK or a
    double-click."""

    chosen = Signal(int)

    def __init__(self, people: list[QListWidgetItem], count: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Move Faces To")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(560, 420)
        self.list = QListWidget(self)
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(PICK_ICON, PICK_ICON))
        self.list.setGridSize(QSize(PICK_ICON + 40, PICK_ICON + 44))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        for person in people:
            self.list.addItem(person.clone())
        self.list.itemActivated.connect(lambda _: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setEnabled(False)
        self.list.currentItemChanged.connect(lambda item, _: self.ok.setEnabled(item is not None))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Move {faces_count(count)} to:"))
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)

    def accept(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.chosen.emit(item.data(PersonRole))
        super().accept()
