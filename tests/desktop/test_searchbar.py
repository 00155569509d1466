"""The search box on its own: what it reads out of the text as chips."""

from __future__ import annotations

import pytest
from driving import close_window
from PySide6.QtCore import Qt

pytestmark = pytest.mark.usefixtures("qapp")


def test_people_named_in_the_text_become_chips(qtbot):
    from desktop.searchbar import SearchBar

    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.set_known_people(["Anna", "Tom", "Anna Maria"])
    qtbot.keyClicks(bar.edit, "Anna and Tom at the beach")
    assert sorted(bar.person_chips) == ["Anna", "Tom"]
    query = bar.query(10)
    assert sorted(query.persons) == ["Anna", "Tom"] and query.texts == [("at the beach", 1.0)]
    qtbot.mouseClick(bar.person_chips["Tom"], Qt.MouseButton.LeftButton)
    assert list(bar.person_chips) == ["Anna"] and bar.query(10).persons == ["Anna"]
    bar.clear()
    assert bar.person_chips == {}


def test_chips_say_how_each_person_is_asked_for(qtbot):
    from desktop.searchbar import SearchBar

    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.set_known_people(["Anna", "Tom", "Ben"])
    qtbot.keyClicks(bar.edit, "Anna or Tom")
    assert {n: c.label for n, c in bar.person_chips.items()} == {"Anna": "or Anna",
                                                                 "Tom": "or Tom"}
    qtbot.keyClicks(bar.edit, " without Ben")
    assert bar.person_chips["Ben"].label == "without Ben"
    query = bar.query(10)
    assert (query.persons_any, query.persons_not, query.texts) == (["Anna", "Tom"], ["Ben"], [])
    bar.edit.setText("only Anna at the beach")
    assert {n: c.label for n, c in bar.person_chips.items()} == {"Anna": "only Anna"}
    assert bar.query(10).persons_only == ["Anna"]
    qtbot.mouseClick(bar.person_chips["Anna"], Qt.MouseButton.LeftButton)
    assert bar.person_chips == {} and bar.query(10).persons_only == []


def test_a_place_is_read_only_when_the_library_has_it(qtbot):
    from core.media.places import Place, known_names
    from desktop.searchbar import SearchBar

    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.set_known_places(known_names([Place("Intendente", "Lisbon", "Lisbon", "Portugal",
                                            "PT")]))
    qtbot.keyClicks(bar.edit, "tram in lisbon")
    assert bar.place_chip is not None and bar.query(10).place == "Lisbon"
    bar.edit.clear()
    qtbot.keyClicks(bar.edit, "sushi in Japan")
    assert bar.place_chip is None and bar.query(10).place is None


def test_the_second_pass_shows_in_the_status_bar(qtbot, tmp_path, random_model):
    import threading

    from core.folders.enrich import STATE
    from core.library import Library
    from core.types import Progress
    from desktop.window import MainWindow

    win = MainWindow(library=Library(tmp_path / "home", model=random_model))
    qtbot.addWidget(win)
    threading.Thread(target=win.bridge, args=(Progress(STATE, done=3, total=10),)).start()
    qtbot.waitUntil(lambda: "faces and text: 3 of 10" in win.state_label.text())
    close_window(qtbot, win)


def test_light_and_dark_palettes(qapp):
    from PySide6.QtGui import QPalette

    from desktop.theme import apply_theme

    window = QPalette.ColorRole.Window
    try:
        assert apply_theme(qapp, "dark") and qapp.palette().color(window).lightness() < 80
        assert not apply_theme(qapp, "light")
        assert qapp.palette().color(window).lightness() > 180
    finally:
        apply_theme(qapp, "light")


def test_a_person_from_the_people_view_is_a_chip_that_keeps_the_view(qtbot):
    from desktop.searchbar import SearchBar

    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.set_filter("person", "3", "with Anna")
    query = bar.query(10)
    assert query.persons == ["3"] and query.has_filters()  # not "nothing asked": stays shown
    qtbot.mouseClick(bar.filter_chips["person"], Qt.MouseButton.LeftButton)
    assert bar.query(10).persons == []
