"""Watched folders: watchdog events become debounced rescans, run by one background indexer."""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable

from watchdog.events import (
    FileClosedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from core.folders.drives import NETWORK_FS, filesystem_type, signature, within
from core.osutil import lower_priority
from core.types import Level, Notice, Progress, SnapseekError, State

log = logging.getLogger(__name__)

INOTIFY_HELP = (
    "The system's limit on watched folders was reached, so {folder} is checked every "
    "{poll:.0f} s instead of instantly. To raise the limit: "
    "`sudo sysctl fs.inotify.max_user_watches=524288` (add it to /etc/sysctl.conf to keep it)."
)


class ChangeQueue:
    """Paths that changed, each released once it has been quiet for `settle` seconds; the ends
    of moves go together, once moves have stopped for `settle` seconds.

    A chain of moves (a photo moved into a folder, then the folder renamed) thus reaches one
    scan, which sees where the photo went and keeps its id; scanned apart, the first move finds
    neither end on disk. Under moves that never stop, they all go once the oldest has waited
    `longest` seconds. A file closed after writing (IN_CLOSE_WRITE) is released at once, unless
    it is the end of a move still waiting. Other paths wait only for their own quiet, so a file
    that never stops changing holds up nothing else.
    Every event is a hint: the scan that follows stats the path and decides what happened.
    """

    def __init__(self, settle: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.settle = settle
        self.longest = max(5.0, 10 * settle)
        self._clock = clock
        self._due: dict[str, float] = {}  # path → when it may go
        self._moves: dict[str, float] = {}  # move ends → first event; insertion order is age
        self._last_move = float("-inf")
        self._in_flight = 0  # taken but not yet processed
        self._cond = threading.Condition()

    def add(self, path: str, now: bool = False) -> None:
        with self._cond:
            if path not in self._moves:  # a move's end goes with the move
                self._due[path] = self._clock() + (0 if now else self.settle)
            self._cond.notify_all()

    def add_together(self, paths: list[str]) -> None:
        """Both ends of a move: released with every other move waiting."""
        with self._cond:
            self._last_move = t = self._clock()
            for path in paths:
                self._due.pop(path, None)
                self._moves.setdefault(path, t)
            self._cond.notify_all()

    def _moves_due(self) -> float:
        if not self._moves:
            return float("inf")
        oldest = next(iter(self._moves.values()))
        return min(self._last_move + self.settle, oldest + self.longest)

    def _next_release(self) -> float:
        return min([self._moves_due(), *self._due.values()])

    def _take(self, now: float) -> list[str]:
        ready = [p for p, due in self._due.items() if due <= now]
        for path in ready:
            del self._due[path]
        if self._moves_due() <= now:
            ready += self._moves
            self._moves.clear()
        return ready

    def take_ready(self, timeout: float) -> list[str]:
        """Wait up to `timeout` for paths that may go; return them."""
        deadline = self._clock() + timeout
        with self._cond:
            while True:
                now, release = self._clock(), self._next_release()
                if release <= now:
                    ready = self._take(now)
                    self._in_flight = len(ready)
                    return ready
                wait = min(deadline, release) - now
                if wait <= 0:
                    return []
                self._cond.wait(wait)

    def done(self) -> None:
        with self._cond:
            self._in_flight = 0

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._due) + len(self._moves) + self._in_flight


class _Handler(FileSystemEventHandler):
    def __init__(self, queue: ChangeQueue):
        self.queue = queue

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        src = os.fsdecode(event.src_path)
        if isinstance(event, FileClosedEvent):
            self.queue.add(src, now=True)
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's own mtime: its files send their own events
        if isinstance(event, FileSystemMovedEvent):
            # both ends in one scan: a rename is then recognised by its content hash
            self.queue.add_together([src, os.fsdecode(event.dest_path)])
        else:
            self.queue.add(src)


class BackgroundIndexer:
    """One worker thread: reconcile at start, then debounced changes, periodic reconciles,
    and the embedding of whatever is pending. All catalog writes for indexing happen here."""

    # how often the mount table is read: a drive that comes or goes is looked at within this
    DRIVES_EVERY_S = 2.0
    # how long a folder's own stat may take (a share whose server is gone never answers)
    STAT_WITHIN_S = 10.0

    def __init__(self, library, settle: float = 1.0, reconcile_every: float = 1800.0,
                 poll_interval: float = 30.0, observer_factory: Callable | None = None):
        self.library = library
        self.queue = ChangeQueue(settle)
        self.reconcile_every = reconcile_every
        self.poll_interval = poll_interval
        self._observer_factory = observer_factory or Observer
        self._observers: dict[str, object] = {}
        # watch, unwatch and stop come from any thread (the app's, the worker's): one at a time,
        # so that no folder gets two observers and none is left running after stop
        self._watch_lock = threading.RLock()
        self._roots: dict[str, tuple[int, int]] = {}  # folder → (device, inode) when watched
        self._folders: list[str] = []  # the library's folders, as the last reconcile saw them
        self.polling: set[str] = set()
        self._stop = threading.Event()
        self._reconcile_now = threading.Event()
        self._thread: threading.Thread | None = None
        self._told_limit = False
        self.idle = threading.Event()
        self.retry_young_s = max(5.0, settle * 4)
        self._enrich_due = True  # the second pass: after start and after each indexing
        self._switch_failed = False  # a model switch that cannot go on waits for a restart

    # -- lifetime ------------------------------------------------------------
    def start(self) -> None:
        for folder in self.library.folders():
            self.watch(folder.path)
        self._thread = threading.Thread(target=self._run, name="snapseek-indexer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in flight, save the index, stop observers."""
        self._stop.set()
        self.library.cancel()
        self.queue.wake()
        with self._watch_lock:
            for observer in self._observers.values():
                observer.stop()
            for observer in self._observers.values():
                observer.join(timeout)
            self._observers.clear()
            self._roots.clear()
            self.polling.clear()
        if self._thread is not None:
            self._thread.join(timeout)

    def reconcile(self) -> None:
        """Ask for a full stat sweep soon (what a periodic reconcile does)."""
        self._reconcile_now.set()
        self.queue.wake()

    # -- observers -----------------------------------------------------------
    def watch(self, folder: str) -> None:
        with self._watch_lock:
            if folder in self._observers or self._stop.is_set():
                return
            self._watch(folder)

    def _stat(self, folder: str) -> os.stat_result | None:
        try:
            return within(lambda: os.stat(folder), self.STAT_WITHIN_S, folder)
        except OSError:
            return None  # unplugged, or a share that does not answer: tried again later

    def _watch(self, folder: str) -> None:
        st = self._stat(folder)
        if st is None:
            return  # the next reconcile tries again
        self._roots[folder] = (st.st_dev, st.st_ino)
        handler = _Handler(self.queue)
        network = filesystem_type(folder) in NETWORK_FS
        observer = PollingObserver(timeout=self.poll_interval) if network \
            else self._observer_factory()
        try:
            observer.schedule(handler, folder, recursive=True)
            observer.start()
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EMFILE, errno.ENFILE):
                self.library.emit(Notice(Level.ERROR, f"Cannot watch {folder}: {exc}"))
                return
            observer = PollingObserver(timeout=self.poll_interval)
            observer.schedule(handler, folder, recursive=True)
            observer.start()
            network = True
            if not self._told_limit:
                self._told_limit = True
                self.library.emit(Notice(Level.WARNING, INOTIFY_HELP.format(
                    folder=folder, poll=self.poll_interval)))
        if network:
            self.polling.add(folder)
        self._observers[folder] = observer

    def rewatch_changed_roots(self) -> None:
        """A folder that vanished and came back (a disk plugged in again) is a new inode: watch
        it afresh; one whose observer died is restarted; one that moved with its drive to
        another mount point is watched there, and no longer where it was."""
        self._folders = folders = [f.path for f in self.library.folders()]
        for gone in set(self._observers) - set(folders):
            self.unwatch(gone)
        for folder in folders:
            st = self._stat(folder)
            if st is None:
                continue
            with self._watch_lock:
                observer = self._observers.get(folder)
                if observer is None or not observer.is_alive() or \
                        self._roots.get(folder) != (st.st_dev, st.st_ino):
                    self.unwatch(folder)
                    self.watch(folder)

    def unwatch(self, folder: str) -> None:
        with self._watch_lock:
            self._roots.pop(folder, None)
            observer = self._observers.pop(folder, None)
            self.polling.discard(folder)
            if observer is not None:
                observer.stop()
                observer.join(10)

    # -- the worker ----------------------------------------------------------
    def _run(self) -> None:
        lower_priority()
        lib = self.library
        try:
            lib.begin_switch()  # another model asked for, or a switch to resume
            lib.load_model()
            lib.remember_model()
        except Exception as exc:  # noqa: BLE001 - the user must see it, whatever it is
            if not isinstance(exc, SnapseekError):
                log.exception("model loading failed")
            lib.emit(Notice(Level.ERROR, str(exc) if isinstance(exc, SnapseekError)
                            else f"The model could not be loaded: {exc}"))
            lib.emit(Progress(State.ERROR))
            self.idle.set()
            return
        next_reconcile = 0.0  # a reconcile first: catches what changed while we were closed
        retry_at = None
        drives, drives_at = None, 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= drives_at:  # a drive came or went: look at once
                    if drives is not None and signature(self._folders) != drives:
                        self._reconcile_now.set()
                    drives_at = time.monotonic() + self.DRIVES_EVERY_S
                if time.monotonic() >= next_reconcile or self._reconcile_now.is_set():
                    self._reconcile_now.clear()
                    self.rewatch_changed_roots()
                    drives = signature(self._folders)  # the mounts this reconcile sees
                    if lib.scan().moved_folders:
                        self.rewatch_changed_roots()
                    next_reconcile = time.monotonic() + self.reconcile_every
                    self.queue.take_ready(0)  # the full sweep covered these
                    self.queue.done()
                    work = True
                else:
                    wait = next_reconcile - time.monotonic()
                    if retry_at is not None:
                        wait = min(wait, retry_at - time.monotonic())
                    self.idle.set()
                    paths = self.queue.take_ready(max(0.0, min(wait, 1.0)))
                    if paths:
                        self.idle.clear()
                        log.debug("rescanning %d changed paths", len(paths))
                        lib.scan(paths=paths)
                    work = bool(paths) or (retry_at is not None and time.monotonic() >= retry_at)
                if work and not self._stop.is_set():
                    self.idle.clear()
                    lib.index_pending(retry_young_s=self.retry_young_s)
                    retry_at = time.monotonic() + self.retry_young_s if lib.young else None
                    self._enrich_due = True
                self.queue.done()
                if not work and lib.switch_target and not self._switch_failed:
                    self._switch(next_reconcile)
                elif not work and self._enrich_due:
                    self._enrich(next_reconcile)
                elif not work:
                    lib.lighten()  # a first run's torch model, once nothing needs it
            except SnapseekError as exc:
                lib.emit(Notice(Level.ERROR, str(exc)))
                time.sleep(1.0)
            except OSError as exc:  # e.g. disk full: pause, tell the user, keep what is indexed
                lib.emit(Notice(Level.ERROR, f"Indexing paused: {exc}"))
                lib.pause()
                lib.emit(Progress(State.PAUSED))
                self._stop.wait(5.0)
            except Exception:  # never let the indexer die silently
                log.exception("background indexing failed")
                lib.emit(Notice(Level.ERROR, "Background indexing failed; see the log."))
                self._stop.wait(5.0)
        self.idle.set()

    def _enrich(self, next_reconcile: float) -> None:
        """The second pass (faces), while indexing has nothing to do: it stops between photos
        as soon as a change arrives, a reconcile is due, or indexing is paused or stopped."""
        lib = self.library
        if not (lib.faces_enabled or lib.text_enabled):
            self._enrich_due = False
            return

        should_stop = self._idle_work_should_stop(next_reconcile)
        if should_stop():
            return
        try:
            done, failed, stopped = lib.enrich(should_stop)
        except SnapseekError as exc:  # e.g. the face models are missing: said once
            lib.emit(Notice(Level.WARNING, str(exc)))
            done = failed = stopped = False
        self._enrich_due = stopped
        if (done or failed) and not stopped:  # the app's status line: all done, not "finding"
            lib.emit(Progress(State.IDLE))

    def _idle_work_should_stop(self, next_reconcile: float):
        """When work done while indexing is idle (pass 2, a model switch) must stop, between
        photos: a change arrived, a reconcile is due, or indexing is paused or stopped."""
        lib = self.library

        def should_stop() -> bool:
            return (self._stop.is_set() or len(self.queue) > 0 or lib.paused
                    or self._reconcile_now.is_set() or time.monotonic() >= next_reconcile)

        return should_stop

    def _switch(self, next_reconcile: float) -> None:
        """Re-embed with the model switched to (core/library/switch.py) while indexing is idle; it
        stops between chunks as soon as a change arrives, so new photos get the current
        model's vector first and the new model's before the switch."""
        lib = self.library
        should_stop = self._idle_work_should_stop(next_reconcile)
        if should_stop():
            return
        try:
            lib.run_switch(should_stop)
        except SnapseekError as exc:  # e.g. the new model cannot be loaded: said once
            self._switch_failed = True
            lib.emit(Notice(Level.ERROR, f"The switch to {lib.switch_target} cannot go on: {exc}"))
