"""The main window: one search box with image chips, a thumbnail grid, preview and status bar."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QMimeData, QSettings, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QIcon, QImage, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QLabel, QListView, QMainWindow, QMenu, QMessageBox,
    QPushButton, QSlider, QSplitter, QStackedWidget, QSystemTrayIcon, QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.types import Notice, Progress, Query

from .bridge import CoreBridge
from .resources import icon_path
from .results import ResultRole, ResultsModel, thumbnail_grid
from .searchbar import SearchBar, has_media
from .tasks import TaskRunner
from .preview import PreviewPane
from .status import StatusArea
from .viewer import Viewer


class MainWindow(QMainWindow):
    """Talks to core.Library only through the task runner: the GUI thread never waits on it."""

    RESULTS = 200

    def __init__(self, home: str | None = None, model: str | None = None, library=None):
        super().__init__()
        self.setWindowTitle("Snapseek")
        self.setWindowIcon(QIcon(str(icon_path("snapseek.png"))))
        self.resize(1100, 720)
        self.setAcceptDrops(True)
        self._home, self._model = home, model
        self.library = library
        self.tasks = TaskRunner(self, max_threads=2)
        self.indexer = TaskRunner(self, max_threads=1)
        self.bridge = CoreBridge(self)
        self.bridge.progress.connect(self.on_progress)
        self.bridge.notice.connect(self.on_notice)
        self._generation = 0
        self._shown_generation = 0
        # pasted pictures, kept while the app runs (a query names a file); removed at quit
        self._query_dir: Path | None = None
        self.tray = None  # a desktop.shell.Tray once enable_tray() found a system tray
        self._page: tuple[int, Query] | None = None  # the shown query, for more of its results
        self._search_job = None  # the search in flight (tasks.Job)
        self._show_all = False  # past the relevant set: everything, ranked
        self._quitting = False
        self._build()
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.run_search)
        self.search.changed.connect(self._query_changed)
        self.search.submitted.connect(self.search_now)
        self.search.paste_media.connect(self.paste)
        self.search.down.connect(self.grid.setFocus)
        QWidget.setTabOrder(self.search.edit, self.grid)  # keyboard only: box, then results

    # -- layout --------------------------------------------------------------
    def _build(self) -> None:
        self.search = SearchBar()
        self.size_slider = QSlider(Qt.Orientation.Horizontal, minimum=96, maximum=320, value=180)
        self.size_slider.setFixedWidth(120)
        self.size_slider.setToolTip("Thumbnail size (Ctrl+wheel)")
        self.size_slider.valueChanged.connect(self.set_thumb_size)
        self.filters_button = QToolButton(text="Filters")
        self.filters_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.filters_menu = QMenu(self.filters_button)
        self.filters_menu.aboutToShow.connect(self._fill_filters_menu)
        self.filters_button.setMenu(self.filters_menu)
        self.filters_button.setToolTip("Kind, camera, folder, dates and order")
        self._cameras: list[str] = []
        self._folders: list[str] = []
        self._places: list[tuple[str, int]] = []  # (city or country, photos)
        self.matches_label = QLabel()
        self.matches_label.setAccessibleName("Matches")
        self.matches_label.setToolTip("The photos that match end here; Show all ranks every "
                                      "photo")
        self.matches_label.linkActivated.connect(lambda _: self.show_all())
        self.matches_label.hide()
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.matches_label)
        top.addWidget(self.filters_button)
        top.addWidget(self.size_slider)

        self.model = ResultsModel(self._thumbnail_for, self)
        self.model.more_wanted.connect(self._more_results)
        self.grid, self.delegate = thumbnail_grid(self.model, self.size_slider.value())
        self.grid.setLayoutMode(QListView.LayoutMode.Batched)
        self.grid.setBatchSize(200)
        self.grid.setSpacing(2)
        self.grid.setDragEnabled(True)
        self.grid.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        # the mouse opens the viewer by double-click, the keyboard by the grid's Return
        # shortcut. Not `activated` as well: it also fires on double-click (opened twice)
        self.grid.doubleClicked.connect(lambda idx: self.view_result(idx.row()))
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.selectionModel().currentChanged.connect(lambda *_: self._update_preview())
        self.grid.viewport().installEventFilter(self)

        self.preview = PreviewPane(self.tasks)
        self.preview.error.connect(self.show_error)
        # the pane's parts, by the names the rest of the window (and its tests) use
        self.preview_image, self.preview_info = self.preview.image, self.preview.info
        self.where_button = self.preview.where_button
        split = QSplitter()
        split.addWidget(self.grid)
        split.addWidget(self.preview)
        split.setStretchFactor(0, 1)

        self.welcome = QWidget()
        wl = QVBoxLayout(self.welcome)
        title = QLabel("<h1>Welcome to Snapseek</h1><p>Search your own photos by what is in them."
                       "<br>Everything stays on this computer.</p>",
                       alignment=Qt.AlignmentFlag.AlignCenter)
        add = QPushButton("Add a folder…")
        add.setMinimumHeight(40)
        add.clicked.connect(self.choose_folder)
        hint = QLabel("or drop a folder here", alignment=Qt.AlignmentFlag.AlignCenter)
        wl.addStretch(1)
        wl.addWidget(title)
        wl.addWidget(add, 0, Qt.AlignmentFlag.AlignCenter)
        wl.addWidget(hint)
        wl.addStretch(2)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(split)
        self.loading = QLabel("Opening library…", alignment=Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.loading)
        self.results_page = split
        self.viewer = Viewer(self._thumbnail_for)
        self.viewer.closed.connect(self.close_viewer)
        self.viewer.play.connect(lambda row: self.open_result(row))
        self.stack.addWidget(self.viewer)
        self.stack.setCurrentWidget(self.loading)

        # the status bar, and errors the user can act on in a banner until dismissed
        self.status = StatusArea(self.statusBar(), self)
        self.status.idle.connect(self._indexing_idle)
        self.status.pause_toggled.connect(self.toggle_pause)
        self.status.settings_wanted.connect(self.show_settings)
        self.banner, self.banner_text = self.status.banner, self.status.banner_text
        self.banner_dismiss = self.status.banner_dismiss
        self.state_label, self.progress_bar = self.status.state_label, self.status.progress_bar
        self.pause_button = self.status.pause_button

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self._build_menus()
        self.set_thumb_size(self.size_slider.value())

    # Every action of the window, once: menu, name, method, keys, and where the keys work.
    # "window": anywhere in the window (a text box still keeps its own editing keys);
    # "grid": only while the results grid has focus, so Return, Space, +, − and Ctrl+C keep
    # their ordinary meaning in the search box and on buttons; "search": in the search bar
    # (Esc there clears the text; in the viewer it goes back to the grid).
    ACTIONS = (
        ("&File", "Add Folder…", "choose_folder", QKeySequence.StandardKey.Open, "window"),
        ("&File", "Folders…", "show_folders", "Ctrl+Shift+O", "window"),
        ("&File", "Search by Image File…", "choose_query_image", "Ctrl+I", "window"),
        ("&File", "Settings…", "show_settings", QKeySequence.StandardKey.Preferences, "window"),
        ("&File", "Start at Login", "toggle_autostart", None, "window"),
        ("&File", None, None, None, None),
        ("&File", "Quit", "quit", QKeySequence.StandardKey.Quit, "window"),
        ("&Edit", "Find", "focus_search", QKeySequence.StandardKey.Find, "window"),
        ("&Edit", "Paste Image as Query", "paste", QKeySequence.StandardKey.Paste, "window"),
        ("&Edit", "Clear Search", "clear_search", "Esc", "search"),
        ("&Photo", "View", "view_current", "Return", "grid"),
        ("&Photo", "Open in Default App", "open_current", "Ctrl+Return", "grid"),
        ("&Photo", "More Like This", "more_like_this", "Ctrl+L", "window"),
        ("&Photo", "Show in File Manager", "reveal", "Ctrl+Shift+R", "window"),
        ("&Photo", "Copy Path", "copy_path", "Ctrl+Shift+C", "window"),
        ("&Photo", "Copy Image", "copy_image", QKeySequence.StandardKey.Copy, "grid"),
        ("&Photo", None, None, None, None),
        ("&Photo", "More Like These", "mark_good", "+", "grid"),
        ("&Photo", "Fewer Like These", "mark_bad", "-", "grid"),
        ("&Photo", None, None, None, None),
        ("&Photo", "Find Duplicates…", "show_duplicates", "Ctrl+D", "window"),
        ("&Photo", "People…", "show_people", "Ctrl+P", "window"),
        ("&View", "Preview Pane", "toggle_preview", "Space", "grid"),
        ("&View", "Larger Thumbnails", "larger_thumbnails", QKeySequence.StandardKey.ZoomIn,
         "window"),
        ("&View", "Smaller Thumbnails", "smaller_thumbnails", QKeySequence.StandardKey.ZoomOut,
         "window"),
    )

    def _build_menus(self) -> None:
        menus: dict[str, QMenu] = {}
        self.named_actions: dict[str, QAction] = {}
        for menu_name, text, method, keys, scope in self.ACTIONS:
            menu = menus.get(menu_name) or menus.setdefault(
                menu_name, self.menuBar().addMenu(menu_name))
            if text is None:
                menu.addSeparator()
                continue
            action = QAction(text, self)
            if keys is not None:
                action.setShortcut(QKeySequence(keys))
            action.triggered.connect(getattr(self, method))
            if scope in ("grid", "search"):
                (self.grid if scope == "grid" else self.search).addAction(action)
                action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            else:
                self.addAction(action)
            menu.addAction(action)
            self.named_actions[text] = action
        self.good_action = self.named_actions["More Like These"]
        self.bad_action = self.named_actions["Fewer Like These"]
        self.preview_action = self.named_actions["Preview Pane"]
        self.preview_action.setCheckable(True)
        from .shell import autostart_enabled

        self.autostart_action = self.named_actions["Start at Login"]
        self.autostart_action.setCheckable(True)
        self.autostart_action.setChecked(autostart_enabled())

    def toggle_autostart(self) -> None:
        """Start at login, in the tray (an XDG autostart entry)."""
        from .shell import set_autostart

        set_autostart(self.autostart_action.isChecked())

    def open_current(self) -> None:
        self.open_result(self._current_row())

    def view_current(self) -> None:
        self.view_result(self._current_row())

    def view_result(self, row: int | None) -> None:
        """The result full-window, inside the app; Esc comes back to the grid."""
        if row is None:
            return
        self.viewer.show_result(self.model.results(), row)
        self.stack.setCurrentWidget(self.viewer)
        self.viewer.setFocus()

    def close_viewer(self, row: int) -> None:
        self.stack.setCurrentWidget(self.results_page)
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row)
            self.grid.setCurrentIndex(index)
            self.grid.scrollTo(index)
        self.grid.setFocus()

    def mark_good(self) -> None:
        self.mark(+1)

    def mark_bad(self) -> None:
        self.mark(-1)

    def larger_thumbnails(self) -> None:
        self.size_slider.setValue(self.size_slider.value() + 24)

    def smaller_thumbnails(self) -> None:
        self.size_slider.setValue(self.size_slider.value() - 24)

    # -- start-up ------------------------------------------------------------
    def start(self) -> None:
        """Open the library and start indexing, all off the GUI thread."""
        if self.library is not None:
            self._library_ready(self.library)
            return

        def open_library():
            from core.library import Library

            from core.types import LibraryBusy

            settings = QSettings()
            threads = int(settings.value("threads", 0)) or None
            library = Library(self._home, device=settings.value("device", "auto"),
                              threads=threads, thumbs_dir=settings.value("thumbs") or None)
            # another model than the library's is switched to in the background: the
            # library's own model answers searches until the new one has every vector
            wanted = self._model or settings.value("model") or None
            if wanted:
                try:
                    library.switch_model(wanted)
                except LibraryBusy:  # another Snapseek is indexing: asked again next start
                    pass
            return library

        self.tasks.run(open_library, self._library_ready, self._fatal)

    def _library_ready(self, library) -> None:
        self.library = library
        library.subscribe(self.bridge)
        # the model loads (and runs once) as soon as the window is up: the first search
        # does not wait for it
        self.tasks.run(lambda: library.load_model().encode_text(["a photo"]))
        self.tasks.run(lambda: (library.folders(), library.recent(self.RESULTS)),
                       self._show_start_page, self.show_error)
        self._refresh_filter_choices()
        self.start_indexing()

    def _show_start_page(self, payload) -> None:
        folders, recent = payload
        if not folders:
            self.stack.setCurrentWidget(self.welcome)
            return
        self.stack.setCurrentWidget(self.results_page)
        if self._nothing_asked():
            self._show_newest(recent)

    def start_indexing(self) -> None:
        """Reconcile, then watch the folders in the background (core's indexer thread)."""
        lib = self.library
        minutes = float(QSettings().value("reconcile_minutes", 30))
        self.indexer.run(lambda: lib.start_watching(reconcile_every=minutes * 60),
                         None, self.show_error)

    def _indexing_idle(self) -> None:
        lib = self.library

        def summary():
            status = lib.status()
            return status["media_count"], status["error_count"], lib.recent(self.RESULTS)

        self.tasks.run(summary, self._show_idle)
        self._refresh_filter_choices()

    def _show_idle(self, payload) -> None:
        count, errors, recent = payload
        self.state_label.setText(
            (f"Up to date · {count} photos" if count else "No photos yet")
            + (f" · {errors} could not be read" if errors else ""))
        if recent and self._nothing_asked():  # a search or a filter-only view stays
            self.stack.setCurrentWidget(self.results_page)
            if not self.model.shows(recent):  # nothing new: the place in the grid stays
                self._show_newest(recent)

    def _show_newest(self, recent) -> None:
        """The newest photos, when nothing is asked; scrolling down brings older ones."""
        self._page = (self._shown_generation, self.search.query(self.RESULTS))
        self.model.set_results(recent, complete=len(recent) < self.RESULTS)

    def _nothing_asked(self) -> bool:
        """No words, chips or filters: the grid shows the newest photos."""
        query = self.search.query(1)
        return query.is_empty() and not query.has_filters()

    # -- searching -----------------------------------------------------------
    def search_now(self) -> None:
        """Return in the search box: search without waiting for the typing pause."""
        self._debounce.stop()
        self.run_search()

    def run_search(self, query: Query | None = None) -> None:
        """A query with words or pictures answers with its relevant set ("38 matches", then
        "Show all" ranks everything, a page at a time); filters alone page through all."""
        if self.library is None:
            return
        if query is None:
            query = self.search.query(self.RESULTS)
            if not query.is_empty() and not self._show_all:
                query = replace(query, k=None)
        self._generation += 1
        generation = self._generation
        self.model.set_marks({**{m: 1 for m in query.good}, **{m: -1 for m in query.bad}})
        self._page = (generation, query)
        started = time.perf_counter()
        if self._search_job is not None:  # overtaken: dropped if waiting, its answer if not
            self._search_job.cancel()
        self._search_job = self.tasks.run(
            lambda: (self._fetch(query), time.perf_counter() - started),
            lambda r: self._show_results(generation, *r), self.show_error)

    def show_all(self) -> None:
        """Past the end of the relevant set: every photo, ranked."""
        self._show_all = True
        self._debounce.stop()
        self.run_search()

    def _query_changed(self) -> None:
        self._show_all = False
        self._debounce.start()

    def _fetch(self, query: Query):
        """On a worker: the results of a query, or the newest photos when nothing is asked."""
        if query.is_empty() and not query.has_filters():
            return self.library.recent(query.k)
        return self.library.search(query)

    def _show_results(self, generation: int, results, seconds: float | None = None) -> None:
        if generation < self._shown_generation:
            return  # a newer query already answered: stale results never overwrite it
        self._shown_generation = generation
        if self.stack.currentWidget() is not self.viewer:  # a photo being looked at stays
            self.stack.setCurrentWidget(self.results_page)
        page = self._page[1] if self._page and self._page[0] == generation else None
        relevant_set = page is not None and page.k is None
        self.model.set_results(results, complete=page is None or relevant_set
                               or len(results) < page.k)
        self.matches_label.setVisible(relevant_set)
        if relevant_set:
            self.matches_label.setText(
                f"{len(results)} match{'es' if len(results) != 1 else ''} · "
                "<a href='all'>Show all</a>")
        if seconds is not None:
            self.statusBar().showMessage(f"{len(results)} results in {seconds * 1000:.0f} ms", 4000)
        if results:
            self.grid.setCurrentIndex(self.model.index(0))

    def _more_results(self) -> None:
        """The grid reached its end and there may be more: ask again for twice as many and
        append what is new (the first results of a longer list are the same results)."""
        if self.library is None or not self._page or self._page[0] != self._shown_generation:
            self.model.set_complete()
            return
        generation, query = self._page
        query = replace(query, k=query.k * 2)
        self._page = (generation, query)

        def arrived(results) -> None:
            if self._page and self._page[0] == generation == self._shown_generation:
                self.model.append_results(results, complete=len(results) < query.k)

        self.tasks.run(lambda: self._fetch(query), arrived, self.show_error)

    def more_like_this(self) -> None:
        row = self._current_row()
        if row is None:
            return
        result = self.model.result(row)
        # the photo becomes the query, as a chip; the filters stay as they were
        self.search.clear_terms()
        self.search.set_feedback([], [])
        self.search.add_similar(result.media_id, Path(result.path).name)
        self.search_now()

    def mark(self, sign: int) -> None:
        """Relevance feedback: more (+1) or fewer (−1) like the selected results, at once."""
        rows = sorted({i.row() for i in self.grid.selectionModel().selectedIndexes()}) \
            or ([self._current_row()] if self._current_row() is not None else [])
        if not rows:
            return
        ids = {self.model.result(r).media_id for r in rows}
        good = [m for m in self.search.good if m not in ids]
        bad = [m for m in self.search.bad if m not in ids]
        (good if sign > 0 else bad).extend(sorted(ids))
        self.search.blockSignals(True)  # one search, now, rather than a debounced one
        self.search.set_feedback(good, bad)
        self.search.blockSignals(False)
        self._debounce.stop()
        self.run_search()

    # -- filters -------------------------------------------------------------
    def _refresh_filter_choices(self) -> None:
        lib = self.library
        if lib is None:
            return

        def choices():
            return (lib.cameras(), [f.path for f in lib.folders()], lib.places(),
                    lib.place_names(), lib.person_names())

        def keep(payload):
            self._cameras, self._folders, self._places, places, people = payload
            self.search.set_known_places(places)
            self.search.set_known_people(people)

        self.tasks.run(choices, keep)

    def _fill_filters_menu(self) -> None:
        """Built when opened, from choices loaded off the GUI thread."""
        menu, bar = self.filters_menu, self.search
        menu.clear()
        current = {name: value for name, (value, _) in bar.filters.items()}
        kinds = menu.addMenu("Kind")
        for kind, label in (("photo", "Photos"), ("video", "Videos"), ("raw", "RAW")):
            action = kinds.addAction(label)
            action.setCheckable(True)
            action.setChecked(current.get("kind") == kind)
            action.triggered.connect(lambda on, k=kind, lb=label: bar.set_filter(
                "kind", k if on else None, f"{lb} only"))
        cameras = menu.addMenu("Camera")
        cameras.setEnabled(bool(self._cameras))
        for camera in self._cameras[:40]:
            action = cameras.addAction(camera)
            action.setCheckable(True)
            action.setChecked(current.get("camera") == camera)
            action.triggered.connect(lambda on, c=camera: bar.set_filter(
                "camera", c if on else None, c))
        folders = menu.addMenu("Folder")
        folders.setEnabled(bool(self._folders))
        for folder in self._folders:
            action = folders.addAction(folder)
            action.setCheckable(True)
            action.setChecked(current.get("folder") == folder)
            action.triggered.connect(lambda on, f=folder: bar.set_filter(
                "folder", f if on else None, f"in {Path(f).name}"))
        places = menu.addMenu("Place")
        places.setEnabled(bool(self._places))
        for place, count in self._places[:60]:
            action = places.addAction(f"{place}  ({count})")
            action.setCheckable(True)
            action.setChecked(current.get("place") == place)
            action.triggered.connect(lambda on, p=place: bar.set_filter(
                "place", p if on else None, f"in {p}"))
        menu.addAction("Date Range…", self.choose_date_range)
        newest = menu.addAction("Newest First")
        newest.setCheckable(True)
        newest.setChecked(current.get("sort") == "date")
        newest.triggered.connect(lambda on: bar.set_filter(
            "sort", "date" if on else None, "newest first"))
        menu.addSeparator()
        clear = menu.addAction("Clear Filters")
        clear.setEnabled(bool(current))
        clear.triggered.connect(lambda: [bar.set_filter(n, None, "") for n in list(bar.filters)])

    def choose_date_range(self) -> None:
        from .dialogs import DateRangeDialog

        dialog = DateRangeDialog(self)
        if dialog.exec():
            after, before, label = dialog.range()
            self.search.set_filter("range", (after, before), label)

    def show_duplicates(self) -> None:
        from .duplicates import DuplicatesDialog

        if self.library is not None:
            DuplicatesDialog(self.library, self._thumbnail_for, self).exec()

    def show_people(self) -> None:
        """The People view; double-clicking a person lists their photos, newest first."""
        from .people import PeopleDialog

        if self.library is not None:
            dialog = PeopleDialog(self.library, self)

            def search_person(person_id: int) -> None:
                item = dialog.people.currentItem()
                name = item.text().split("\n", 1)[0].strip() if item is not None else ""
                dialog.accept()
                # a chip, so the view says what it shows and stays when indexing goes idle
                self.search.clear()
                self.search.set_filter("person", str(person_id),
                                       f"with {name}" if name else "this person")
                self.search_now()

            dialog.person_chosen.connect(search_person)
            dialog.exec()

    def clear_search(self) -> None:
        """Esc: the text goes; chips and filters stay (each has its own ✕)."""
        self.search.edit.clear()

    def focus_search(self) -> None:
        self.search.edit.setFocus()
        self.search.edit.selectAll()

    # -- image queries: drop, paste, pick ------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.add_query_from_mime(event.mimeData()):
            event.acceptProposedAction()

    def paste(self) -> None:
        """Pictures and files on the clipboard become image chips; text goes into the box."""
        mime = QGuiApplication.clipboard().mimeData()
        if has_media(mime):
            self.add_query_from_mime(mime)
        elif mime is not None and mime.hasText():
            self.search.edit.setFocus()
            self.search.edit.paste()

    def add_query_from_mime(self, mime: QMimeData) -> bool:
        """Local files and file URLs become image chips; a folder is added; raw data is saved."""
        added = False
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if path.is_dir():
                    self.add_folder(str(path))
                    added = True
                elif path.is_file():
                    self.search.add_image(path)
                    added = True
        if added:
            return True
        if mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                if self._query_dir is None:
                    self._query_dir = Path(tempfile.mkdtemp(prefix="snapseek-query-"))
                path = self._query_dir / f"pasted-{int(time.time() * 1000)}.png"
                image.save(str(path), "PNG")
                self.search.add_image(path)
                return True
        return False

    def choose_query_image(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Search by image", str(Path.home()),
                                              query_file_filter())
        if name:
            self.search.add_image(Path(name))

    # -- folders -------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos", str(Path.home()))
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        if self.library is None:
            return
        self.tasks.run(lambda: self.library.add_folder(folder), lambda _: self._folder_added(),
                       self.show_error, changes=True)

    def _folder_added(self) -> None:
        self.stack.setCurrentWidget(self.results_page)

    def show_folders(self) -> None:
        from .dialogs import FoldersDialog

        if self.library is not None:
            FoldersDialog(self.library, self.add_folder, self).exec()

    def show_settings(self) -> None:
        from .dialogs import SettingsDialog

        lib = self.library
        current = (lib.switch_target or lib.model_spec) if lib is not None else None
        dialog = SettingsDialog(self, current_model=current)
        before = _reopening_settings()
        if dialog.exec() and self.library is not None:
            model = QSettings().value("model") or current
            if _reopening_settings() == before:
                if model != current:  # re-embedded in the background; searches go on
                    self.tasks.run(lambda: lib.switch_model(model), None, self.show_error,
                                   changes=True)
                return
            # a new device, cache or interval: reopen the library in the background
            old = self.library
            self.library = None
            self.stack.setCurrentWidget(self.loading)
            self.tasks.run(old.close, lambda _: self.start(), self.show_error)

    # -- results -------------------------------------------------------------
    def _current_row(self) -> int | None:
        idx = self.grid.currentIndex()
        return idx.row() if idx.isValid() else None

    def open_result(self, row: int | None) -> None:
        if row is not None:
            result = self.model.result(row)
            open_media(result.path, result.at_s if result.kind == "video" else None)

    def _selected_paths(self) -> list[str]:
        """The selected results' files, in grid order (the current one when none is)."""
        rows = sorted({i.row() for i in self.grid.selectionModel().selectedIndexes()})
        if not rows and self._current_row() is not None:
            rows = [self._current_row()]
        return list(dict.fromkeys(self.model.result(r).path for r in rows))

    def reveal(self) -> None:
        """Show the selected files in the file manager, selected there too."""
        paths = self._selected_paths()
        if paths:
            self.tasks.run(lambda: show_in_file_manager(paths), self._open_folders,
                           self.show_error)

    @staticmethod
    def _open_folders(folders: list[str]) -> None:
        for folder in folders:
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    def copy_path(self) -> None:
        paths = self._selected_paths()
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))

    def copy_image(self) -> None:
        row = self._current_row()
        if row is None:
            return
        path = self.model.result(row).path
        self.tasks.run(lambda: QImage(path), QGuiApplication.clipboard().setImage)

    def _context_menu(self, pos) -> None:
        idx = self.grid.indexAt(pos)
        if not idx.isValid():
            return
        self.grid.setCurrentIndex(idx)
        menu = QMenu(self)
        for name in ("View", "Open in Default App", "More Like This", "Show in File Manager",
                     "Copy Path", "Copy Image"):
            menu.addAction(self.named_actions[name])
        menu.addSeparator()
        menu.addAction(self.good_action)
        menu.addAction(self.bad_action)
        menu.exec(self.grid.viewport().mapToGlobal(pos))

    def _thumbnail_for(self, media_id: int, frame: int = 0) -> str | None:
        path = self.library.thumbnail(media_id, frame) if self.library else None
        return str(path) if path else None

    def set_thumb_size(self, size: int) -> None:
        self.delegate.size = size
        self.grid.setGridSize(QSize(size + 8, size + 8))
        self.grid.doItemsLayout()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.Wheel and \
                event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            step = 16 if event.angleDelta().y() > 0 else -16
            self.size_slider.setValue(self.size_slider.value() + step)
            return True
        return super().eventFilter(obj, event)

    # -- preview -------------------------------------------------------------
    def toggle_preview(self) -> None:
        self.preview.setVisible(self.preview_action.isChecked())
        self._update_preview()

    def _update_preview(self) -> None:
        row = self._current_row()
        if not self.preview.isVisible() or row is None:
            return
        result = self.model.data(self.model.index(row), ResultRole)
        self.preview.show_result(result, self._page[1] if self._page else None, self.library,
                                 lambda: self._current_row() == row)

    def show_where(self) -> None:
        self.preview.show_where()

    @property
    def last_where(self) -> dict | None:
        return self.preview.last_where

    # -- status --------------------------------------------------------------
    def on_progress(self, p: Progress) -> None:
        self.status.on_progress(p)

    def toggle_pause(self, paused: bool) -> None:
        if self.library is None:
            return
        (self.library.pause if paused else self.library.resume)()
        self.status.show_paused(paused)

    def on_notice(self, notice: Notice) -> None:
        if self.status.on_notice(notice):
            self.show_error(notice.text)

    def show_error(self, error) -> None:
        """Errors from the core become a message the user can act on."""
        self.last_error = str(error)
        self.status.show_error(self.last_error)
        if self.stack.currentWidget() is self.loading:
            self.stack.setCurrentWidget(self.welcome)

    def _fatal(self, error) -> None:
        self.show_error(error)
        QMessageBox.critical(self, "Snapseek cannot open its library", str(error))

    def enable_tray(self) -> bool:
        """With a system tray, closing the window hides it and watching goes on."""
        from .shell import Tray

        if self.tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = Tray(self)
        return self.tray is not None

    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit(self) -> None:
        """Quit for real, tray or not."""
        self._quitting = True
        self.close()
        from PySide6.QtWidgets import QApplication

        QApplication.instance().quit()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.tray is not None and not self._quitting:
            self.hide()  # keeps watching; the tray's Quit ends the app
            self.tray.icon.showMessage("Snapseek", "Still watching your folders in the "
                                       "background. Quit from this icon's menu.",
                                       QSystemTrayIcon.MessageIcon.Information, 4000)
            event.ignore()
            return
        self.indexer.close(10000)
        if self.library is not None:
            self.library.stop()  # finishes the batch in flight and saves the index
        self.tasks.close(5000)
        self.model.close()
        self.viewer.close_loader()
        if self.library is not None:
            self.library.close()
        if self._query_dir is not None:
            shutil.rmtree(self._query_dir, ignore_errors=True)
            self._query_dir = None
        super().closeEvent(event)


