"""The library's life in the window: opened off the GUI thread, indexing started, reopened
after a settings change, and closed in the background when the window closes."""

from __future__ import annotations

import logging
import threading
import weakref
from concurrent.futures import wait

from PySide6.QtCore import QObject, QSettings, Signal

log = logging.getLogger(__name__)


def open_library(home: str | None, model: str | None):
    """On a worker: the library as Settings say, switching to another model in the
    background when one is asked (the library's own model answers until the new one has
    every vector)."""
    from core.library import Library
    from core.types import LibraryBusy

    settings = QSettings()
    threads = int(settings.value("threads", 0)) or None
    library = Library(home, device=settings.value("device", "auto"), threads=threads,
                      thumbs_dir=settings.value("thumbs") or None)
    wanted = model or settings.value("model") or None
    if wanted:
        try:
            library.switch_model(wanted)
        except LibraryBusy:  # another Snapseek is indexing: asked again next start
            pass
    return library


def reopening_settings() -> tuple:
    """The settings a library is opened with (a change reopens it), as Settings reads them."""
    s = QSettings()
    return (s.value("device", "auto"), int(s.value("threads", 0)), s.value("thumbs", "") or "",
            int(s.value("reconcile_minutes", 30)))


class Session(QObject):
    """Owns `window.library`. The window provides `tasks` and `indexer` (task runners),
    `bridge`, `searching`, `filters`, `query_input`, `model`, `viewer`, `stack` and its pages,
    `state_label`, `show_error` and `fatal`."""

    closed = Signal()  # after shut_down(): the library is closed and the window's work ended

    def __init__(self, window, home: str | None = None, model: str | None = None):
        super().__init__(window)
        self.window = window
        self._home, self._model = home, model
        self._opened = None  # a library opened after the window stopped taking answers
        self._closer: threading.Thread | None = None

    @property
    def closing(self) -> bool:
        return self._closer is not None

    # -- opening ---------------------------------------------------------------------
    def start(self) -> None:
        """Open the library and start indexing, all off the GUI thread."""
        w = self.window
        # a picture pasted before a crash is still in the cache folder: gone now
        w.tasks.run(w.query_input.pasted.remove_leftovers)
        if w.library is not None:
            self._ready(w.library)
            return

        def opening():
            self._opened = open_library(self._home, self._model)
            return self._opened

        w.tasks.run(opening, self._ready, w.fatal)

    def _ready(self, library) -> None:
        w = self.window
        w.library, self._opened = library, None
        library.subscribe(w.bridge)
        # the model loads (and runs once) as soon as the window is up: the first search
        # does not wait for it. What is typed already is the text it runs: the search for it,
        # asked meanwhile, takes that answer (a second run after start costs more)
        typed = [text for text, _ in w.search.query(1).texts][:1] or ["a photo"]
        w.tasks.run(lambda: library.load_model().encode_text(typed))
        count = w.searching.RESULTS
        w.tasks.run(lambda: (library.folders(), library.recent(count)),
                    self._show_start_page, w.show_error)
        w.filters.refresh()
        self.start_indexing()

    def _show_start_page(self, payload) -> None:
        folders, recent = payload
        w = self.window
        if not folders:
            w.stack.setCurrentWidget(w.welcome)
            return
        w.stack.setCurrentWidget(w.results_page)
        if w.searching.nothing_asked():
            w.searching.show_newest(recent)

    def start_indexing(self) -> None:
        """Reconcile, then watch the folders in the background (core's indexer thread)."""
        lib = self.window.library
        minutes = float(QSettings().value("reconcile_minutes", 30))
        self.window.indexer.run(lambda: lib.start_watching(reconcile_every=minutes * 60),
                                None, self.window.show_error)

    def indexing_idle(self) -> None:
        """Indexing went quiet: the status line says how many photos, the newest refresh."""
        w = self.window
        lib = w.library
        if lib is None:
            return
        count = w.searching.RESULTS

        def summary():
            status = lib.status()
            return (status["media_count"], status["error_count"], lib.recent(count),
                    status["away"])

        w.tasks.run(summary, self.show_idle)
        w.filters.refresh()

    def show_idle(self, payload) -> None:
        """(photos, unreadable, newest, drives away): the status line, and the newest."""
        count, errors, recent = payload[:3]
        away = payload[3] if len(payload) > 3 else []
        w = self.window
        w.state_label.setText(
            (f"Up to date · {count} photos" if count else "No photos yet")
            + (f" · {errors} could not be read" if errors else "")
            + "".join(f" · {a['drive']} {a['why']} ({a['photos']} photos kept, searchable)"
                      for a in away))
        if recent and w.searching.nothing_asked():  # a search or a filter-only view stays
            w.stack.setCurrentWidget(w.results_page)
            if not w.model.shows(recent):  # nothing new: the place in the grid stays
                w.searching.show_newest(recent)

    def reopen(self) -> None:
        """A new device, cache or interval: the library closes and opens again, off the GUI
        thread; searches wait on the loading page."""
        w = self.window
        old, w.library = w.library, None
        w.stack.setCurrentWidget(w.loading)
        w.tasks.run(old.close, lambda _: self.start(), w.show_error)

    # -- closing ---------------------------------------------------------------------
    def shut_down(self) -> None:
        """Nothing more reaches the window; then, on a thread of its own, the work in flight
        ends, the library stops (the batch in flight finishes, the index is saved) and closes,
        and `closed` is emitted. Returns at once: the GUI thread goes back to its events."""
        if self._closer is not None:
            return
        w = self.window
        indexing = w.indexer.shut()
        running = [*w.tasks.shut(), *w.model.close(), *w.viewer.close_loader()]
        library, pasted = w.library, w.query_input.pasted
        # Qt objects are deleted on the GUI thread only: the thread below holds no reference
        # that could be the last one to a QObject (its end would delete it there, and Qt's
        # heap with it). `_Done` is kept here, and the session is reached through a weak
        # reference.
        self._done = done = _Done()
        done.finished.connect(self.closed)
        emit, session = weakref.ref(done), weakref.ref(self)

        def close() -> None:
            lib = library
            try:
                wait(indexing, timeout=10)
                if lib is not None:
                    lib.stop()
                wait(running, timeout=5)
                if lib is None:  # one that opened as the window closed
                    owner = session()
                    lib = owner._opened if owner is not None else None
                    del owner
                if lib is not None:
                    lib.close()
            except Exception:  # the process is ending: say why, and end all the same
                log.exception("closing the library failed")
            try:  # pasted pictures go whatever became of the library
                pasted.remove()
            except Exception:
                log.exception("removing the pasted pictures failed")
            finally:
                signal = emit()
                try:
                    if signal is not None:
                        signal.finished.emit()
                except RuntimeError:  # the window and its session were deleted meanwhile
                    pass
                del signal

        self._closer = threading.Thread(target=close, name="snapseek-close")
        self._closer.start()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """For a caller with no event loop left (the app after exec): wait for shut_down."""
        if self._closer is not None:
            self._closer.join(timeout)
        return self._closer is None or not self._closer.is_alive()


class _Done(QObject):
    finished = Signal()
