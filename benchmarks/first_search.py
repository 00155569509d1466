"""The first search after the window opens: how long from the window showing to the first
results of a query typed at once. The default architecture (random weights), a library indexed
once before (so its towers are exported, as on every run after the first).

    python -m benchmarks.first_search [WORK_FOLDER]    # prints JSON; 3 fresh processes

Each run is a fresh process: the window is shown, the query is typed at once, and the time is
taken when the grid holds that query's results (the window's own debounce included).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ONE = r"""
import os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication
app = QApplication([])
from desktop.window.main import MainWindow
shown = time.perf_counter()
window = MainWindow(home=sys.argv[1], model=sys.argv[2])
window.show()
window.start()
window.search.edit.setText("a dog on the beach")  # typed as soon as the window shows
asked = False
while time.perf_counter() - shown < 120:
    app.processEvents()
    if window.library is not None and not asked:
        window.searching.run()  # the library opened: the typed query runs (as its debounce does)
        asked = True
    if asked and window.searching.shown_generation == window.searching.generation and window.model.rowCount():
        break
    time.sleep(0.002)
print(round(time.perf_counter() - shown, 3))
window.quit()
"""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    work = Path(argv[0] if argv else "/tmp/snapseek-first-search")
    from .data import photo_like_jpeg, random_weight_model

    model = random_weight_model("ViT-B-32-SigLIP2-256", "webli", work / "model")
    home, photos = work / "home", work / "Pictures"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SNAPSEEK_NO_FACES": "1",
           "SNAPSEEK_NO_TEXT": "1"}
    if not (home / "catalog.db").exists():
        photos.mkdir(parents=True, exist_ok=True)
        for i in range(8):
            photo_like_jpeg(photos / f"IMG_{i:04d}.jpg", seed=i)
        subprocess.run([sys.executable, "-m", "core.cli", "--home", str(home), "--model", model,
                        "index", str(photos)], check=True, env=env, cwd=ROOT,
                       capture_output=True)
    runs = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", ONE, str(home), model], capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=300)
        if done.returncode:
            raise SystemExit(done.stderr.strip().splitlines()[-1])
        runs.append(float(done.stdout.strip().splitlines()[-1]))
    print(json.dumps({"seconds_median": statistics.median(runs), "runs": runs,
                      "load_average": os.getloadavg()[0]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
