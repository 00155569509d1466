"""Paths as the catalog keeps them, whether one lies inside a folder, and where an installed
package's files lie."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def normalise(path: str | os.PathLike) -> str:
    """A path as the catalog stores it: `~` expanded, absolute, links resolved."""
    return os.path.realpath(os.path.expanduser(os.fspath(path)))


def inside(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or lies anywhere under it ("/a/bc" is not inside "/a/b").
    Both as written: normalise them first where they may differ in spelling."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def spellings(path: str | os.PathLike) -> list[str]:
    """The ways the catalog may have stored a path a person gives: links resolved
    (normalise), as given, and with only the links above each of its folders resolved. The
    scan walks a watched folder (stored resolved) and keeps the links inside it as walked, so
    a photo under a linked subfolder is stored through the link, not where the link points."""
    given = os.path.abspath(os.path.expanduser(os.fspath(path)))
    found = [normalise(given), given]
    head, rest = given, ""
    while True:
        head, tail = os.path.split(head)
        if not tail:
            break
        rest = os.path.join(tail, rest) if rest else tail
        found.append(os.path.join(os.path.realpath(head), rest))
    return list(dict.fromkeys(found))


def package_folder(name: str) -> Path | None:
    """The folder of an installed package, found without importing it (some packages' imports
    need what a bare environment lacks, or load far more than their data); None when it is not
    installed."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resource(name: str) -> Path:
    """A data file the app ships (resources/), installed or frozen by PyInstaller."""
    import sys

    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent.parent))
    return base / "resources" / name
