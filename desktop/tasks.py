"""One helper for background work: run a function on the thread pool, deliver on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, func: Callable[[], object], signals: _Signals):
        super().__init__()
        self.func = func
        self.signals = signals

    def run(self) -> None:
        try:
            result = self.func()
        except BaseException as exc:  # delivered to the GUI, never lost on a worker thread
            self.signals.failed.emit(exc)
        else:
            self.signals.done.emit(result)


class TaskRunner(QObject):
    """Runs callables off the GUI thread; results and errors arrive as queued signals."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._live: set[_Signals] = set()

    def run(self, func: Callable[[], object], on_done: Callable[[object], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None) -> None:
        signals = _Signals()  # created on the GUI thread, so its slots run there
        self._live.add(signals)

        def finish(_=None, s=signals):
            self._live.discard(s)
            s.deleteLater()

        if on_done:
            signals.done.connect(on_done)
        if on_error:
            signals.failed.connect(on_error)
        signals.done.connect(finish)
        signals.failed.connect(finish)
        self.pool.start(_Task(func, signals))

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)

    @property
    def busy(self) -> bool:
        return bool(self._live)
