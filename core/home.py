"""A library home on disk: where it is, made private (it holds a thumbnail of every photo), and
its writer lock, so that two processes never index the same library at once."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import platformdirs

from core.files import remove_leftovers

log = logging.getLogger(__name__)

# How long a second writer waits for the first before it says the library is busy.
BUSY_WAIT_S = 5.0
# A temporary file this old, in a home no process is writing, was left by a writer killed
# mid-write. (Only ever by age too: a writer in this very process may have just begun one.)
LEFTOVER_AGE_S = 60.0


def default_home() -> Path:
    env = os.environ.get("SNAPSEEK_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("snapseek", appauthor=False))



def make_private_home(home: Path) -> None:
    """Create the library home readable by its owner only: it holds a thumbnail of every photo.

    A folder that exists already is made private too when it is empty or is a library home
    (it holds a catalog): from its first session, not once a catalog is in it. A folder that
    holds other things is the user's own: left as it is, with a warning (the catalog and the
    thumbnails in it are private all the same, see make_private)."""
    if not home.exists():
        home.parent.mkdir(parents=True, exist_ok=True)
        try:
            home.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process
            pass
        else:
            os.chmod(home, 0o700)  # whatever the umask
            return
    ours = (home / "catalog.db").exists() or not any(home.iterdir())
    if not ours:
        log.warning("%s holds other files: its permissions are left as they are", home)
        return
    make_private(home)


def make_private(folder: Path) -> None:
    """A folder Snapseek writes private things in (a home, a thumbnail folder of the user's
    choosing): made if missing, and readable by its owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.stat(folder).st_mode & 0o077:
        try:
            os.chmod(folder, 0o700)
        except OSError as exc:  # not ours to change: say so, keep working
            log.warning("Could not make %s private: %s", folder, exc)


class HomeLock:
    """The writer lock of a library home: an exclusive lock on a file in it, so that two
    processes (the app watching, `snapseek index`) never index the same library at once.

    fcntl.flock on POSIX and msvcrt.locking on Windows: the operating system drops the lock
    when the process dies, even by kill -9, so a crash never leaves a library locked (a lock
    file that only exists would). The lock is per process and re-entrant: every Library of
    this home in the process shares it, and it is freed when the last holder releases it.
    """

    _shared: dict[str, HomeLock] = {}
    _shared_lock = threading.Lock()

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        self._depth = 0
        self._mutex = threading.Lock()

    @classmethod
    def of(cls, home: Path) -> HomeLock:
        path = Path(os.path.realpath(home)) / "writer.lock"
        with cls._shared_lock:
            return cls._shared.setdefault(str(path), cls(path))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: float) -> bool:
        """Take the lock, waiting up to `wait` seconds for another process; False if busy."""
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            with self._mutex:
                if self._fd is not None:
                    self._depth += 1
                    return True
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                if _try_lock(fd):
                    self._fd, self._depth = fd, 1
                    try:  # who holds it, for a person looking
                        os.ftruncate(fd, 0)
                        os.write(fd, f"{os.getpid()}\n".encode())
                    except OSError:
                        pass
                    return True
                os.close(fd)
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def release(self, all_holds: bool = False) -> None:
        with self._mutex:
            if self._fd is None:
                return
            self._depth = 0 if all_holds else self._depth - 1
            if self._depth <= 0:
                fd, self._fd, self._depth = self._fd, None, 0
                _unlock(fd)
                os.close(fd)


def remove_leftovers_of(lock: HomeLock, folders: list[Path]) -> int:
    """Remove the temporary files writers killed mid-write left in a home's `folders` (a
    half-written index, a thumbnail; the forked index writer is killed with its parent):
    only while no process holds the home's writer lock, this one included (every writer of
    those files holds it, a forked index writer until it ends), and only those older than
    LEFTOVER_AGE_S. Returns how many went."""
    try:
        if lock.held or not lock.acquire(0):
            return 0
    except OSError:  # a home this process cannot write: it leaves nothing there either
        return 0
    try:
        gone = sum(remove_leftovers(folder, LEFTOVER_AGE_S) for folder in folders)
    finally:
        lock.release()
    if gone:
        log.info("removed %d temporary files left by an interrupted write", gone)
    return gone


if os.name == "nt":  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another process holds it
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

