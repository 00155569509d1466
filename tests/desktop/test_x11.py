"""The real app on a real X display (Xvfb), driven as a person drives it: keys typed and mouse
moved by xdotool, an image put on the X clipboard by xclip, a file dragged in from another
program's window by a real XDND drag. What the window shows is read back from the state file
that tests/desktop/x11_app.py writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TOOLS = ("Xvfb", "xdotool", "xclip")
missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} "
                                "(Debian: xvfb xdotool xclip; .ci/run installs them)")


@pytest.fixture
def display(tmp_path):
    """A fresh virtual screen; its number comes from Xvfb itself (-displayfd)."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1400x900x24",
                             "-nolisten", "tcp"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    number = b""
    with os.fdopen(read, "rb") as pipe:
        while not number.endswith(b"\n"):
            chunk = pipe.read(1)
            if not chunk:
                break
            number += chunk
    if not number.strip():
        xvfb.kill()
        pytest.skip("Xvfb did not start")
    yield f":{number.decode().strip()}"
    xvfb.kill()
    xvfb.wait()


def _env(display: str) -> dict:
    # the faces-and-text pass off, as ranked_photos was indexed
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", SNAPSEEK_NO_FACES="1",
               SNAPSEEK_NO_TEXT="1")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent.parent), env.get("PYTHONPATH", "")])
    return env


def _x(display: str, *args: str) -> str:
    return subprocess.run(["xdotool", *args], env=_env(display), check=True,
                          capture_output=True, text=True, timeout=30).stdout.strip()


class App:
    def __init__(self, display: str, home: Path, model: str, state: Path):
        self.display, self.state_path = display, state
        self.proc = subprocess.Popen([sys.executable, str(HERE / "x11_app.py"), str(home), model,
                                      str(state)], env=_env(display),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    def wait(self, condition, timeout: float = 60.0, what: str = "") -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the app ended: {self.proc.stdout.read().decode()[-2000:]}")
            state = self.state()
            if state and condition(state):
                return state
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}: {self.state()}")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _wait_for_clipboard(display: str, target: str, timeout: float = 10.0) -> None:
    """Until the X clipboard offers `target` (xclip owns the selection once it has read its
    file, some time after it started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        offered = subprocess.run(["xclip", "-selection", "clipboard", "-t", "TARGETS", "-o"],
                                 env=_env(display), capture_output=True, text=True, timeout=10)
        if target in offered.stdout.split():
            return
        time.sleep(0.05)
    raise AssertionError(f"the clipboard never offered {target}")


def _kinds(state: dict, truth: dict, n: int = 5) -> list:
    return [truth.get(p) for p in state["results"][:n]]


def test_the_real_app_under_x11(display, tmp_path, ranked_photos, trained_model):
    from helpers import draw_photo, make_photo

    home, _, truth = ranked_photos
    copy = tmp_path / "home"
    shutil.copytree(home, copy)  # the app watches and writes; the shared library stays as it is
    app = App(display, copy, trained_model, tmp_path / "state.json")
    clipboard = drag = None
    try:
        first = app.wait(lambda s: s["ready"] and s["results"], 240, "the library to open")
        window = _x(display, "search", "--sync", "--onlyvisible", "--name", "^Snapseek$")
        _x(display, "windowfocus", "--sync", window)

        # type a query and press Return: the grid is ranked, nothing opens elsewhere
        x, y = first["search_box"]
        _x(display, "mousemove", "--sync", str(x), str(y), "click", "1")
        app.wait(lambda s: s["focus"] == "QLineEdit", 10, "focus in the search box")
        _x(display, "type", "--delay", "30", "a green square")
        _x(display, "key", "Return")
        state = app.wait(lambda s: s["text"] == "a green square" and sum(
            k == ("green", "square") for k in _kinds(s, truth)) >= 4, 30, "green squares")
        # a state written later than the one with the results: the key's events have all run
        later = app.wait(lambda s: s["written"] > state["written"], 10, "the next state")
        assert later["opened"] == []

        # Ctrl+V an image from the X clipboard into the focused search box: an image chip
        draw_photo("yellow", "circle", (320, 240), seed=79).save(tmp_path / "clip.png")
        clipboard = subprocess.Popen(["xclip", "-selection", "clipboard", "-t", "image/png",
                                      "-i", str(tmp_path / "clip.png")], env=_env(display))
        _wait_for_clipboard(display, "image/png")
        _x(display, "key", "ctrl+v")
        state = app.wait(lambda s: len(s["chips"]) == 1, 20, "a pasted image chip")
        assert state["text"] == "a green square"  # the picture did not go in as text

        # drag a photo in from another program's window: a real XDND drag
        dropped = make_photo(tmp_path / "dropped.jpg", "orange", "triangle", seed=77)
        drag = subprocess.Popen([sys.executable, str(HERE / "x11_drag_source.py"), str(dropped)],
                                env=_env(display), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        source = _x(display, "search", "--sync", "--onlyvisible", "--name", "^drag-source$")
        _x(display, "windowmove", "--sync", source, "1150", "700")
        _x(display, "windowfocus", "--sync", source)
        _x(display, "mousemove", "--sync", "1250", "760", "mousedown", "1")
        gx, gy = state["cells"][0]
        for step in range(1, 11):  # a drag is a path of moves, not a jump
            _x(display, "mousemove", "--sync", str(1250 + (gx - 1250) * step // 10),
               str(760 + (gy - 760) * step // 10))
            time.sleep(0.05)
        _x(display, "mouseup", "1")
        state = app.wait(lambda s: str(dropped) in s["chips"], 20, "the dropped photo's chip")

        # open the viewer from the grid and flip with →
        _x(display, "windowfocus", "--sync", window)
        cx, cy = state["cells"][0]
        _x(display, "mousemove", "--sync", str(cx), str(cy), "click", "1")
        app.wait(lambda s: s["focus"] == "QListView" and s["current_row"] == 0, 10, "grid focus")
        _x(display, "key", "Return")
        state = app.wait(lambda s: s["page"] == "viewer" and s["viewer_loaded"], 20, "viewer")
        assert state["viewer_path"] == state["results"][0]
        _x(display, "key", "Right")
        state = app.wait(lambda s: s["viewer_path"] == s["results"][1], 10, "the next photo")
        if os.environ.get("SNAPSEEK_SCREENSHOTS") and shutil.which("import"):
            subprocess.run(["import", "-window", "root", os.environ["SNAPSEEK_SCREENSHOTS"]],
                           env=_env(display), check=False, timeout=30)
        _x(display, "key", "Escape")
        state = app.wait(lambda s: s["page"] == "results" and s["current_row"] == 1, 10,
                         "back on the grid at the same place")
        assert state["opened"] == []
    finally:
        for proc in (clipboard, drag):
            if proc is not None:
                proc.kill()
        app.close()
