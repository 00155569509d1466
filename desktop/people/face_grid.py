"""The faces of one person as a grid, reviewed many at a time: select with Shift/Ctrl-click or
Ctrl+A, then name them, move them to someone else, or say they are not this person. The faces
in no one are reviewed the same way, but are no one's to reject or hide."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QStyledItemDelegate,
)

FACE = 96
FaceRole = Qt.ItemDataRole.UserRole + 2


class SelectedFaceFrame(QStyledItemDelegate):
    """A selected face gets a thick frame and a tint over the crop: the style's own mark, a
    thin bar under a caption the faces do not have, is easy to miss across a grid."""

    def paint(self, painter, option, index) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        option.state &= ~QStyle.StateFlag.State_Selected
        super().paint(painter, option, index)
        if selected:
            colour = option.palette.highlight().color()
            painter.save()
            tint = QColor(colour)
            tint.setAlpha(70)
            box = option.rect.adjusted(2, 2, -2, -2)
            painter.fillRect(box, tint)
            painter.setPen(QPen(colour, 4))
            painter.drawRect(box)
            painter.restore()


class FaceGrid(QListWidget):
    """A grid of face crops with actions on the selected ones; the dialog does the work."""

    name_requested = Signal(list)  # face ids
    move_requested = Signal(list)
    reject_requested = Signal(list)
    hide_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(FACE, FACE))
        self.setGridSize(QSize(FACE + 12, FACE + 12))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setItemDelegate(SelectedFaceFrame(self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu_at)
        self.name_action = self._action("Name…", "F2", lambda f: self.name_requested.emit(f))
        self.move_action = self._action("Move to…", "Ctrl+M", lambda f: self.move_requested.emit(f))
        self.reject_action = self._action("Not This Person", QKeySequence.StandardKey.Delete,
                                          lambda f: self.reject_requested.emit(f))
        self.hide_action = QAction("Hide Person", self)
        self.hide_action.setShortcut("Ctrl+H")
        self.hide_action.setToolTip("Hide this person from People, or show a hidden one again "
                                    "(Ctrl+H)")
        # hiding is about the person, not the selected faces: its key works wherever the focus is
        self.hide_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.hide_action.triggered.connect(self.hide_requested)
        self.addAction(self.hide_action)
        self._rejectable, self._hideable = True, True
        self.itemSelectionChanged.connect(self._enable)
        self._enable()

    def _action(self, text: str, keys, emit) -> QAction:
        action = QAction(text, self)
        action.setIconText(text)  # a button keeps the "…" that says a question follows
        action.setShortcut(keys)
        action.setToolTip(f"{text} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        # the people list has its own F2 (rename) and Delete: these keys act on faces only
        # while the grid has the focus
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda: (faces := self.selected_faces()) and emit(faces))
        self.addAction(action)
        return action

    def _enable(self) -> None:
        some = bool(self.selectedItems())
        for action in (self.name_action, self.move_action):
            action.setEnabled(some)
        self.reject_action.setEnabled(some and self._rejectable)
        self.hide_action.setEnabled(self._hideable)

    def set_kind(self, rejectable: bool, hideable: bool) -> None:
        """Whether the faces shown are someone's to reject (not those in no one, nor those a
        name from the files gives), and whether there is someone to hide."""
        self._rejectable, self._hideable = rejectable, hideable
        self._enable()

    def selected_faces(self) -> list[int]:
        """The selected faces' ids, in the grid's order."""
        return [self.item(row).data(FaceRole) for row in range(self.count())
                if self.item(row).isSelected()]

    def show_faces(self, faces) -> None:
        """Fill the grid with (FaceRow, QImage) pairs; where the grid was scrolled to stays, so
        that reviewing a long grid goes on where it was after each change."""
        scrolled = self.verticalScrollBar().value()
        self.clear()
        for face, image in faces:
            item = QListWidgetItem(QIcon(QPixmap.fromImage(image)) if not image.isNull()
                                   else QIcon(), "")
            item.setData(FaceRole, face.id)
            item.setSizeHint(QSize(FACE + 8, FACE + 8))
            self.addItem(item)
        self.verticalScrollBar().setValue(scrolled)
        self._enable()

    def menu_for(self, item) -> QMenu:
        """The context menu of a face: a face outside the selection becomes the selection, as
        in a file manager, so the menu never acts on faces the user did not mean."""
        if not item.isSelected():
            self.clearSelection()
            item.setSelected(True)
        self.setCurrentItem(item, QItemSelectionModel.SelectionFlag.NoUpdate)
        menu = QMenu(self)
        for action in (self.name_action, self.move_action, self.reject_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.hide_action)
        return menu

    def _menu_at(self, pos) -> None:
        item = self.itemAt(pos)
        if item is not None:
            self.menu_for(item).popup(self.viewport().mapToGlobal(pos))
