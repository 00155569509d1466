"""Paths as the catalog keeps them, and whether one lies inside a folder."""

from __future__ import annotations

import os


def normalise(path: str | os.PathLike) -> str:
    """A path as the catalog stores it: `~` expanded, absolute, links resolved."""
    return os.path.realpath(os.path.expanduser(os.fspath(path)))


def inside(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or lies anywhere under it ("/a/bc" is not inside "/a/b").
    Both as written: normalise them first where they may differ in spelling."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
