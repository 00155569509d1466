"""One instance per library, the tray, the menu entry and start at login."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("qapp")


def test_a_second_launch_asks_the_first_to_show_itself(qtbot, tmp_path):
    from desktop.shell.instance import SingleInstance, ask_running_instance, instance_name

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
        from desktop.shell.instance import ask_running_instance, instance_name

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
        from PySide6.QtNetwork import QLocalServer

        QLocalServer.removeServer(instance_name(home))  # as the next start would: no socket left


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
    from desktop.shell.entries import autostart_enabled, autostart_path, set_autostart

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
    from desktop.window.main import MainWindow

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
    with qtbot.waitSignal(win.session.closed, timeout=30_000):
        win.tray.quit_action.trigger()
        assert not win.isVisible()
    assert closes == [1]


def test_a_second_instance_never_takes_a_running_ones_socket(qtbot, tmp_path):
    """Two launches at once: the later one must not remove the first one's socket."""
    from desktop.shell.instance import SingleInstance, ask_running_instance, instance_name

    name = instance_name(tmp_path / "home")
    first = SingleInstance(name)
    second = SingleInstance(name)
    try:
        assert first.listening and not second.listening
        with qtbot.waitSignal(first.raise_requested, timeout=5_000):
            assert ask_running_instance(name)  # the first still hears later launches
    finally:
        second.close()
        first.close()


def test_a_socket_left_by_a_crash_is_taken_over(qtbot, tmp_path):
    import socket

    from PySide6.QtCore import QDir

    from desktop.shell.instance import SingleInstance, ask_running_instance, instance_name

    name = instance_name(tmp_path / "home")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(os.path.join(QDir.tempPath(), name))  # as a killed app leaves it: nobody answers
    stale.close()
    instance = SingleInstance(name)
    try:
        assert instance.listening
        with qtbot.waitSignal(instance.raise_requested, timeout=5_000):
            assert ask_running_instance(name)
    finally:
        instance.close()


def test_quit_returns_at_once_and_the_library_closes_in_the_background(
        qtbot, tmp_path, random_model, monkeypatch):
    import threading

    from core.library import Library
    from desktop.window.main import MainWindow

    lib = Library(tmp_path / "home", model=random_model)
    gate, closes, real_close = threading.Event(), [], lib.close

    def slow_close():  # saving a large index takes a while
        gate.wait(5)
        real_close()
        closes.append(threading.current_thread() is threading.main_thread())

    monkeypatch.setattr(lib, "close", slow_close)
    win = MainWindow(library=lib)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: lib.background is not None, timeout=60_000)
    with qtbot.waitSignal(win.session.closed, timeout=20_000):
        win.named_actions["Quit"].trigger()
        assert closes == [] and not win.isVisible()  # back to the event loop, window gone
        gate.set()
    assert closes == [False]  # closed, off the GUI thread


QUIT_AFTER_START = """
import sys
from PySide6.QtCore import QTimer
import core.library
import desktop.window.main

real_close = core.library.Library.close
def close(self):
    real_close(self)
    print("library closed", flush=True)
core.library.Library.close = close

real_start = desktop.window.main.MainWindow.start
def start(self):
    real_start(self)
    def quit_when_watching():
        if self.library is not None and self.library.background is not None:
            timer.stop()
            self.named_actions["Quit"].trigger()
            print("quit returned", flush=True)
    timer = QTimer(self, interval=100)
    timer.timeout.connect(quit_when_watching)
    timer.start()
desktop.window.main.MainWindow.start = start

from desktop.app import main
sys.exit(main(["--home", sys.argv[1], "--model", sys.argv[2]]))
"""


def test_quit_ends_the_app_with_its_library_closed(tmp_path, random_model):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", QUIT_AFTER_START, str(tmp_path / "home"),
                           random_model], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["quit", "returned", "library", "closed"], proc.stdout


LAUNCH_AT_ONCE = """
import os, sys, time
from pathlib import Path
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtNetwork import QLocalServer
from desktop.shell import instance as shell

class AtOnce(QLocalServer):  # both launches reach listen() before either listens
    def listen(self, name):
        meet = Path(sys.argv[2])
        (meet / str(os.getpid())).touch()
        deadline = time.monotonic() + 3
        while len(list(meet.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return super().listen(name)

shell.QLocalServer = AtOnce
app = QCoreApplication([])
instance = shell.SingleInstance(sys.argv[1])
print("listening" if instance.listening else "not listening", flush=True)
instance.raise_requested.connect(lambda: print("raised", flush=True))
QTimer.singleShot(int(sys.argv[3]), app.quit)
app.exec()
instance.close()
"""


