"""README's screenshots of the viewer and the tray menu, taken from the real app on Xvfb with a
tray host (trayer), driven by xdotool; the pictures are the tests' synthetic photos and the
model the tests train. Not a test: run it by hand when the window changes.

    .venv/bin/python tests/desktop/make_screenshots.py docs/

Needs Xvfb, xdotool, ImageMagick's import and trayer (Debian packages of those names)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]


def main(out: Path) -> int:
    from helpers import make_photo, run_cli
    from ranking_model import CLASSES, ranking_model

    work = Path(tempfile.mkdtemp(prefix="snapseek-screens-"))
    photos = work / "Pictures"
    for i in range(2):
        for j, (colour, shape) in enumerate(CLASSES):
            make_photo(photos / f"IMG_{i * 100 + j:04d}.jpg", colour, shape,
                       size=(960, 720) if (i + j) % 3 else (720, 960), seed=700 + 100 * i + j)
    model = ranking_model()
    run_cli("index", str(photos), home=work / "home", model=model)
    display = ":97"
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb",
               XDG_CONFIG_HOME=str(work / "config"))
    procs = [subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten",
                               "tcp"], stderr=subprocess.DEVNULL)]
    time.sleep(1.5)
    try:
        procs.append(subprocess.Popen(["trayer", "--edge", "top", "--align", "right",
                                       "--widthtype", "pixel", "--width", "64", "--height", "28",
                                       "--SetDockType", "true"], env=env,
                                      stderr=subprocess.DEVNULL))
        time.sleep(1.0)
        procs.append(subprocess.Popen([sys.executable, "-m", "desktop.app", "--home",
                                       str(work / "home"), "--model", model], env=env,
                                      cwd=HERE.parent.parent))
        x = lambda *a: subprocess.run(["xdotool", *a], env=env, check=True,  # noqa: E731
                                      capture_output=True, text=True).stdout.strip()
        time.sleep(12)  # the window, the model and the first grid
        window = x("search", "--onlyvisible", "--name", "^Snapseek$").splitlines()[0]
        x("windowmove", window, "0", "30")
        x("windowsize", window, "1200", "760")
        x("windowfocus", "--sync", window)
        x("key", "ctrl+f")
        x("type", "--delay", "40", "a red circle")
        x("key", "Return")
        time.sleep(3)
        x("key", "Down")  # to the grid
        time.sleep(0.5)
        x("key", "Return")  # the viewer
        time.sleep(2)
        x("key", "Right")
        time.sleep(2)
        shot = lambda name: subprocess.run(["import", "-window", "root",  # noqa: E731
                                            str(out / name)], env=env, check=True)
        shot("screenshot-viewer.png")
        x("key", "Escape")
        # the tray icon sits in trayer's strip at the top right
        x("mousemove", "--sync", "1262", "14", "click", "3")
        time.sleep(1.5)
        shot("screenshot-tray.png")
    finally:
        for proc in reversed(procs):
            proc.kill()
    print(f"wrote {out / 'screenshot-viewer.png'} and {out / 'screenshot-tray.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs").resolve()))
