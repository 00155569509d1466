"""Child processes that end with their parent: the one way the core starts one.

A child kept warm (the decoder for huge pictures, the faces finder, the text reader), or the
forked index writer (`fork`), that outlives its parent holds its memory, and multiprocessing's
resource tracker or the library's writer lock with it, for nobody: a parent killed outright (SIGKILL,
out of memory) runs none of its exit hooks. So each child ends itself:

- On Linux the kernel does it. The child asks for SIGKILL at its parent's death
  (PR_SET_PDEATHSIG) before anything else it does. The kernel counts the *thread* that started
  a child as its parent, so every child is started on one thread of this module's that lives
  as long as the process: a child started from a worker thread that then ends would die with
  that thread.
- Elsewhere a thread in the child waits on its parent and ends the child when it goes.

The resource tracker that the `spawn` start method starts ends by itself once every process
that holds its pipe is gone: the parent and these children."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout  # (not the builtin before 3.11)
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import SpawnContext, SpawnProcess

_PR_SET_PDEATHSIG = 1


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def end_with_parent(parent_pid: int) -> None:
    """In a child, first thing: it ends when the process `parent_pid` ends, however it ends.
    A parent gone already (before the child got here) ends it now."""
    prctl = _prctl()
    if prctl is not None and prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
        if os.getppid() != parent_pid:  # the parent died before the request was made
            os._exit(0)
        return
    if os.getppid() != parent_pid:
        os._exit(0)
    parent = multiprocessing.parent_process()
    if parent is None:  # not started by multiprocessing: nothing to wait on
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="snapseek-parent-watch", daemon=True).start()


def fork() -> int:
    """os.fork() for a child that does one job and leaves (the index writer): it ends when
    this process ends, however it ends. Returns as os.fork does. On Linux the kernel counts
    the thread that forked as the child's parent: that thread must outlive the child (the
    caller that waits for it does); elsewhere a thread of the child's watches its parent."""
    parent, prctl = os.getpid(), _prctl()  # found before: the child loads nothing
    pid = os.fork()
    if pid != 0:
        return pid
    if prctl is not None and prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(1)
        return 0

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="snapseek-parent-watch", daemon=True).start()
    return 0


def _child_start(parent_pid: int, initializer: Callable | None, initargs: tuple) -> None:
    end_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


# -- the starting thread ------------------------------------------------------------------
_jobs: queue.SimpleQueue = queue.SimpleQueue()
_starter: threading.Thread | None = None
_starter_lock = threading.Lock()


def _start_jobs() -> None:
    while True:
        job, done = _jobs.get()
        try:
            done.set_result(job())
        except BaseException as exc:  # handed to the thread that asked
            done.set_exception(exc)


def _on_starter(job: Callable[[], None]) -> None:
    """job() on the thread that starts every child (see the module's docstring)."""
    global _starter
    if threading.current_thread() is _starter:
        job()
        return
    with _starter_lock:
        if _starter is None or not _starter.is_alive():  # (none yet, or this is a forked copy)
            _starter = threading.Thread(target=_start_jobs, name="snapseek-children",
                                        daemon=True)
            try:
                _starter.start()
            except RuntimeError:  # the interpreter is shutting down: no thread to be had
                _starter = None
                job()
                return
    done: Future = Future()
    _jobs.put((job, done))
    done.result()


class _Process(SpawnProcess):
    """A spawned process started on the starting thread."""

    def start(self) -> None:
        _on_starter(super().start)


class _Spawn(SpawnContext):
    """`spawn`, with processes started on the starting thread and kept in `processes` (so that
    a child stuck on its work can be ended without the executor's private fields)."""

    def __init__(self):
        super().__init__()
        self.processes: list[_Process] = []

    def Process(self, *args, **kwargs) -> _Process:  # noqa: N802 - multiprocessing's name
        process = _Process(*args, **kwargs)
        self.processes.append(process)
        return process