def _temporary_files_of(name: str) -> list[str]:
    from PySide6.QtCore import QDir

    return sorted(p.name for p in Path(QDir.tempPath()).glob(name + "*"))


def test_two_launches_at_once_make_one_app_and_keep_its_socket(tmp_path):
    """Both launches look for a running app before either listens: one becomes the app, the
    other does not take its place (both listened before, the second in place of the first's
    socket), and the app still hears later launches."""
    from desktop.shell.instance import ask_running_instance, instance_name

    name = instance_name(tmp_path / "home")
    meet = tmp_path / "meet"
    meet.mkdir()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    launches = [subprocess.Popen([sys.executable, "-c", LAUNCH_AT_ONCE, name, str(meet), "8000"],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(2)]
    try:
        said = [launch.stdout.readline().strip() for launch in launches]
        assert sorted(said) == ["listening", "not listening"], said
        assert ask_running_instance(name)
        outs = [launch.communicate(timeout=30)[0] for launch in launches]
        assert "raised" in outs[said.index("listening")], outs  # the app heard it
    finally:
        for launch in launches:
            launch.kill()
            launch.wait()
    assert [launch.returncode for launch in launches] == [0, 0]
    assert _temporary_files_of(name) == []  # its socket and lock went with it


CLOSED_WHEN_WATCHING = """
import sys
from PySide6.QtCore import QTimer
import core.library
import desktop.window.main

real_close = core.library.Library.close
def close(self):
    real_close(self)
    print("library closed", flush=True)
core.library.Library.close = close

real_start = desktop.window.main.MainWindow.start
def start(self):
    real_start(self)
    def say_when_watching():
        if self.library is not None and self.library.background is not None:
            timer.stop()
            print("watching", flush=True)
    timer = QTimer(self, interval=100)
    timer.timeout.connect(say_when_watching)
    timer.start()
desktop.window.main.MainWindow.start = start

from desktop.app import main
sys.exit(main(["--home", sys.argv[1], "--model", sys.argv[2]]))
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_logout_closes_the_library_as_quit_does(tmp_path, random_model, how):
    """SIGTERM (what a logout sends), or Ctrl+C in the terminal that started it, ends the app
    as Quit does: the library closes, and the app's socket goes from the temporary folder
    (SIGTERM killed it outright, leaving both)."""
    import signal

    from desktop.shell.instance import instance_name

    home = tmp_path / "home"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    app = subprocess.Popen([sys.executable, "-c", CLOSED_WHEN_WATCHING, str(home), random_model],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert app.stdout.readline().strip() == "watching", app.stderr.read()
        assert _temporary_files_of(instance_name(home))  # listening
        app.send_signal(getattr(signal, how))
        out, err = app.communicate(timeout=60)
    finally:
        app.kill()
        app.wait()
    assert app.returncode == 0, err
    assert out.split() == ["library", "closed"], out
    assert _temporary_files_of(instance_name(home)) == []


def test_a_launch_that_loses_by_an_instant_still_raises_the_app(qtbot, tmp_path):
    """The app took the library an instant before this launch and is not listening yet: the
    launch waits for it and asks it to show itself (it gave up at once before, saying the
    window was raised when it was not)."""
    from PySide6.QtNetwork import QLocalServer

    from desktop.shell.instance import InstanceLock, instance_name

    home = tmp_path / "home"
    name = instance_name(home)
    lock = InstanceLock(name)
    assert lock.acquire()
    server = QLocalServer()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    launch = subprocess.Popen([sys.executable, "-m", "desktop.app", "--home", str(home)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # the launch has looked for the app by now
        assert server.listen(name)
        qtbot.waitUntil(server.hasPendingConnections, timeout=30_000)
        asked = server.nextPendingConnection()
        qtbot.waitUntil(lambda: asked.bytesAvailable() > 0, timeout=10_000)
        assert bytes(asked.readAll()).strip() == b"raise"
        out, err = launch.communicate(timeout=60)
        assert launch.returncode == 0, err
        assert "already has this library open" in out
    finally:
        launch.kill()
        launch.wait()
        server.close()
        lock.release()
