"""README's screenshot of the People view: real faces that ship in scikit-image and matplotlib
(the astronaut Eileen Collins, Grace Hopper), found by the second pass, sorted and named; taken
offscreen. Not a test: run it by hand when the view changes.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/desktop/make_people_screenshot.py \
        docs/screenshot-people.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[2])]


def main(out: str) -> int:
    from PySide6.QtWidgets import QApplication
    from ranking_model import ranking_model
    from test_people import write_people

    from core.library import Library
    from desktop.people.view import PeopleDialog

    app = QApplication([])
    work = Path(tempfile.mkdtemp(prefix="snapseek-people-"))
    write_people(work / "Pictures", copies=2)
    lib = Library(work / "home", model=ranking_model())
    lib.text_enabled = False  # faces only: the pictures hold no text
    lib.add_folder(work / "Pictures")
    lib.update()
    lib.enrich()
    for person in lib.people()[:2]:
        first = lib.person_photos(person.id)[0].path
        lib.name_person(person.id, "Grace Hopper" if "grace" in first else "Eileen Collins")
    dialog = PeopleDialog(lib)
    dialog.show()
    for _ in range(200):  # the faces load off the GUI thread
        app.processEvents()
        time.sleep(0.02)
    dialog.people.setCurrentRow(0)
    for _ in range(100):
        app.processEvents()
        time.sleep(0.02)
    for row in range(0, dialog.faces.count(), 3):  # a selection, as when reviewing in bulk
        dialog.faces.item(row).setSelected(True)
    app.processEvents()
    dialog.grab().save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot-people.png"))
