"""Where the app's icons and data files are, installed or frozen by PyInstaller."""

from __future__ import annotations

from pathlib import Path

from core.paths import resource


def icon_path(name: str) -> Path:
    return resource(name)
