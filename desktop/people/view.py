"""The People view: one face per person with how many photos they are in.

Double-click (or Return) on a person searches their photos; a click on the selected person, or
F2, renames them in place; dragging a person onto another merges the two. People seen in only
two photos follow as suggestions ("Seen in 2 photos"): naming one makes them a person. The
names the photos' files give (other programs' face regions) follow too, each asked once:
Confirm Name makes it a person, renaming it confirms it as someone else, Ignore Name says no.
The faces sorting left in no one come last, as one group ("In no one"). The faces of the
selected item fill a grid below (face_grid.py) where many are reviewed at once: named, moved
to someone else, or rejected, each in one change. Everything that reads or writes the library
runs on a worker (TaskRunner), never on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.types import SnapseekError
from desktop.people.face_grid import FaceGrid, FaceRole
from desktop.people.items import (
    UNSORTED,
    FileNameRole,
    HiddenRole,
    NameRole,
    SuggestedRole,
    file_name_item,
    person_item,
    unsorted_item,
)
from desktop.people.pickers import PersonPicker, PersonRole, ask_name, faces_count
from desktop.tasks import TaskRunner

__all__ = ["UNSORTED", "FaceRole", "FileNameRole", "NameRole", "PeopleDialog", "PersonRole",
           "SuggestedRole"]

ICON = 112
FACES_SHOWN = 500  # a grid of this many crops still loads in a moment


class NameEditor(QStyledItemDelegate):
    """Renaming in place edits the name alone (the label also shows the count); the new name
    goes to the library, and the list is filled again from what it says."""

    renamed = Signal(int, str)

    def setEditorData(self, editor, index) -> None:  # noqa: N802 - Qt API
        editor.setText(index.data(NameRole) or "")
        editor.selectAll()

    def setModelData(self, editor, model, index) -> None:  # noqa: N802 - Qt API
        # a name from the files is confirmed as typed, its own spelling too
        if editor.text().strip() != (index.data(NameRole) or "") or (
                index.data(FileNameRole) and editor.text().strip()):
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
        if target is not None and source is not None and target is not source and \
                UNSORTED not in (target.data(PersonRole), source.data(PersonRole)):
            self.merge_requested.emit(target.data(PersonRole), source.data(PersonRole))


class PeopleDialog(QDialog):
    """The People view (Ctrl+P). `person_chosen(id)` asks the window to search a person."""

    person_chosen = Signal(int)

    def __init__(self, library, parent=None):
        super().__init__(parent)
        self.setWindowTitle("People")
        self.resize(960, 720)
        self.library = library
        self.tasks = TaskRunner(self, max_threads=1)
        self._faces_job = None
        self.summary = QLabel("Looking for people…")
        self.people = PeopleList(self)
        self.people.itemActivated.connect(self._choose)
        self.names = NameEditor(self.people)
        self.people.setItemDelegate(self.names)
        self.names.renamed.connect(self.rename)
        self.people.currentItemChanged.connect(lambda item, _: self._show_faces(item))
        self.people.merge_requested.connect(self.merge)
        self.faces = FaceGrid(self)
        self.faces.name_requested.connect(self.ask_name)
        self.faces.move_requested.connect(self.ask_move)
        self.faces.reject_requested.connect(self.reject_faces)
        self.faces.hide_requested.connect(self.toggle_hidden)
        self.faces_title = QLabel("")
        self.confirm_action = QAction("Confirm Name", self)
        self.confirm_action.setToolTip("The name your photos' files give is right: make it "
                                       "a person")
        self.confirm_action.triggered.connect(self.confirm_name)
        self.confirm_action.setEnabled(False)
        self.show_hidden = QCheckBox("Show hidden people")
        self.show_hidden.toggled.connect(lambda _: self.refresh())
        self.recluster_button = QPushButton("Sort Faces Again")
        self.recluster_button.clicked.connect(self.recluster)
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        row.addWidget(self.show_hidden)
        row.addWidget(self.recluster_button)
        tools = QHBoxLayout()
        tools.addWidget(self.faces_title, 1)
        for action in (self.confirm_action, self.faces.name_action, self.faces.move_action,
                       self.faces.reject_action, self.faces.hide_action):
            button = QToolButton()
            button.setDefaultAction(action)
            tools.addWidget(button)
        below = QWidget()
        face_panel = QVBoxLayout(below)
        face_panel.setContentsMargins(0, 0, 0, 0)
        face_panel.addLayout(tools)
        face_panel.addWidget(self.faces, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.people)
        split.addWidget(below)
        split.setSizes([300, 380])
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(split, 1)
        help_text = QLabel("<small>Double-click a person to see their photos; click the "
                           "selected one or press F2 to name them; drag one person onto another "
                           "when they are the same. Select faces with Shift/Ctrl-click or Ctrl+A, "
                           "then name, move or reject them all at once. The names your files "
                           "give and the faces in no one come last.</small>")
        help_text.setWordWrap(True)
        layout.addWidget(help_text)
        self.refresh()

    # -- reading -------------------------------------------------------------
    def refresh(self) -> None:
        lib, hidden = self.library, self.show_hidden.isChecked()

        def icon(person) -> QImage:
            faces = lib.person_faces(person.id, 1)
            crop = lib.face_crop(faces[0]) if faces else None
            return QImage(str(crop)) if crop else QImage()

        def crop_of(faces) -> QImage:
            crop = lib.face_crop(faces[0]) if faces else None
            return QImage(str(crop)) if crop else QImage()

        def load():
            people, suggested = lib.people(hidden), lib.suggestions()
            named = lib.file_suggestions(hidden)
            # QImages here; the items (and their pixmaps) are made on the GUI thread
            return ([(False, p, icon(p)) for p in people]
                    + [(True, p, icon(p)) for p in suggested]
                    + [(None, n, crop_of(lib.person_faces(n.person_id, 1))) for n in named],
                    (len(people), len(suggested), len(named)),
                    lib.photos_with_people([p.id for p in people]),
                    (lib.unsorted_count(), crop_of(lib.person_faces(None, 1))))

        self.tasks.run(load, self._show_people, self._error)

    def _show_people(self, answer) -> None:
        rows, (people, suggested, named), total, (unsorted, crop) = answer
        items = [file_name_item(row, image) if kind is None else person_item(row, image, kind)
                 for kind, row, image in rows]
        if unsorted:
            items.append(unsorted_item(unsorted, crop))
        current = self.current_person()
        # rebuilt quietly: the faces of the person kept current load once, below
        self.people.blockSignals(True)
        self.people.clear()
        for item in items:
            self.people.addItem(item)
            if item.data(PersonRole) == current:
                self.people.setCurrentItem(item)
        self.people.blockSignals(False)
        self._show_faces(self.people.currentItem())
        who = "person" if people == 1 else "people"
        text = (f"{people} {who} in {total} photo{'s' if total != 1 else ''}" if people
                else "No people yet: faces are found after the photos are indexed.")
        if suggested:
            text += f" · {suggested} more seen in only two photos"
        if named:
            text += f" · {named} name{'s' if named != 1 else ''} from your files to confirm"
        if unsorted:
            text += f" · {faces_count(unsorted)} in no one"
        if suggested or named or unsorted:
            text += ", at the end"
        self.summary.setText(text)

    def current_person(self) -> int | None:
        item = self.people.currentItem()
        return item.data(PersonRole) if item is not None else None

    def _show_faces(self, item) -> None:
        if self._faces_job is not None:
            self._faces_job.cancel()  # another person's faces would come too late
        if item is None:
            self.confirm_action.setEnabled(False)
            self.faces.clear()
            self.faces_title.setText("Select a person to review their faces.")
            return
        person_id, lib = item.data(PersonRole), self.library
        hidden, file_name = bool(item.data(HiddenRole)), bool(item.data(FileNameRole))
        self.faces.hide_action.setText(("Use Name" if hidden else "Ignore Name") if file_name
                                       else "Show Person" if hidden else "Hide Person")
        self.faces.set_kind(rejectable=person_id != UNSORTED and not file_name,
                            hideable=person_id != UNSORTED)
        self.confirm_action.setEnabled(file_name and not hidden)

        def load():
            if person_id == UNSORTED or file_name:
                return None, [(face, QImage(str(path)) if (path := lib.face_crop(face))
                               else QImage()) for face in lib.person_faces(
                                   None if person_id == UNSORTED else person_id, FACES_SHOWN)]
            try:
                person = lib.person(person_id)
            except SnapseekError:  # gone in a change made since the list was read
                return None, []
            return person, [(face, QImage(str(path)) if (path := lib.face_crop(face))
                             else QImage()) for face in lib.person_faces(person_id, FACES_SHOWN)]

        def show(answer) -> None:
            person, faces = answer
            if self.current_person() != person_id or (person is None and person_id != UNSORTED
                                                      and not file_name):
                return
            if file_name:
                self.faces_title.setText(f"Faces your files call {item.data(NameRole)} "
                                         f"({len(faces)}):")
            elif person is None:
                self.faces_title.setText(f"Faces in no one ({len(faces)}"
                                         f"{', the first shown' if len(faces) >= FACES_SHOWN else ''}):")
            else:
                more = f", the first {len(faces)} shown" if person.faces > len(faces) else ""
                self.faces_title.setText(f"Faces of {person.name or 'this person'} "
                                         f"({person.faces}{more}):")
            self.faces.show_faces(faces)

        self._faces_job = self.tasks.run(load, show, self._error)

    def known_names(self) -> list[str]:
        """The names in the list now (no library call: the GUI thread asks)."""
        return [name for i in range(self.people.count())
                if (name := self.people.item(i).data(NameRole))]

    # -- asking --------------------------------------------------------------
    def ask_name(self, face_ids: list[int]):
        """Ask whose these faces are; the answer names them (returns the box, open)."""
        ask = ask_name(self, self.known_names(), len(face_ids))
        ask.textValueSelected.connect(lambda name: name.strip()
                                      and self.name_faces(face_ids, name))
        ask.open()
        return ask

    def ask_move(self, face_ids: list[int]) -> PersonPicker:
        """Ask which person these faces are; the answer moves them (returns the picker, open)."""
        others = [self.people.item(i) for i in range(self.people.count())
                  if self.people.item(i).data(PersonRole) not in (self.current_person(), UNSORTED)]
        picker = PersonPicker(others, len(face_ids), self)
        picker.chosen.connect(lambda person_id: self.move_faces(face_ids, person_id))
        picker.open()
        return picker

    # -- changes -------------------------------------------------------------
    def _choose(self, item) -> None:
        if item.data(PersonRole) != UNSORTED and not item.data(FileNameRole):
            self.person_chosen.emit(item.data(PersonRole))

    def confirm_name(self) -> None:
        """The name the files give, selected, is right as they spell it."""
        item = self.people.currentItem()
        if item is not None and item.data(FileNameRole):
            person_id = item.data(PersonRole)
            self._change(lambda: self.library.confirm_file_name(person_id))

    def rename(self, person_id: int, name: str) -> None:
        self._change(lambda: self.library.name_person(person_id, name))

    def merge(self, keep: int, gone: int) -> None:
        self._change(lambda: self.library.merge_people(keep, gone))

    def name_faces(self, face_ids: list[int], name: str) -> None:
        self._change(lambda: self.library.name_faces(face_ids, name))

    def move_faces(self, face_ids: list[int], person_id: int) -> None:
        self._change(lambda: self.library.move_faces(face_ids, person_id))

    def reject_faces(self, face_ids: list[int]) -> None:
        person_id = self.current_person()  # the person whose faces these are, as shown
        if person_id not in (None, UNSORTED):
            self._change(lambda: self.library.reject_faces(face_ids, person_id))

    def toggle_hidden(self) -> None:
        item = self.people.currentItem()
        if item is not None and item.data(PersonRole) != UNSORTED:
            person_id, hidden = item.data(PersonRole), not item.data(HiddenRole)
            self._change(lambda: self.library.hide_person(person_id, hidden))

    def recluster(self) -> None:
        self.summary.setText("Sorting faces again…")
        self._change(self.library.recluster)

    def _change(self, work) -> None:
        self.tasks.run(work, lambda _: self.refresh(), self._error, changes=True)

    def face_menu(self, item):
        """A face's context menu (its actions act on the selection, which it joins)."""
        return self.faces.menu_for(item)

    def _error(self, exc: BaseException) -> None:
        self.summary.setText(f"⚠ {exc}")

    def done(self, result: int) -> None:
        self.tasks.close(10000)
        super().done(result)
