"""What a window shows, written to a JSON file every 300 ms for tests that drive the real app
from outside (tests/desktop/x11_app.py, tests/desktop/observed_app.py): one way to say "ready"
and one atomic write, so a reader never sees half a file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path


def shown(window) -> dict:
    """The state both drivers report: ready (model loaded, indexing idle, nothing running), the
    search text, the first results, the generation of search shown and the focused widget."""
    from PySide6.QtWidgets import QApplication

    lib = window.library
    focus = QApplication.instance().focusWidget()
    return {
        "ready": bool(lib is not None and lib.model_loaded and lib.background is not None
                      and lib.background.idle.is_set() and not window.tasks.busy),
        "text": window.search.edit.text(),
        "results": [r.path for r in window.model.results()[:10]],
        "generation": window.searching.shown_generation,
        "busy": window.tasks.busy,
        "focus": type(focus).__name__ if focus else None,
    }


def publish(path: str, state: Callable[[], dict], interval_ms: int = 300):
    """A started timer that writes state() to `path` (through a temporary file) each interval;
    keep a reference to it."""
    from PySide6.QtCore import QTimer

    def write() -> None:
        tmp = path + ".tmp"
        Path(tmp).write_text(json.dumps(state()))
        os.replace(tmp, path)

    timer = QTimer(interval=interval_ms)
    timer.timeout.connect(write)
    timer.start()
    return timer