class WarmChild:
    """One child process, started by `spawn` (it holds nothing of the parent, and works in a
    frozen app) when first needed, kept warm between calls, running one call at a time, and
    ending with its parent. A child that dies is replaced by the next call."""

    def __init__(self, initializer: Callable | None = None, initargs: tuple = ()):
        self._initializer, self._initargs = initializer, initargs
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._context: _Spawn | None = None

    def _current(self) -> tuple[ProcessPoolExecutor, _Spawn]:
        with self._lock:
            if self._pool is None:
                self._context = _Spawn()
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=self._context, initializer=_child_start,
                    initargs=(os.getpid(), self._initializer, self._initargs))
            return self._pool, self._context

    def _forget(self, pool: ProcessPoolExecutor) -> bool:
        with self._lock:
            if self._pool is not pool:
                return False
            self._pool = self._context = None
            return True

    def submit(self, fn: Callable, *args) -> tuple[Future, Callable[[], None]]:
        """fn(*args) in the child: its future, and the call that ends the child running it
        (should it never finish). A child that died, or that another thread let go meanwhile,
        is replaced once; raises BrokenProcessPool when the new one cannot take it either."""
        for attempt in (1, 2):
            pool, context = self._current()
            try:
                future = pool.submit(fn, *args)
            except (BrokenProcessPool, RuntimeError) as exc:  # RuntimeError: shut down
                self._forget(pool)
                pool.shutdown(wait=False, cancel_futures=True)
                if attempt == 2:
                    raise BrokenProcessPool(str(exc)) from exc
                continue
            return self._handed(future, pool, context)
        raise AssertionError("unreachable")

    def later(self, timeout_s: float, fn: Callable, *args) -> Callable:
        """fn(*args) handed to the child now, and the call that waits for its answer. A call
        whose child was let go or ended before it answered (another call's time ran out) is
        given to the next child, once; one that has not answered in `timeout_s` is given up:
        its child is ended (the next call starts another) and the wait raises TimeoutError,
        so that one picture that hangs stops nothing. What fn raises is raised as it is."""
        future, end_child = self.submit(fn, *args)

        def answer():
            nonlocal future, end_child
            for attempt in (1, 2):
                try:
                    return future.result(timeout_s)
                except (CancelledError, BrokenProcessPool):
                    if attempt == 2:
                        raise
                    future, end_child = self.submit(fn, *args)
                except FutureTimeout:
                    if future.done():  # fn's own TimeoutError (the same class from 3.11)
                        raise
                    end_child()
                    raise TimeoutError(f"took more than {timeout_s:.0f} s") from None
            raise AssertionError("unreachable")

        return answer

    def _handed(self, future: Future, pool: ProcessPoolExecutor, context: _Spawn
                ) -> tuple[Future, Callable[[], None]]:
        def after(f: Future) -> None:
            if not f.cancelled() and isinstance(f.exception(), BrokenProcessPool):
                self._forget(pool)  # the child died: the next call starts another

        future.add_done_callback(after)
        return future, lambda: self._end(pool, context)

    def _end(self, pool: ProcessPoolExecutor, context: _Spawn) -> None:
        self._forget(pool)
        for process in context.processes:
            try:
                process.kill()
            except (ValueError, OSError):  # closed, or gone already
                pass
        pool.shutdown(wait=False, cancel_futures=True)

    def end(self) -> None:
        """End the child now, whatever it is doing (a call stuck in it fails)."""
        with self._lock:
            pool, context = self._pool, self._context
        if pool is not None:
            self._end(pool, context)

    def stop(self, wait: bool = True) -> None:
        """Let the child go once its call in flight is done (calls waiting are cancelled);
        the next call starts another."""
        with self._lock:
            pool, self._pool, self._context = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    @property
    def pids(self) -> list[int]:
        """The processes of the child now (none before its first call)."""
        with self._lock:
            context = self._context
        return [p.pid for p in (context.processes if context else []) if p.pid is not None]
