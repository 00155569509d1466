"""Handing files to other programs: the file manager (selected there), the default app, a video
player at a moment. Plain calls, no window."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices


def show_in_file_manager(paths: list[str]) -> list[str]:
    """Files shown selected in the file manager (any thread): freedesktop's
    FileManager1.ShowItems over D-Bus (Nautilus, Dolphin, Nemo, Thunar, ...), Finder's and
    Explorer's own selection on macOS and Windows. Returns the folders still to open (on the
    GUI thread) where none of these answered."""
    if sys.platform == "darwin":
        subprocess.run(["open", "-R", *paths], check=False)
        return []
    if sys.platform == "win32":
        for path in paths:
            subprocess.run(["explorer", f"/select,{os.path.normpath(path)}"], check=False)
        return []
    from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage

    bus = QDBusConnection.sessionBus()
    if bus.isConnected():
        manager = QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                                 "org.freedesktop.FileManager1", bus)
        if manager.isValid():
            uris = [QUrl.fromLocalFile(p).toString() for p in paths]
            reply = manager.call("ShowItems", uris, "")
            if reply.type() != QDBusMessage.MessageType.ErrorMessage:
                return []
    return list(dict.fromkeys(os.path.dirname(p) for p in paths))


def open_folders(folders: list[str]) -> None:
    """The folders in the desktop's file manager, unselected (GUI thread)."""
    for folder in folders:
        QDesktopServices.openUrl(QUrl.fromLocalFile(folder))


def open_media(path: str, at_s: float | None = None) -> None:
    """Open with the desktop's own program; a video moment starts there when mpv or VLC is
    installed (the desktop's opener cannot be told a start time)."""
    if at_s:
        for player, args in (("mpv", [f"--start={at_s:.1f}", path]),
                             ("vlc", [f"--start-time={at_s:.1f}", path])):
            if shutil.which(player) and QProcess.startDetached(player, args)[0]:
                return
    # no shell: the desktop's own opener gets the file URL
    QDesktopServices.openUrl(QUrl.fromLocalFile(path))
