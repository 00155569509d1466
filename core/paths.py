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
