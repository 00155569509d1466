"""Files written whole or not at all, and files known by a few of their bytes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HASH_CHUNK = 64 * 1024


_pairs = threading.Lock()


@contextmanager
def _alone(folder: Path) -> Iterator[None]:
    """One writer at a time puts a file and its companions in place in `folder`, so that two
    writers' pairs are never mixed (one's .bin beside the other's .xml): threads by a lock,
    processes by a lock on the folder itself (POSIX; elsewhere threads only)."""
    with _pairs:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # and the lock with it


_held: dict[str, threading.Lock] = {}
_held_lock = threading.Lock()


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One holder at a time of a long piece of work in `folder` (a download), across threads
    and processes: a lock file in the folder (POSIX; elsewhere threads only). Another holder
    waits, then finds the work done."""
    with _held_lock:
        lock = _held.setdefault(str(Path(folder).resolve()), threading.Lock())
    with lock:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fd = os.open(Path(folder) / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # and the lock with it


@contextmanager
def atomic_path(dest: str | os.PathLike, fsync: bool = True, companions: tuple[str, ...] = ()
                ) -> Iterator[str]:
    """Yield a temp path beside `dest` to write; on success it replaces `dest` at once.

    Each writer gets its own temp file (`<name>.<random>.tmp`), so two writers of the same
    file, in two threads or two processes, never write into each other's; the temp file is
    flushed to disk before the rename and removed when the write fails. Readers see the old
    file or the new one, never half.

    `companions`: the suffixes of files the writer makes beside the path it is given, named
    after it (OpenVINO's save writes `x.bin` beside `x.xml`). The temp path then keeps the
    suffix of `dest` (`<stem>.<random>.tmp<suffix>`), each companion replaces its namesake
    beside `dest` first and `dest` last, so a reader that finds `dest` finds its companions;
    one writer at a time does that (`_alone`), so two writers' files are never mixed.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if companions:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.stem + ".",
                                   suffix=".tmp" + dest.suffix)
    else:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".tmp")
    os.close(fd)
    pairs = [(Path(tmp).with_suffix(s), dest.with_suffix(s)) for s in companions]
    pairs.append((Path(tmp), dest))
    try:
        yield tmp
        if fsync:
            for written, _ in pairs:
                with open(written, "rb") as f:
                    os.fsync(f.fileno())
        with _alone(dest.parent) if companions else contextlib.nullcontext():
            for written, final in pairs:
                os.replace(written, final)
    except BaseException:
        for written, _ in pairs:
            try:
                os.unlink(written)
            except OSError:
                pass
        raise
    if fsync:
        fsync_dir(dest.parent)


# atomic_path's temporary names: `<name>.<8 random characters>.tmp`, or with a companion's
# suffix after it (`<stem>.<random>.tmp.xml`)
_TEMPORARY = re.compile(r"\.[a-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")


def remove_leftovers(folder: str | os.PathLike, older_than: float) -> int:
    """Remove from `folder` (not below it) the temporary files of atomic_path that are older
    than `older_than` seconds: a writer killed mid-write leaves its own. The caller knows that
    no other process writes there now. Returns how many went."""
    gone = 0
    before = time.time() - older_than
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no such folder (yet), or unreadable: nothing to tidy
        return 0
    for entry in entries:
        try:
            if _TEMPORARY.search(entry.name) and entry.is_file(follow_symlinks=False) \
                    and entry.stat(follow_symlinks=False).st_mtime < before:
                os.unlink(entry.path)
                gone += 1
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return gone


def commit_file(written: str | os.PathLike, dest: str | os.PathLike, fsync: bool = True
                ) -> None:
    """Put a finished file (written and checked under another name) in place at once: readers
    find the whole file at `dest` or none."""
    if fsync:
        with open(written, "rb") as f:
            os.fsync(f.fileno())
    os.replace(written, dest)
    if fsync:
        fsync_dir(Path(dest).parent)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename in `folder` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def head_tail_hash(path: str | os.PathLike, chunk: int = HASH_CHUNK, size: int | None = None,
                   digest_size: int = 16) -> str:
    """Hash of size + head + tail: identifies a file without reading it whole."""
    h = hashlib.blake2b(digest_size=digest_size)
    with open(path, "rb") as f:
        if size is None:
            size = os.fstat(f.fileno()).st_size
        h.update(size.to_bytes(8, "little"))
        h.update(f.read(chunk))
        if size > 2 * chunk:
            f.seek(size - chunk)
            h.update(f.read(chunk))
    return h.hexdigest()


def sampled_hash(path: str | os.PathLike, block: int = 1 << 16, samples: int = 64) -> str:
    """Size plus evenly spaced blocks: catches truncation and overwritten bytes without
    reading a multi-gigabyte file whole."""
    h = hashlib.blake2b(digest_size=16)
    size = os.stat(path).st_size
    h.update(size.to_bytes(8, "little"))
    with open(path, "rb") as f:
        if size <= block * samples:
            h.update(f.read())
        else:
            step = (size - block) // (samples - 1)
            for i in range(samples):
                f.seek(i * step)
                h.update(f.read(block))
    return h.hexdigest()
