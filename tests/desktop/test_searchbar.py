"""The search box on its own: what it reads out of the text as chips."""

from __future__ import annotations

import pytest
from driving import close_window
from PySide6.QtCore import Qt

pytestmark = pytest.mark.usefixtures("qapp")


def people_bar(qtbot, names=("Anna", "Ben", "Carl", "Sandy", "Will")):
    from desktop.search.searchbar import SearchBar

    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.set_known_people(list(names))
    return bar


def labels(bar) -> list[str]:
    return sorted(bar.person_chips)


def test_people_named_in_the_text_become_chips(qtbot):
    bar = people_bar(qtbot, ["Anna", "Tom", "Anna Maria"])
    qtbot.keyClicks(bar.edit, "Anna and Tom at the beach")
    assert labels(bar) == ["with Anna", "with Tom"]
    assert bar.query(10).texts == [("at the beach", 1.0)]
    qtbot.mouseClick(bar.person_chips["with Tom"], Qt.MouseButton.LeftButton)
    assert labels(bar) == ["with Anna"] and bar.query(10).texts == [("and Tom at the beach", 1.0)]
    bar.clear()
    assert bar.person_chips == {}


def test_chips_say_how_each_person_is_asked_for(qtbot):
    bar = people_bar(qtbot, ["Anna", "Tom", "Ben"])
    qtbot.keyClicks(bar.edit, "Anna or Tom")
    assert labels(bar) == ["with Anna or Tom"]
    qtbot.keyClicks(bar.edit, " without Ben")
    assert labels(bar) == ["with Anna or Tom", "without Ben"] and bar.query(10).texts == []
    bar.edit.setText("only Anna at the beach")
    assert labels(bar) == ["only Anna"]
    qtbot.mouseClick(bar.person_chips["only Anna"], Qt.MouseButton.LeftButton)
    assert bar.person_chips == {} and bar.query(10).texts == [("only Anna at the beach", 1.0)]


# typed → the chips, which say what the query asks ("Anna - Ben": without Ben, as the
# query reads it, where the chips read "with Ben" and the query only took the word away)
@pytest.mark.parametrize("text, chips", [
    ("Anna and Ben or Carl", ["with (Anna and Ben) or Carl"]),
    ("only Anna or Ben", ["only Anna or only Ben"]),
    ("Anna with Ben only", ["only Anna and Ben"]),
    ("Anna, not Ben, and Carl", ["with Anna", "with Carl", "without Ben"]),
    ("sandy beach", []),
    ("Anna will smile", ["with Anna"]),
    ("Sandy and Will at the beach", ["with Sandy", "with Will"]),
    ("Anna - Ben", ["with Anna", "without Ben"]),
    ("Anna, Ben & Carl", ["with Anna", "with Ben", "with Carl"]),
    ("Anna but not Ben", ["with Anna", "without Ben"]),
    ("just Anna and Ben", ["only Anna and Ben"]),
    ("Anna alone", ["only Anna"]),
])
def test_the_chips_show_the_reading_the_query_uses(qtbot, text, chips):
    from core.query.filters import FaceSeen, PeopleRule

    bar = people_bar(qtbot)
    qtbot.keyClicks(bar.edit, text)
    assert labels(bar) == sorted(chips)
    # the query asks what the chips say: Anna and Carl pass "Anna, not Ben, and Carl", Anna
    # and Ben do not pass "Anna - Ben"
    rule = PeopleRule.of(bar.query(10))
    pair = {"Anna, not Ben, and Carl": ("Anna", "Carl"), "Anna - Ben": ("Anna", "Ben")}
    if text in pair:
        faces = [FaceSeen(n, name, 1.0) for n, name in enumerate(pair[text], 1)]
        assert rule.match(faces) == (text != "Anna - Ben")
        assert bar.query(10).texts == []


def test_a_chip_removed_reads_its_names_as_words_in_the_query_too(qtbot):
    bar = people_bar(qtbot)
    qtbot.keyClicks(bar.edit, "Anna and Ben or Carl at the lake")
    qtbot.mouseClick(bar.person_chips["with (Anna and Ben) or Carl"], Qt.MouseButton.LeftButton)
    query = bar.query(10)
    assert bar.person_chips == {} and query.who is None
    assert query.texts == [("Anna and Ben or Carl at the lake", 1.0)]


def test_a_place_is_read_only_when_the_library_has_it(qtbot):
    from core.media.places import Place, known_names
    from desktop.search.searchbar import SearchBar

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
    from desktop.window.main import MainWindow

    win = MainWindow(library=Library(tmp_path / "home", model=random_model))
    qtbot.addWidget(win)
    threading.Thread(target=win.bridge, args=(Progress(STATE, done=3, total=10),)).start()
    qtbot.waitUntil(lambda: "faces and text: 3 of 10" in win.state_label.text())
    close_window(qtbot, win)


def test_light_and_dark_palettes(qapp):
    from PySide6.QtGui import QPalette

    from desktop.shell.theme import apply_theme

    window = QPalette.ColorRole.Window
    try:
        assert apply_theme(qapp, "dark") and qapp.palette().color(window).lightness() < 80
        assert not apply_theme(qapp, "light")
        assert qapp.palette().color(window).lightness() > 180
    finally:
        apply_theme(qapp, "light")


def test_a_person_from_the_people_view_is_a_chip_that_keeps_the_view(qtbot):
    from desktop.search.searchbar import SearchBar

    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.set_filter("person", "3", "with Anna")
    query = bar.query(10)
    assert query.persons == ["3"] and query.has_filters()  # not "nothing asked": stays shown
    qtbot.mouseClick(bar.filter_chips["person"], Qt.MouseButton.LeftButton)
    assert bar.query(10).persons == []
