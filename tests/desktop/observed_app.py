"""The real app (`snapseek-desktop`, desktop.app.main) with an observer: twice a second it writes
what the window shows to the JSON file named by $SNAPSEEK_OBSERVE, for tests that drive it from
outside (tests/test_privacy.py). Nothing else differs from the installed app."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import desktop.window as window_module
    from desktop.app import main as app_main

    state_path = os.environ["SNAPSEEK_OBSERVE"]
    start = window_module.MainWindow.start
    timers = []

    def observed_start(window) -> None:
        start(window)

        def dump() -> None:
            lib = window.library
            app = QApplication.instance()
            state = {
                "ready": bool(lib is not None and lib.model_loaded and lib.background is not None
                              and lib.background.idle.is_set() and not window.tasks.busy),
                "text": window.search.edit.text(),
                "results": [r.path for r in window.model.results()[:10]],
                "generation": window.searching.shown_generation,
                "busy": window.tasks.busy,
                "focus": type(app.focusWidget()).__name__ if app.focusWidget() else None,
            }
            tmp = state_path + ".tmp"
            Path(tmp).write_text(json.dumps(state))
            os.replace(tmp, state_path)

        timer = QTimer(interval=300)
        timer.timeout.connect(dump)
        timer.start()
        timers.append(timer)

    window_module.MainWindow.start = observed_start
    return app_main([])


if __name__ == "__main__":
    sys.exit(main())
