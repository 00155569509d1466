"""The People view: one face per person with how many photos they are in.

Double-click (or Return) on a person searches their photos; a click on the selected person, or
F2, renames them in place; dragging a person onto another merges the two; the faces of the
selected person are shown below, and a face's context menu says "Not This Person". Everything
that reads or writes the library runs on a worker (TaskRunner), never on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem,
    QMenu, QPushButton, QStyledItemDelegate, QVBoxLayout,
)

from .tasks import TaskRunner

ICON = 112
PersonRole = Qt.ItemDataRole.UserRole + 1
FaceRole = Qt.ItemDataRole.UserRole + 2
NameRole = Qt.ItemDataRole.UserRole + 3


def _label(person) -> str:
    photos = f"{person.photos} photo{'s' if person.photos != 1 else ''}"
    return f"{person.name or 'Unnamed'}\n{photos}"


class NameEditor(QStyledItemDelegate):
    """Renaming in place edits the name alone (the label also shows the count); the new name
    goes to the library, and the list is filled again from what it says."""

    renamed = Signal(int, str)

    def setEditorData(self, editor, index) -> None:  # noqa: N802 - Qt API
        editor.setText(index.data(NameRole) or "")
        editor.selectAll()

    def setModelData(self, editor, model, index) -> None:  # noqa: N802 - Qt API
        if editor.text().strip() != (index.data(NameRole) or ""):
            self.renamed.emit(index.data(PersonRole), editor.text().strip())


class PeopleList(QListWidget):
    """People as icons; dropping one person on another asks for a merge."""

    merge_requested = Signal(int, int)  # keep, gone

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(ICON, ICON))
        self.setGridSize(QSize(ICON + 36, ICON + 48))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Snap)
        self.setWordWrap(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.SelectedClicked)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        target = self.itemAt(event.position().toPoint())
        source = self.currentItem()
        event.ignore()  # the list's own order never changes: a drop is a merge or nothing
        if target is not None and source is not None and target is not source:
            self.merge_requested.emit(target.data(PersonRole), source.data(PersonRole))


class PeopleDialog(QDialog):
    """The People view (Ctrl+P). `person_chosen(id)` asks the window to search a person."""

    person_chosen = Signal(int)

    def __init__(self, library, parent=None):
        super().__init__(parent)
        self.setWindowTitle("People")
        self.resize(900, 640)
        self.library = library
        self.tasks = TaskRunner(self, max_threads=1)
        self.summary = QLabel("Looking for people…")
        self.people = PeopleList(self)
        self.people.itemActivated.connect(self._choose)
        self.names = NameEditor(self.people)
        self.people.setItemDelegate(self.names)
        self.names.renamed.connect(self.rename)
        self.people.currentItemChanged.connect(lambda item, _: self._show_faces(item))
        self.people.merge_requested.connect(self.merge)
        self.faces = QListWidget(self)
        self.faces.setViewMode(QListView.ViewMode.IconMode)
        self.faces.setIconSize(QSize(72, 72))
        self.faces.setMaximumHeight(130)
        self.faces.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.faces.customContextMenuRequested.connect(self._face_menu)
        self.recluster_button = QPushButton("Sort Faces Again")
        self.recluster_button.clicked.connect(self.recluster)
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        row.addWidget(self.recluster_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.people, 1)
        layout.addWidget(QLabel("Faces of the selected person (right-click a face that is "
                                "not theirs):"))
        layout.addWidget(self.faces)
        layout.addWidget(QLabel("<small>Double-click a person to see their photos; click the "
                                "selected one or press F2 to name them; drag one person onto "
                                "another when they are the same.</small>"))
        self.refresh()

    # -- reading -------------------------------------------------------------
    def refresh(self) -> None:
        lib = self.library

        def load():
            out = []
            for person in lib.people():
                faces = lib.person_faces(person.id, 1)
                crop = lib.face_crop(faces[0]) if faces else None
                out.append((person, QImage(str(crop)) if crop else QImage()))
            return out

        self.tasks.run(load, self._show_people, self._error)

    def _show_people(self, people) -> None:
        current = self.current_person()
        self.people.clear()
        for person, image in people:
            item = QListWidgetItem(_label(person))
            item.setData(PersonRole, person.id)
            item.setData(NameRole, person.name or "")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            if not image.isNull():
                item.setIcon(QIcon(QPixmap.fromImage(image)))
            self.people.addItem(item)
            if person.id == current:
                self.people.setCurrentItem(item)
        total = sum(p.photos for p, _ in people)
        self.summary.setText(f"{len(people)} people in {total} photos" if people else
                             "No people yet: faces are found after the photos are indexed.")

    def current_person(self) -> int | None:
        item = self.people.currentItem()
        return item.data(PersonRole) if item is not None else None

    def _show_faces(self, item) -> None:
        self.faces.clear()
        if item is None:
            return
        person_id, lib = item.data(PersonRole), self.library

        def load():
            return [(face, QImage(str(path)) if (path := lib.face_crop(face)) else QImage())
                    for face in lib.person_faces(person_id, 60)]

        def show(faces) -> None:
            if self.current_person() != person_id:
                return
            self.faces.clear()
            for face, image in faces:
                entry = QListWidgetItem(QIcon(QPixmap.fromImage(image)) if not image.isNull()
                                        else QIcon(), "")
                entry.setData(FaceRole, face.id)
                self.faces.addItem(entry)

        self.tasks.run(load, show, self._error)

    # -- changes -------------------------------------------------------------
    def _choose(self, item) -> None:
        self.person_chosen.emit(item.data(PersonRole))

    def rename(self, person_id: int, name: str) -> None:
        self._change(lambda: self.library.name_person(person_id, name))

    def merge(self, keep: int, gone: int) -> None:
        self._change(lambda: self.library.merge_people(keep, gone))

    def not_this_person(self, face_id: int) -> None:
        self._change(lambda: self.library.not_this_person(face_id))

    def recluster(self) -> None:
        self.summary.setText("Sorting faces again…")
        self._change(self.library.recluster)

    def _change(self, work) -> None:
        self.tasks.run(work, lambda _: self._changed(), self._error, changes=True)

    def _changed(self) -> None:
        self.refresh()
        self._show_faces(self.people.currentItem())

    def face_menu(self, item) -> QMenu:
        """A face's context menu."""
        menu = QMenu(self)
        action = QAction("Not This Person", menu)
        face_id = item.data(FaceRole)
        action.triggered.connect(lambda: self.not_this_person(face_id))
        menu.addAction(action)
        return menu

    def _face_menu(self, pos) -> None:
        item = self.faces.itemAt(pos)
        if item is not None:
            self.face_menu(item).popup(self.faces.viewport().mapToGlobal(pos))

    def _error(self, exc: BaseException) -> None:
        self.summary.setText(f"⚠ {exc}")

    def done(self, result: int) -> None:
        self.tasks.close(10000)
        super().done(result)

