"""Pictures pasted as queries are kept in the cache folder, one folder per running app, and a
later start removes what an app that ended without tidying (a crash, kill -9) left behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from PySide6.QtGui import QColor, QImage

from desktop.search.query_input import pasted_root as cache_root

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture(autouse=True)
def the_real_cache_folder(monkeypatch):
    """Where the app keeps them (the other tests keep theirs in a temporary folder)."""
    monkeypatch.setattr("desktop.search.query_input.pasted_root", cache_root)


def _picture() -> QImage:
    image = QImage(32, 24, QImage.Format.Format_RGB32)
    image.fill(QColor("orange"))
    return image


def test_pasted_pictures_go_to_a_folder_of_this_app_in_the_cache(tmp_path, monkeypatch):
    from desktop.search.query_input import PastedPictures

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pasted = PastedPictures()
    first, second = pasted.save(_picture()), pasted.save(_picture())
    assert first.parent == second.parent  # one folder for the app's whole run
    assert first.parent.parent == tmp_path / "cache" / "snapseek" / "pasted"
    assert not QImage(str(first)).isNull()
    assert pasted.remove_leftovers() == []  # its own folder is no leftover
    pasted.remove()
    assert not first.parent.exists()


# another app: it pastes a picture, says where, then waits to be killed (or to end by itself)
OTHER_APP = textwrap.dedent("""
    import sys
    from PySide6.QtGui import QColor, QGuiApplication, QImage
    from desktop.search.query_input import PastedPictures
    app = QGuiApplication([])
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    print(PastedPictures().save(image).parent, flush=True)
    sys.stdin.read()
""")


def _other_app(env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", OTHER_APP], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def test_a_start_removes_the_folders_of_apps_that_are_gone_and_keeps_running_ones(
        tmp_path, monkeypatch):
    import os
    from pathlib import Path

    from desktop.search.query_input import PastedPictures

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    crashed, crashed_folder = _other_app(env)
    running, running_folder = _other_app(env)
    try:
        crashed.kill()  # no chance to tidy up
        crashed.wait()
        assert Path(crashed_folder).exists() and Path(running_folder).exists()
        assert PastedPictures().remove_leftovers() == [Path(crashed_folder)]
        assert not Path(crashed_folder).exists()
        assert list(Path(running_folder).glob("*.png"))  # still in use by its app
    finally:
        running.kill()
        running.wait()