def _reopening_settings() -> tuple:
    """The settings a library is opened with (a change reopens it), as Settings reads them."""
    s = QSettings()
    return (s.value("device", "auto"), int(s.value("threads", 0)), s.value("thumbs", "") or "",
            int(s.value("reconcile_minutes", 30)))


def show_in_file_manager(paths: list[str]) -> list[str]:
    """Files shown selected in the file manager (any thread): freedesktop's
    FileManager1.ShowItems over D-Bus (Nautilus, Dolphin, Nemo, Thunar, ...), Finder's and
    Explorer's own selection on macOS and Windows. Returns the folders still to open (on the
    GUI thread) where none of these answered."""
    import subprocess
    import sys

    if sys.platform == "darwin":
        subprocess.run(["open", "-R", *paths], check=False)
        return []
    if sys.platform == "win32":
        for path in paths:
            subprocess.run(["explorer", f"/select,{os.path.normpath(path)}"], check=False)
        return []
    from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage

    bus = QDBusConnection.sessionBus()
    if bus.isConnected():
        manager = QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                                 "org.freedesktop.FileManager1", bus)
        if manager.isValid():
            uris = [QUrl.fromLocalFile(p).toString() for p in paths]
            reply = manager.call("ShowItems", uris, "")
            if reply.type() != QDBusMessage.MessageType.ErrorMessage:
                return []
    return list(dict.fromkeys(os.path.dirname(p) for p in paths))


def query_file_filter() -> str:
    """The file dialog's filter for query images: every format the library indexes."""
    from core.imaging import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS

    photos = " ".join(f"*{e}" for e in sorted(PHOTO_EXTENSIONS))
    videos = " ".join(f"*{e}" for e in sorted(VIDEO_EXTENSIONS))
    return f"Photos and videos ({photos} {videos});;Photos ({photos});;Videos ({videos})"


def open_media(path: str, at_s: float | None = None) -> None:
    """Open with the desktop's own program; a video moment starts there when mpv or VLC is
    installed (the desktop's opener cannot be told a start time)."""
    import shutil

    from PySide6.QtCore import QProcess

    if at_s:
        for player, args in (("mpv", [f"--start={at_s:.1f}", path]),
                             ("vlc", [f"--start-time={at_s:.1f}", path])):
            if shutil.which(player) and QProcess.startDetached(player, args)[0]:
                return
    # no shell: the desktop's own opener gets the file URL
    QDesktopServices.openUrl(QUrl.fromLocalFile(path))
