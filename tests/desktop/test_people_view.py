"""The People view (Ctrl+P) with pytest-qt over a library of real faces: a face and a count per
person, rename in place, drag one person onto another to merge, "Not This Person" on a face,
and double-click to list a person's photos in the window.

(Named test_people_view.py: tests/test_people.py has the basename test_people, and two test
modules of one basename cannot be collected in one run without packages.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from driving import close_window
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLineEdit
from test_people import people_library as indexed_people

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def people_library(tmp_path, random_model, exported_runtime):
    lib = indexed_people(tmp_path / "home", tmp_path / "Pictures", random_model,
                         runtime=exported_runtime)
    yield lib
    lib.close()


@pytest.fixture
def dialog(qtbot, people_library):
    from desktop.people.view import PeopleDialog

    view = PeopleDialog(people_library)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.people.count() == 2, timeout=20_000)
    yield view
    view.done(0)


def items(view):
    return [view.people.item(i) for i in range(view.people.count())]


def test_one_face_and_count_per_person(dialog):
    from desktop.people.view import NameRole, PersonRole

    for item in items(dialog):
        assert not item.icon().isNull()  # the face crop
        assert item.text() == "Unnamed\n4 photos" and item.data(NameRole) == ""
        assert item.data(PersonRole) in {p.id for p in dialog.library.people()}
    assert dialog.summary.text() == "2 people in 8 photos"


def test_rename_in_place(qtbot, dialog):
    item = items(dialog)[0]
    person = item.data(Qt.ItemDataRole.UserRole + 1)
    dialog.people.setCurrentItem(item)
    dialog.people.editItem(item)
    editor = dialog.people.findChild(QLineEdit)
    assert editor is not None and editor.text() == ""  # the name alone, not the count
    editor.setText("Grace")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.library.catalog.person(person).name == "Grace")
    qtbot.waitUntil(lambda: any(i.text() == "Grace\n4 photos" for i in items(dialog)))


def test_drag_a_person_onto_another_merges_them(qtbot, dialog):
    first, second = items(dialog)
    keep, gone = first.data(Qt.ItemDataRole.UserRole + 1), second.data(Qt.ItemDataRole.UserRole + 1)
    dialog.people.setCurrentItem(second)
    target = dialog.people.visualItemRect(first).center()
    mime = QMimeData()
    mime.setData("application/x-qabstractitemmodeldatalist", b"")
    drop = QDropEvent(QPointF(target), Qt.DropAction.MoveAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    dialog.people.dropEvent(drop)
    qtbot.waitUntil(lambda: dialog.people.count() == 1, timeout=10_000)
    assert [(p.id, p.photos) for p in dialog.library.people()] == [(keep, 8)]
    assert dialog.library.catalog.person(gone) is None


def test_not_this_person_from_a_face(qtbot, dialog):
    item = items(dialog)[0]
    person = item.data(Qt.ItemDataRole.UserRole + 1)
    dialog.people.setCurrentItem(item)
    qtbot.waitUntil(lambda: dialog.faces.count() == 4, timeout=10_000)
    face_id = dialog.faces.item(0).data(Qt.ItemDataRole.UserRole + 2)
    menu = dialog.face_menu(dialog.faces.item(0))  # what a right-click pops up
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Name…", "Move to…", "Not This Person", "", "Hide Person"]
    assert dialog.faces.selected_faces() == [face_id]  # the face right-clicked, alone
    menu.actions()[2].trigger()
    qtbot.waitUntil(lambda: dialog.library.catalog.person(person).photos == 3, timeout=10_000)
    assert face_id not in [f.id for f in dialog.library.person_faces(person)]
    qtbot.waitUntil(lambda: dialog.faces.count() == 3, timeout=10_000)
    dialog.library.recluster()
    assert dialog.library.catalog.person(person).photos == 3  # and it stays out


def test_ctrl_p_opens_people_and_double_click_lists_their_photos(qtbot, people_library,
                                                                  monkeypatch):
    from desktop.people.view import PeopleDialog
    from desktop.window.main import MainWindow

    assert any(row[2] == "dialogs.show_people" and row[3] == "Ctrl+P" for row in MainWindow.ACTIONS)
    win = MainWindow(library=people_library)
    qtbot.addWidget(win)
    opened = []

    def exec_(self):
        opened.append(self)
        qtbot.waitUntil(lambda: self.people.count() == 2, timeout=20_000)
        self.people.itemActivated.emit(self.people.item(0))
        return 1

    monkeypatch.setattr(PeopleDialog, "exec", exec_)
    win.named_actions["People…"].trigger()
    assert opened
    person = opened[0].people.item(0).data(Qt.ItemDataRole.UserRole + 1)
    expected = [r.path for r in people_library.person_photos(person)]
    qtbot.waitUntil(lambda: [r.path for r in win.model.results()] == expected, timeout=60_000)
    opened[0].done(0)
    close_window(qtbot, win)


def test_the_header_counts_a_photo_of_two_people_once(qtbot, dialog):
    from test_people import both

    lib = dialog.library
    both(Path(lib.folders()[0].path))
    lib.update()
    lib.enrich()
    assert sorted(p.photos for p in lib.people()) == [5, 5]  # the photo of both, in each
    dialog.refresh()
    qtbot.waitUntil(lambda: dialog.summary.text() == "2 people in 9 photos", timeout=10_000)
