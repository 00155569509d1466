"""The real window on a real X display, for tests/desktop/test_x11.py: started as a separate
process under Xvfb, driven from outside by xdotool and xclip. Every 300 ms it writes what a
person would see (the text, the chips, the page, the results, the viewer) to a JSON file, and
files it would have opened in another program are recorded instead of opened.

    python x11_app.py HOME MODEL STATE_JSON
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> int:
    home, model, state_path = sys.argv[1:4]
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import desktop.handoff as handoff
    from core.library import Library
    from desktop.window import MainWindow

    opened: list[str] = []
    handoff.open_media = lambda path, at_s=None: opened.append(path)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Snapseek")
    window = MainWindow(library=Library(home, model=model))
    window.resize(1100, 720)
    window.show()
    window.start()

    written = [0]

    def dump() -> None:
        written[0] += 1
        lib = window.library
        grid = window.grid
        cells = []
        for row in range(min(3, window.model.rowCount())):
            rect = grid.visualRect(window.model.index(row))
            centre = grid.viewport().mapToGlobal(rect.center())
            cells.append([centre.x(), centre.y()])
        search = window.search.edit.mapToGlobal(window.search.edit.rect().center())
        viewer = window.viewer.current()
        state = {
            "written": written[0],  # each state is written after the events before it ran
            "ready": bool(lib is not None and lib.model_loaded and lib.background is not None
                          and lib.background.idle.is_set() and not window.tasks.busy),
            "text": window.search.edit.text(),
            "chips": [str(p) for _, p, _ in window.search.chips],
            "page": {window.viewer: "viewer", window.results_page: "results"}.get(
                window.stack.currentWidget(), "other"),
            "results": [r.path for r in window.model.results()[:10]],
            "generation": window.searching.shown_generation,
            "current_row": grid.currentIndex().row(),
            "viewer_path": viewer.path if viewer else None,
            "viewer_loaded": not window.viewer.image.isNull(),
            "opened": opened,
            "cells": cells,
            "search_box": [search.x(), search.y()],
            "focus": type(app.focusWidget()).__name__ if app.focusWidget() else None,
        }
        tmp = state_path + ".tmp"
        Path(tmp).write_text(json.dumps(state))
        os.replace(tmp, state_path)

    timer = QTimer(interval=300)
    timer.timeout.connect(dump)
    timer.start()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
