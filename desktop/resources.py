"""Where the app's icons and data files are, installed or frozen by PyInstaller."""

from __future__ import annotations

import sys
from pathlib import Path


def icon_path(name: str) -> Path:
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    return base / "resources" / name
