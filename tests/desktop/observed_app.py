"""The real app (`snapseek-desktop`, desktop.app.main) with an observer: twice a second it writes
what the window shows to the JSON file named by $SNAPSEEK_OBSERVE, for tests that drive it from
outside (tests/test_privacy.py). Nothing else differs from the installed app."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    from window_state import publish, shown

    import desktop.window.main as window_module
    from desktop.app import main as app_main

    state_path = os.environ["SNAPSEEK_OBSERVE"]
    start = window_module.MainWindow.start
    timers = []

    def observed_start(window) -> None:
        start(window)
        timers.append(publish(state_path, lambda: shown(window)))

    window_module.MainWindow.start = observed_start
    return app_main([])


if __name__ == "__main__":
    sys.exit(main())
