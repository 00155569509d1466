"""Exported towers kept once per machine as well as in each library home.

A home's first load of a model exports its towers (torch.export and OpenVINO's conversion:
seconds, and minutes on a busy machine). Another home with the same weights (a second library,
a library made again, a model switched back to) copies that export from the app's cache folder
instead. The files are named after the model id's hash (Embedder.runtime_key: spec, weights
fingerprint, dimension), so other weights never share a name. Only an export that agreed with
torch is kept here, a copy is checked against torch again in the home that takes it (as an
export is), and one that fails there is dropped from both places, so the next load exports
afresh."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from core.files import atomic_path

log = logging.getLogger(__name__)


def folder() -> Path:
    from core.thirdparty import cache_folder

    return Path(cache_folder()) / "exports"


def _copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest, fsync=False) as tmp:
        shutil.copyfile(source, tmp)


def take(files: list[Path]) -> bool:
    """Copy the machine's export into place at `files` (in order: the file a reader looks for
    last); True when every one was there."""
    shared = [folder() / f.name for f in files]
    if not all(s.is_file() for s in shared):
        return False
    try:
        for source, dest in zip(shared, files, strict=True):
            _copy(source, dest)
    except OSError as exc:
        log.info("the machine's export of %s could not be copied (%s)", files[-1].name, exc)
        return False
    log.info("%s copied from the machine's exports", files[-1].name)
    return True


def keep(files: list[Path]) -> None:
    """Keep a home's export that agreed with torch for the next home (in order, as take)."""
    try:
        for f in files:
            if not (folder() / f.name).is_file():
                _copy(f, folder() / f.name)
    except OSError as exc:  # a cache: the home has its own copy
        log.info("the export %s is not kept for other libraries (%s)", files[-1].name, exc)


def drop(files: list[Path]) -> None:
    """Forget an export that failed its check, here and in the home."""
    for f in files:
        for path in (f, folder() / f.name):
            try:
                path.unlink()
            except OSError:
                pass
