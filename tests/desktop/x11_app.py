"""The real window on a real X display, for tests/desktop/test_x11.py: started as a separate
process under Xvfb, driven from outside by xdotool and xclip. Every 300 ms it writes what a
person would see (the text, the chips, the page, the results, the viewer) to a JSON file, and
files it would have opened in another program are recorded instead of opened.

    python x11_app.py HOME MODEL STATE_JSON
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    home, model, state_path = sys.argv[1:4]
    from PySide6.QtWidgets import QApplication
    from window_state import publish, shown

    import desktop.handoff as handoff
    from core.library import Library
    from desktop.window.main import MainWindow

    opened: list[str] = []
    handoff.open_media = lambda path, at_s=None: opened.append(path)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Snapseek")
    window = MainWindow(library=Library(home, model=model))
    window.resize(1100, 720)
    window.show()
    window.start()

    written = [0]

    def state() -> dict:
        written[0] += 1
        grid = window.grid
        cells = []
        for row in range(min(3, window.model.rowCount())):
            rect = grid.visualRect(window.model.index(row))
            centre = grid.viewport().mapToGlobal(rect.center())
            cells.append([centre.x(), centre.y()])
        search = window.search.edit.mapToGlobal(window.search.edit.rect().center())
        viewer = window.viewer.current()
        return {
            **shown(window),
            "written": written[0],  # each state is written after the events before it ran
            "chips": [str(p) for _, p, _ in window.search.chips],
            "page": {window.viewer: "viewer", window.results_page: "results"}.get(
                window.stack.currentWidget(), "other"),
            "current_row": grid.currentIndex().row(),
            "viewer_path": viewer.path if viewer else None,
            "viewer_loaded": not window.viewer.image.isNull(),
            "opened": opened,
            "cells": cells,
            "search_box": [search.x(), search.y()],
        }

    timer = publish(state_path, state)  # noqa: F841 - kept while the app runs
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
