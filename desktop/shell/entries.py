"""The app's menu entry and start at login (freedesktop .desktop files)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from desktop.resources import icon_path

APP_ID = "snapseek"


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def launcher() -> str:
    """The command that starts this app, as installed (or frozen)."""
    if getattr(sys, "frozen", False):
        return sys.executable
    found = shutil.which("snapseek-desktop")
    if found:
        return found
    sibling = Path(sys.executable).with_name("snapseek-desktop")
    return str(sibling) if sibling.exists() else "snapseek-desktop"


def desktop_entry(extra: str = "") -> str:
    """The app's .desktop file, with the launcher's full path (works from a venv too)."""
    text = icon_path("snapseek.desktop").read_text(encoding="utf-8")
    exe = launcher()
    quoted = f'"{exe}"' if " " in exe else exe
    lines = [f"Exec={quoted}{extra}" if line.startswith("Exec=") else line
             for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def install_desktop_entry() -> list[Path]:
    """The menu entry and icon under the user's XDG data folder; returns what was written."""
    data = _xdg("XDG_DATA_HOME", ".local/share")
    entry = data / "applications" / f"{APP_ID}.desktop"
    icon = data / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png"
    for folder in (entry.parent, icon.parent):
        folder.mkdir(parents=True, exist_ok=True)
    entry.write_text(desktop_entry(), encoding="utf-8")
    shutil.copyfile(icon_path("snapseek.png"), icon)
    return [entry, icon]


def autostart_path() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "autostart" / f"{APP_ID}.desktop"


def set_autostart(enabled: bool) -> None:
    """Start at login, hidden in the tray (an XDG autostart entry), or not."""
    path = autostart_path()
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(desktop_entry(" --hidden"), encoding="utf-8")
    else:
        path.unlink(missing_ok=True)


def autostart_enabled() -> bool:
    return autostart_path().exists()
