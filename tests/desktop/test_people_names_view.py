"""The names the photos' files give, in the People view: listed after the people, their faces
reviewed in the grid, confirmed once (Confirm Name) or said no to (Ignore Name)."""

from __future__ import annotations

import pytest
from test_people_names import named_in_files  # noqa: F401 - the fixture
from test_regions import needs_exiftool

pytestmark = [pytest.mark.usefixtures("qapp"), needs_exiftool]


def texts(view) -> list[str]:
    return [view.people.item(i).text() for i in range(view.people.count())]


def row_named(view, start: str) -> int:
    return next(i for i, text in enumerate(texts(view)) if text.startswith(start))


def test_names_from_the_files_are_confirmed_or_ignored_in_the_view(qtbot, named_in_files,  # noqa: F811
                                                                   tmp_path):
    from desktop.people.view import FileNameRole, PeopleDialog

    lib = named_in_files[0]
    view = PeopleDialog(lib)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.people.count() == 4, timeout=20_000)
    assert texts(view)[2:] == ["Grace Hopper?\nIn the files of 5 photos",
                               "E. Collins?\nIn the files of 1 photo"]
    assert view.summary.text() == ("2 people in 9 photos · 2 names from your files to confirm, "
                                   "at the end")
    grace = row_named(view, "Grace Hopper?")
    assert view.people.item(grace).data(FileNameRole)
    view.people.setCurrentRow(grace)
    qtbot.waitUntil(lambda: view.faces.count() == 4, timeout=10_000)
    assert view.faces_title.text() == "Faces your files call Grace Hopper (4):"
    assert view.confirm_action.isEnabled() and view.faces.hide_action.text() == "Ignore Name"
    view.faces.selectAll()
    assert not view.faces.reject_action.isEnabled()  # they are no one's to reject from here
    view.grab().save(str(tmp_path / "people-names.png"))
    view.confirm_action.trigger()
    qtbot.waitUntil(lambda: "Grace Hopper\n6 photos" in texts(view), timeout=10_000)
    assert "Grace Hopper" in {p.name for p in lib.people()}
    view.people.setCurrentRow(row_named(view, "E. Collins?"))
    qtbot.waitUntil(lambda: view.faces.count() == 1, timeout=10_000)
    view.faces.hide_action.trigger()  # Ignore Name
    qtbot.waitUntil(lambda: view.people.count() == 2, timeout=10_000)
    assert lib.file_suggestions() == []
    assert not view.confirm_action.isEnabled()
    view.done(0)
