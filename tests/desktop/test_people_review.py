"""Reviewing faces in bulk in the People view, over a library of real faces: several faces
selected with Ctrl-click or Ctrl+A are moved, rejected or named in one action; a person is
hidden and shown again; someone seen in only two photos is listed as a suggestion and naming
them makes them a person."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog
from test_people import people_library

pytestmark = pytest.mark.usefixtures("qapp")


def open_view(qtbot, lib, people: int):
    from desktop.people.view import PeopleDialog

    view = PeopleDialog(lib)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.people.count() == people, timeout=20_000)
    return view


@pytest.fixture
def library(tmp_path, random_model, exported_runtime):
    """Eileen and Grace in four photos each."""
    lib = people_library(tmp_path / "home", tmp_path / "Pictures", random_model,
                         runtime=exported_runtime)
    yield lib
    lib.close()


@pytest.fixture
def grace_twice(tmp_path, random_model, exported_runtime):
    """Eileen in four photos, Grace in two: a suggestion."""
    lib = people_library(tmp_path / "home", tmp_path / "Pictures", random_model,
                         leave_out=("grace_big_0.jpg", "grace_crop_0.jpg"),
                         runtime=exported_runtime)
    yield lib
    lib.close()


def choose(qtbot, view, row: int, faces: int) -> int:
    from desktop.people.view import PersonRole

    view.people.setCurrentRow(row)
    person = view.people.item(row).data(PersonRole)
    qtbot.waitUntil(lambda: view.faces.count() == faces
                    and view.faces_title.text().startswith(("Faces of", "Faces in no one")),
                    timeout=10_000)
    return person


def row_of(view, person: int) -> int:
    return next(i for i in range(view.people.count())
                if view.people.item(i).data(Qt.ItemDataRole.UserRole + 1) == person)


def ctrl_click(qtbot, grid, rows) -> None:
    for row in rows:
        qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.ControlModifier,
                         grid.visualItemRect(grid.item(row)).center())


def test_several_faces_moved_then_the_rest_rejected_in_one_action_each(qtbot, library):
    from desktop.people.pickers import PersonPicker

    view = open_view(qtbot, library, 2)
    first = choose(qtbot, view, 0, 4)
    second = view.people.item(1).data(Qt.ItemDataRole.UserRole + 1)
    assert not view.faces.move_action.isEnabled()  # nothing selected yet
    ctrl_click(qtbot, view.faces, [0, 2])
    moving = view.faces.selected_faces()
    assert len(moving) == 2
    calls = []
    real = library.move_faces
    library.move_faces = lambda *a: (calls.append(a), real(*a))[1]
    view.faces.move_action.trigger()
    picker = view.findChild(PersonPicker)
    assert picker.list.count() == 1  # everyone but the person whose faces these are
    picker.list.setCurrentRow(0)
    picker.accept()
    qtbot.waitUntil(lambda: library.catalog.person(second).photos == 6, timeout=10_000)
    assert calls == [(moving, second)]  # one core call for the whole selection
    assert {f.id for f in library.person_faces(second)} >= set(moving)
    assert library.catalog.person(first).photos == 2
    qtbot.waitUntil(lambda: view.faces.count() == 2, timeout=10_000)  # the view follows

    qtbot.keyClick(view.faces, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    rejected = view.faces.selected_faces()
    assert len(rejected) == 2
    view.activateWindow()
    view.faces.setFocus()
    qtbot.waitUntil(view.faces.hasFocus)
    qtbot.keyClick(view.faces, Qt.Key.Key_Delete)  # Not This Person
    # the person is gone, its faces in no one (listed after the people)
    qtbot.waitUntil(lambda: view.people.count() == 2
                    and view.people.item(1).text() == "In no one\n2 faces", timeout=10_000)
    assert all(library.catalog.face(f).person_id is None for f in rejected)
    # remembered: re-sorting may put them with the faces moved before (the same face), never
    # back with the person they were rejected from
    library.recluster()
    assert all(library.catalog.face(f).person_id != first for f in rejected)
    view.done(0)


def test_selected_faces_named_make_a_person_and_hide_shows_again(qtbot, library):
    view = open_view(qtbot, library, 2)
    first = choose(qtbot, view, 0, 4)
    ctrl_click(qtbot, view.faces, [1, 3])
    named = view.faces.selected_faces()
    view.activateWindow()
    view.faces.setFocus()
    qtbot.waitUntil(view.faces.hasFocus)
    qtbot.keyClick(view.faces, Qt.Key.Key_F2)  # Name…, not the people list's rename
    ask = view.findChild(QInputDialog)
    ask.setTextValue("Eileen")
    ask.accept()
    qtbot.waitUntil(lambda: view.people.count() == 3, timeout=10_000)
    [eileen] = [p for p in library.people() if p.name == "Eileen"]
    assert {f.id for f in library.person_faces(eileen.id)} == set(named)
    assert library.catalog.person(first).photos == 2
    assert any(view.people.item(i).text() == "Eileen\n2 photos" for i in range(3))
    assert view.known_names() == ["Eileen"]  # offered by the next Name… box

    hidden = choose(qtbot, view, row_of(view, first), 2)
    view.activateWindow()  # back from the name box
    view.people.setFocus()
    qtbot.waitUntil(view.people.hasFocus)
    qtbot.keyClick(view.people, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)  # Hide
    qtbot.waitUntil(lambda: view.people.count() == 2, timeout=10_000)
    assert library.catalog.person(hidden).hidden
    view.show_hidden.setChecked(True)
    qtbot.waitUntil(lambda: view.people.count() == 3, timeout=10_000)
    row = row_of(view, hidden)
    assert "(hidden)" in view.people.item(row).text()
    choose(qtbot, view, row, 2)
    assert view.faces.hide_action.text() == "Show Person"
    view.faces.hide_action.trigger()
    qtbot.waitUntil(lambda: not library.catalog.person(hidden).hidden, timeout=10_000)
    view.done(0)


def test_a_suggestion_is_listed_and_naming_it_makes_a_person(qtbot, grace_twice):
    from desktop.people.view import SuggestedRole

    lib = grace_twice
    view = open_view(qtbot, lib, 2)
    suggested = view.people.item(1)
    assert suggested.data(SuggestedRole) and not view.people.item(0).data(SuggestedRole)
    assert suggested.text() == "Unnamed?\nSeen in 2 photos"
    assert view.summary.text().endswith("1 more seen in only two photos, at the end")
    person = suggested.data(Qt.ItemDataRole.UserRole + 1)
    assert [p.id for p in lib.suggestions()] == [person]
    choose(qtbot, view, 1, 2)  # its faces can be reviewed like anyone's
    view.rename(person, "Grace")
    qtbot.waitUntil(lambda: any(view.people.item(i).text() == "Grace\n2 photos"
                                for i in range(view.people.count())), timeout=10_000)
    assert lib.suggestions() == [] and "Grace" in {p.name for p in lib.people()}
    assert not any(view.people.item(i).data(SuggestedRole) for i in range(2))
    assert view.summary.text() == "2 people in 6 photos"
    view.done(0)


def test_faces_in_no_one_are_one_group_reviewed_and_named_at_once(qtbot, library, tmp_path):
    from desktop.people.view import UNSORTED, PersonRole

    first = library.people()[0].id
    library.name_person(first, "Eileen")
    rejected = [f.id for f in library.person_faces(first)][:2]
    library.reject_faces(rejected, first)
    view = open_view(qtbot, library, 3)
    unsorted = view.people.item(2)  # after the people
    assert unsorted.data(PersonRole) == UNSORTED
    assert unsorted.text() == "In no one\n2 faces"
    assert view.summary.text() == "2 people in 6 photos · 2 faces in no one, at the end"
    choose(qtbot, view, 2, 2)
    assert view.faces_title.text() == "Faces in no one (2):"
    assert set(view.faces.selected_faces()) == set()
    qtbot.keyClick(view.faces, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert set(view.faces.selected_faces()) == set(rejected)
    # they are no one's to reject or hide; they can be named, or moved to someone
    assert view.faces.name_action.isEnabled() and view.faces.move_action.isEnabled()
    assert not view.faces.reject_action.isEnabled() and not view.faces.hide_action.isEnabled()
    view.grab().save(str(tmp_path / "people-unsorted.png"))
    view.ask_name(view.faces.selected_faces())
    ask = view.findChild(QInputDialog)
    ask.setTextValue("Anna")
    ask.accept()
    qtbot.waitUntil(lambda: view.people.count() == 3 and all(
        view.people.item(i).data(PersonRole) != UNSORTED for i in range(3)), timeout=10_000)
    [anna] = [p for p in library.people() if p.name == "Anna"]
    assert {f.id for f in library.person_faces(anna.id)} == set(rejected)
    assert library.person_faces(None) == []
    view.done(0)
