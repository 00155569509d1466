"""One helper for background work: run a function on worker threads, deliver on the GUI thread."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


_lane: ThreadPoolExecutor | None = None
_lane_lock = threading.Lock()


def _changes_lane() -> ThreadPoolExecutor:
    """The one worker that runs the app's library changes, in order."""
    global _lane
    with _lane_lock:
        if _lane is None:
            _lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapseek-change")
        return _lane


class TaskRunner(QObject):
    """Runs callables off the GUI thread; results and errors arrive as queued signals.

    The workers are Python threads that live as long as the runner: per-thread resources of
    the core (a SQLite connection each) are made once per worker and reused. (Qt's thread
    pool runs Python code under a new thread state for every task, so every task opened, and
    leaked, a connection of its own.)

    Every task has an error path: `on_error`, or else one line in the log (never lost on a
    worker thread). After `close()` nothing more is delivered: a window that is closing does
    not get answers for widgets it no longer has.

    `run` returns a Job: cancelling it drops the task if it has not started and its answer if
    it has (a search overtaken by the next keystroke). Tasks that change the library (add or
    remove a folder, name a person, switch models) are run with `changes=True`: one at a time,
    in the order asked, on one worker shared by every runner of the app (the window's, the
    dialogs'), so that two changes never interleave and a long change never holds up searches."""

    _finished = Signal(int, bool, object)  # token, succeeded, result or exception

    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=max_threads,
                                        thread_name_prefix="snapseek-task")
        self._tokens = itertools.count()
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
        self._futures: dict[int, Future] = {}
        self._closed = False
        self._finished.connect(self._deliver)  # emitted on a worker: queued to this thread

    def run(self, func: Callable[[], object], on_done: Callable[[object], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None, *,
            changes: bool = False) -> Job:
        token = next(self._tokens)
        job = Job(self, token)
        if self._closed:
            job.cancelled = True
            return job
        self._callbacks[token] = (on_done, on_error)

        def work() -> None:
            try:
                result = func()
            except BaseException as exc:  # delivered to the GUI, never lost on a worker thread
                self._finished.emit(token, False, exc)
            else:
                self._finished.emit(token, True, result)

        self._futures[token] = (_changes_lane() if changes else self._pool).submit(work)
        return job

    def _cancel(self, token: int) -> None:
        self._callbacks.pop(token, None)  # an answer that still comes is dropped
        future = self._futures.get(token)
        if future is not None and future.cancel():  # not started: it never runs
            del self._futures[token]
        # started: it runs to its end (close() still waits for it); its answer is dropped

    def _deliver(self, token: int, ok: bool, payload: object) -> None:
        self._futures.pop(token, None)
        if token not in self._callbacks:  # cancelled
            return
        on_done, on_error = self._callbacks.pop(token)
        if self._closed:
            return
        if ok:
            if on_done is not None:
                on_done(payload)
        elif on_error is not None:
            on_error(payload)
        else:
            log.warning("background task failed: %s: %s", type(payload).__name__, payload)

    def wait(self, msecs: int = -1) -> bool:
        """Wait for the tasks submitted so far to end (their answers are still queued)."""
        done, pending = wait(list(self._futures.values()),
                             timeout=None if msecs < 0 else msecs / 1000)
        return not pending

    def close(self, msecs: int = 5000) -> None:
        """Deliver nothing more, then wait for the tasks in flight."""
        wait(self.shut(), timeout=None if msecs < 0 else msecs / 1000)

    def shut(self) -> list[Future]:
        """Deliver nothing more and start nothing more of this runner's own; returns the
        tasks still to end, for another thread to wait on (the GUI thread does not)."""
        self._closed = True
        # queued library changes (the shared lane) still run: a person renamed just before
        # its dialog closed is renamed; only their answers are dropped
        self._pool.shutdown(wait=False, cancel_futures=True)
        return [f for f in self._futures.values() if not f.cancelled()]

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    @property
    def in_flight(self) -> int:
        """Tasks whose answer has not reached the GUI thread yet, cancelled ones included
        (their answer is dropped there)."""
        return len(self._futures)


class Job:
    """One task given to a TaskRunner."""

    def __init__(self, runner: TaskRunner, token: int):
        self._runner, self._token = runner, token
        self.cancelled = False

    def cancel(self) -> None:
        """Drop the task if it has not started, and its answer (or error) if it has."""
        self.cancelled = True
        self._runner._cancel(self._token)
