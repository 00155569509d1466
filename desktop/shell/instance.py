"""One app per library: a later launch on the same library raises the running app's window;
and a logout or a signal quits as Quit does."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from desktop.shell.entries import APP_ID


# -- one app per library ------------------------------------------------------------
def instance_name(home: str | os.PathLike | None) -> str:
    """The local socket name of the app that has this library open (per user and library)."""
    from core.library import default_home

    where = os.path.realpath(os.fspath(home) if home else default_home())
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    return f"{APP_ID}-{user}-{hashlib.sha1(where.encode()).hexdigest()[:12]}"


def ask_running_instance(name: str, timeout_ms: int = 500) -> bool:
    """True when an app already has the library open; it is asked to show its window."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(b"raise\n")
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


def raise_running_instance(name: str, within_s: float = 5.0) -> bool:
    """Ask the app that has the library open to show its window, waiting up to `within_s`
    for it to listen (it may have taken the library an instant before this launch)."""
    import time

    deadline = time.monotonic() + within_s
    while not ask_running_instance(name):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


class InstanceLock:
    """The right to be the app that has a library open: an exclusive lock on a file beside
    the socket (`<name>.lock` in the temporary folder), taken without waiting. Taking it is
    one step, so two launches at once cannot both win, and the system lets go of it when the
    app ends, however it ends. POSIX; elsewhere every launch takes it (as before)."""

    def __init__(self, name: str):
        from PySide6.QtCore import QDir

        self.path = Path(QDir.tempPath()) / f"{name}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return True
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # another app holds it
                os.close(fd)
                return False
            try:  # the app that held it may have removed the file as it quit: take the new one
                if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    self._fd = fd
                    return True
            except FileNotFoundError:
                pass
            os.close(fd)

    def release(self) -> None:
        """Let go, and remove the file (while it is still held: no launch takes it meanwhile)."""
        if self._fd is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None


class SingleInstance(QObject):
    """Listens for later launches on the same library; each one raises this app's window.

    `listening` is False when another app has the library open (two launches at once: the
    first to take the InstanceLock): that app keeps its socket, and this one should ask it to
    show itself instead. Only the lock's holder removes a socket left by an app that crashed,
    so no launch removes a live app's socket."""

    raise_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self._sockets: list[QLocalSocket] = []  # connected launches, until they have spoken
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._lock = InstanceLock(name)
        self.listening = self._lock.acquire()
        if self.listening:
            QLocalServer.removeServer(name)  # left behind by a crash: no one answers on it
            self.listening = self.server.listen(name)
            if not self.listening:
                self._lock.release()
        self.server.newConnection.connect(self._connected)

    def _connected(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._sockets.append(socket)
            socket.readyRead.connect(self._read)

    def _read(self) -> None:
        for socket in list(self._sockets):
            if socket.bytesAvailable() and bytes(socket.readAll()).strip() == b"raise":
                self._sockets.remove(socket)
                socket.close()
                self.raise_requested.emit()

    def close(self) -> None:
        """Stop listening: the socket goes, then the lock (the next launch is the app)."""
        self.server.close()
        for socket in self._sockets:
            socket.close()
        self._sockets.clear()
        self._lock.release()


# -- ending with the session -----------------------------------------------------------------
def quit_on_signals(window, signals: tuple[str, ...] = ("SIGTERM", "SIGINT", "SIGHUP")) -> tuple:
    """A logout (SIGTERM), Ctrl+C in the terminal that started the app (SIGINT) or that
    terminal closing (SIGHUP) quits as the Quit action does: the library closes, then the app
    ends. The signal only wakes the event loop (through Python's wakeup descriptor); the
    quitting is done there, on the GUI thread. Returns what the caller keeps while the app
    runs."""
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier

    wanted = [getattr(signal, name) for name in signals if hasattr(signal, name)]
    reader, writer = socket.socketpair()
    for end in (reader, writer):
        end.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    for number in wanted:
        signal.signal(number, lambda *_: None)  # (Python's part runs at the next wakeup)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)

    def woken() -> None:
        try:
            reader.recv(64)
        except OSError:
            return
        window.quit()
        window.session.shut_down()  # (a window never shown is not closed: the library is)

    notifier.activated.connect(woken)
    return reader, writer, notifier
