"""The main window: one search box with image chips, a thumbnail grid, preview and status bar,
composed from the parts that do each job (searching, filters, input, actions, the session)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QSystemTrayIcon,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.types import Notice, Progress
from desktop.window.actions import ACTIONS, build_menus, show_context_menu
from desktop.window.bridge import CoreBridge
from desktop.search.filters import FiltersMenu
from desktop.window.library_dialogs import LibraryDialogs
from desktop.photo.preview import PreviewPane
from desktop.search.query_input import QueryInput
from desktop.resources import icon_path
from desktop.search.result_actions import ResultActions
from desktop.search.results import ResultRole, ResultsModel, thumbnail_grid
from desktop.search.searchbar import SearchBar
from desktop.search.searching import SearchController
from desktop.window.session import Session
from desktop.window.status import StatusArea
from desktop.tasks import TaskRunner
from desktop.photo.viewer import Viewer


class MainWindow(QMainWindow):
    """Talks to core.Library only through the task runner: the GUI thread never waits on it.

    Its parts: `searching` (queries to results), `filters` (the Filters menu), `query_input`
    (drop, paste, pick), `result_actions` (open, reveal, copy), `dialogs` (folders, settings,
    people, duplicates) and `session` (the library opened and closed)."""

    ACTIONS = ACTIONS  # every action once: menu, name, method, keys, scope (desktop/window/actions.py)

    def __init__(self, home: str | None = None, model: str | None = None, library=None):
        super().__init__()
        self.setWindowTitle("Snapseek")
        self.setWindowIcon(QIcon(str(icon_path("snapseek.png"))))
        self.resize(1100, 720)
        self.setAcceptDrops(True)
        self.library = library
        self.tasks = TaskRunner(self, max_threads=2)
        self.indexer = TaskRunner(self, max_threads=1)
        self.bridge = CoreBridge(self)
        self.bridge.progress.connect(self.on_progress)
        self.bridge.notice.connect(self.on_notice)
        self.tray = None  # a desktop.shell.tray.Tray once enable_tray() found a system tray
        self._quitting = False
        self._build()
        self.session = Session(self, home, model)
        self.searching = SearchController(self)
        self.filters = FiltersMenu(self, self.filters_button)
        self.query_input = QueryInput(self)
        self.result_actions = ResultActions(self)
        self.dialogs = LibraryDialogs(self)
        self.bridge.held.connect(self.dialogs.ask_forget)
        self._build_menus()
        self.grid.customContextMenuRequested.connect(lambda pos: show_context_menu(self, pos))
        self.matches_label.linkActivated.connect(lambda _: self.searching.show_all())
        self.search.paste_media.connect(self.query_input.paste)
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
        self.filters_button.setToolTip("Kind, camera, folder, dates and order")
        self.matches_label = QLabel()
        self.matches_label.setAccessibleName("Matches")
        self.matches_label.setToolTip("The photos that match end here; Show all ranks every "
                                      "photo")
        self.matches_label.hide()
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.matches_label)
        top.addWidget(self.filters_button)
        top.addWidget(self.size_slider)

        self.model = ResultsModel(self.thumbnail_for, self)
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
        add.clicked.connect(lambda: self.dialogs.choose_folder())
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
        self.viewer = Viewer(self.thumbnail_for)
        self.viewer.closed.connect(self.close_viewer)
        self.viewer.play.connect(lambda row: self.result_actions.open_result(row))
        self.stack.addWidget(self.viewer)
        self.stack.setCurrentWidget(self.loading)

        # the status bar, and errors the user can act on in a banner until dismissed
        self.status = StatusArea(self.statusBar(), self)
        self.status.idle.connect(lambda: self.session.indexing_idle())
        self.status.pause_toggled.connect(self.toggle_pause)
        self.status.settings_wanted.connect(lambda: self.dialogs.show_settings())
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
        self.set_thumb_size(self.size_slider.value())

    def _build_menus(self) -> None:
        self.named_actions = build_menus(self)
        self.good_action = self.named_actions["More Like These"]
        self.bad_action = self.named_actions["Fewer Like These"]
        self.preview_action = self.named_actions["Preview Pane"]
        self.preview_action.setCheckable(True)
        from desktop.shell.entries import autostart_enabled

        self.autostart_action = self.named_actions["Start at Login"]
        self.autostart_action.setCheckable(True)
        self.autostart_action.setChecked(autostart_enabled())

    def start(self) -> None:
        """Open the library and start indexing, all off the GUI thread."""
        self.session.start()

    # -- the grid --------------------------------------------------------------
    def current_row(self) -> int | None:
        idx = self.grid.currentIndex()
        return idx.row() if idx.isValid() else None

    def selected_rows(self) -> list[int]:
        """The selected rows in grid order; the current one when none is selected."""
        rows = sorted({i.row() for i in self.grid.selectionModel().selectedIndexes()})
        current = self.current_row()
        return rows or ([current] if current is not None else [])

    def thumbnail_for(self, media_id: int, frame: int = 0) -> str | None:
        path = self.library.thumbnail(media_id, frame) if self.library else None
        return str(path) if path else None

    def set_thumb_size(self, size: int) -> None:
        self.delegate.size = size
        self.grid.setGridSize(QSize(size + 8, size + 8))
        self.grid.doItemsLayout()

    def larger_thumbnails(self) -> None:
        self.size_slider.setValue(self.size_slider.value() + 24)

    def smaller_thumbnails(self) -> None:
        self.size_slider.setValue(self.size_slider.value() - 24)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Wheel and \
                event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            step = 16 if event.angleDelta().y() > 0 else -16
            self.size_slider.setValue(self.size_slider.value() + step)
            return True
        return super().eventFilter(obj, event)

    # -- the viewer and the preview ----------------------------------------------
    def view_current(self) -> None:
        self.view_result(self.current_row())

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

    def toggle_preview(self) -> None:
        self.preview.setVisible(self.preview_action.isChecked())
        self._update_preview()

    def _update_preview(self) -> None:
        row = self.current_row()
        if not self.preview.isVisible() or row is None:
            return
        result = self.model.data(self.model.index(row), ResultRole)
        self.preview.show_result(result, self.searching.query, self.library,
                                 lambda: self.current_row() == row)

    def show_where(self) -> None:
        self.preview.show_where()

    @property
    def last_where(self) -> dict | None:
        return self.preview.last_where

    # -- the search box ----------------------------------------------------------
    def clear_search(self) -> None:
        """Esc: the text goes; chips and filters stay (each has its own ✕)."""
        self.search.edit.clear()

    def focus_search(self) -> None:
        self.search.edit.setFocus()
        self.search.edit.selectAll()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.query_input.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.query_input.add_from_mime(event.mimeData()):
            event.acceptProposedAction()

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

    def fatal(self, error) -> None:
        self.show_error(error)
        QMessageBox.critical(self, "Snapseek cannot open its library", str(error))

    # -- living on the desktop -----------------------------------------------------
    def toggle_autostart(self) -> None:
        """Start at login, in the tray (an XDG autostart entry)."""
        from desktop.shell.entries import set_autostart

        set_autostart(self.autostart_action.isChecked())

    def enable_tray(self) -> bool:
        """With a system tray, closing the window hides it and watching goes on."""
        from desktop.shell.tray import Tray

        if self.tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = Tray(self)
        return self.tray is not None

    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit(self) -> None:
        """Quit for real, tray or not: the window goes at once, the library closes in the
        background, and `session.closed` says when the app may end (desktop/app.py)."""
        self._quitting = True
        self.close()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.tray is not None and not self._quitting:
            self.hide()  # keeps watching; the tray's Quit ends the app
            self.tray.icon.showMessage("Snapseek", "Still watching your folders in the "
                                       "background. Quit from this icon's menu.",
                                       QSystemTrayIcon.MessageIcon.Information, 4000)
            event.ignore()
            return
        self.session.shut_down()
        super().closeEvent(event)
