"""The search controller: from what the search bar holds to results in the grid, newest answer
wins, a page at a time, with relevance feedback and "more like this"."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from core.types import Query


class SearchController(QObject):
    """Runs the window's searches through its task runner and shows their answers.

    `generation` counts the searches asked, `shown_generation` the newest one shown: an
    answer older than what is shown is dropped. The window provides `library`, `search` (the
    bar), `model`, `grid`, `stack`, `results_page`, `viewer`, `matches_label`, `tasks`,
    `show_error`, `statusBar()`, `current_row()` and `selected_rows()`."""

    RESULTS = 200

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.generation = 0
        self.shown_generation = 0
        self.page: tuple[int, Query] | None = None  # the shown query, for more of its results
        self._job = None  # the search in flight (tasks.Job)
        self._show_all = False  # past the relevant set: everything, ranked
        self.debounce = QTimer(self, singleShot=True, interval=250)
        self.debounce.timeout.connect(self.run)
        window.search.changed.connect(self._query_changed)
        window.search.submitted.connect(self.now)
        window.model.more_wanted.connect(self.more)

    @property
    def query(self) -> Query | None:
        """The query whose results the grid shows (None before the first)."""
        return self.page[1] if self.page else None

    def now(self) -> None:
        """Return in the search box: search without waiting for the typing pause."""
        self.debounce.stop()
        self.run()

    def run(self, query: Query | None = None) -> None:
        """A query with words or pictures answers with its relevant set ("38 matches", then
        "Show all" ranks everything, a page at a time); filters alone page through all."""
        w = self.window
        if w.library is None:
            return
        if query is None:
            query = w.search.query(self.RESULTS)
            if not query.is_empty() and not self._show_all:
                query = replace(query, k=None)
        self.generation += 1
        generation = self.generation
        w.model.set_marks({**{m: 1 for m in query.good}, **{m: -1 for m in query.bad}})
        self.page = (generation, query)
        started = time.perf_counter()
        if self._job is not None:  # overtaken: dropped if waiting, its answer if not
            self._job.cancel()
        self._job = w.tasks.run(
            lambda: (self._fetch(query), time.perf_counter() - started),
            lambda r: self._show(generation, *r), w.show_error)

    def show_all(self) -> None:
        """Past the end of the relevant set: every photo, ranked."""
        self._show_all = True
        self.debounce.stop()
        self.run()

    def _query_changed(self) -> None:
        self._show_all = False
        self.debounce.start()

    def _fetch(self, query: Query):
        """On a worker: the results of a query, or the newest photos when nothing is asked."""
        if query.is_empty() and not query.has_filters():
            return self.window.library.recent(query.k)
        return self.window.library.search(query)

    def _show(self, generation: int, results, seconds: float | None = None) -> None:
        w = self.window
        if generation < self.shown_generation:
            return  # a newer query already answered: stale results never overwrite it
        self.shown_generation = generation
        if w.stack.currentWidget() is not w.viewer:  # a photo being looked at stays
            w.stack.setCurrentWidget(w.results_page)
        page = self.page[1] if self.page and self.page[0] == generation else None
        relevant_set = page is not None and page.k is None
        w.model.set_results(results, complete=page is None or relevant_set
                            or len(results) < page.k)
        w.matches_label.setVisible(relevant_set)
        if relevant_set:
            w.matches_label.setText(
                f"{len(results)} match{'es' if len(results) != 1 else ''} · "
                "<a href='all'>Show all</a>")
        if seconds is not None:
            w.statusBar().showMessage(f"{len(results)} results in {seconds * 1000:.0f} ms", 4000)
        if results:
            w.grid.setCurrentIndex(w.model.index(0))

    def more(self) -> None:
        """The grid reached its end and there may be more: ask again for twice as many and
        append what is new (the first results of a longer list are the same results)."""
        w = self.window
        if w.library is None or not self.page or self.page[0] != self.shown_generation:
            w.model.set_complete()
            return
        generation, query = self.page
        query = replace(query, k=query.k * 2)
        self.page = (generation, query)

        def arrived(results) -> None:
            if self.page and self.page[0] == generation == self.shown_generation:
                w.model.append_results(results, complete=len(results) < query.k)

        w.tasks.run(lambda: self._fetch(query), arrived, w.show_error)

    # -- what is shown when nothing is asked -----------------------------------------
    def nothing_asked(self) -> bool:
        """No words, chips or filters: the grid shows the newest photos."""
        query = self.window.search.query(1)
        return query.is_empty() and not query.has_filters()

    def show_newest(self, recent) -> None:
        """The newest photos, when nothing is asked; scrolling down brings older ones."""
        self.page = (self.shown_generation, self.window.search.query(self.RESULTS))
        self.window.model.set_results(recent, complete=len(recent) < self.RESULTS)

    # -- the results as the next query ---------------------------------------------------
    def more_like_this(self) -> None:
        w = self.window
        row = w.current_row()
        if row is None:
            return
        result = w.model.result(row)
        # the photo becomes the query, as a chip; the filters stay as they were
        w.search.clear_terms()
        w.search.set_feedback([], [])
        w.search.add_similar(result.media_id, Path(result.path).name)
        self.now()

    def mark_good(self) -> None:
        self.mark(+1)

    def mark_bad(self) -> None:
        self.mark(-1)

    def mark(self, sign: int) -> None:
        """Relevance feedback: more (+1) or fewer (−1) like the selected results, at once."""
        w = self.window
        rows = w.selected_rows()
        if not rows:
            return
        ids = {w.model.result(r).media_id for r in rows}
        good = [m for m in w.search.good if m not in ids]
        bad = [m for m in w.search.bad if m not in ids]
        (good if sign > 0 else bad).extend(sorted(ids))
        w.search.blockSignals(True)  # one search, now, rather than a debounced one
        w.search.set_feedback(good, bad)
        w.search.blockSignals(False)
        self.now()
