"""One instance per library, the tray, the menu entry and start at login."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.usefixtures("qapp")


def test_a_second_launch_asks_the_first_to_show_itself(qtbot, tmp_path):
    from desktop.shell import SingleInstance, ask_running_instance, instance_name

    name = instance_name(tmp_path / "home")
    assert not ask_running_instance(name, timeout_ms=200)  # nobody has it open yet
    first = SingleInstance(name)
    with qtbot.waitSignal(first.raise_requested, timeout=5_000):
        assert ask_running_instance(name)
    first.close()
    assert instance_name(tmp_path / "other") != name  # another library is another instance


def test_the_second_app_exits_and_the_first_keeps_running(tmp_path, random_model):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    home = str(tmp_path / "home")
    cmd = [sys.executable, "-m", "desktop.app", "--home", home, "--model", random_model]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        from desktop.shell import ask_running_instance, instance_name

        deadline = time.monotonic() + 60
        while not ask_running_instance(instance_name(home)) and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.2)
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already has this library open" in second.stdout
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


def test_install_desktop_entry_writes_the_menu_entry_and_icon(tmp_path, monkeypatch):
    from desktop.app import main

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(["--install-desktop-entry"]) == 0
    entry = tmp_path / "data" / "applications" / "snapseek.desktop"
    text = entry.read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line.endswith("snapseek-desktop") and os.path.isabs(exec_line[5:].strip('"'))
    assert "Icon=snapseek" in text
    assert (tmp_path / "data" / "icons" / "hicolor" / "256x256" / "apps" / "snapseek.png").stat(
    ).st_size > 1000


def test_start_at_login_is_an_autostart_entry_that_starts_hidden(tmp_path, monkeypatch):
    from desktop.shell import autostart_enabled, autostart_path, set_autostart

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert not autostart_enabled()
    set_autostart(True)
    assert autostart_path() == tmp_path / "config" / "autostart" / "snapseek.desktop"
    assert "--hidden" in autostart_path().read_text()
    set_autostart(False)
    assert not autostart_enabled()


# the offscreen platform has no tray and no window manager to raise a window with
@pytest.mark.qt_log_ignore("systemTrayWindowChanged", "does not support raise")
def test_with_a_tray_closing_the_window_keeps_watching(qtbot, tmp_path, random_model,
                                                       photo_dir, monkeypatch):
    from PySide6.QtWidgets import QSystemTrayIcon

    from core.library import Library
    from desktop.window import MainWindow

    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda *a, **k: None)
    lib = Library(tmp_path / "home", model=random_model)
    lib.add_folder(photo_dir)
    closes, real_close = [], lib.close
    monkeypatch.setattr(lib, "close", lambda: (closes.append(1), real_close()))
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    assert win.enable_tray()
    win.show()
    win.start()
    qtbot.waitUntil(lambda: lib.background is not None, timeout=60_000)
    win.close()
    assert not win.isVisible()
    assert win.library is lib and closes == []  # still watching
    win.tray.pause_action.trigger()
    assert lib.paused and win.pause_button.isChecked()
    win.tray.show_action.trigger()
    assert win.isVisible()
    monkeypatch.setattr("PySide6.QtWidgets.QApplication.quit", lambda *a: None)
    win.tray.quit_action.trigger()
    assert not win.isVisible() and closes == [1]
