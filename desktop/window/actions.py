"""Every action of the main window, once: menu, name, what it calls, keys, and where the keys
work; built into the menu bar and the right-click menu from that one table."""

from __future__ import annotations

from operator import attrgetter

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

# (menu, name, method, keys, scope). The method is a name on the window, dotted for one of its
# parts ("searching.mark_good"). Scope "window": anywhere in the window (a text box still keeps
# its own editing keys); "grid": only while the results grid has focus, so Return, Space, +, −
# and Ctrl+C keep their ordinary meaning in the search box and on buttons; "search": in the
# search bar (Esc there clears the text; in the viewer it goes back to the grid).
ACTIONS = (
    ("&File", "Add Folder…", "dialogs.choose_folder", QKeySequence.StandardKey.Open, "window"),
    ("&File", "Folders…", "dialogs.show_folders", "Ctrl+Shift+O", "window"),
    ("&File", "Search by Image File…", "query_input.choose_image", "Ctrl+I", "window"),
    ("&File", "Settings…", "dialogs.show_settings", QKeySequence.StandardKey.Preferences,
     "window"),
    ("&File", "Start at Login", "toggle_autostart", None, "window"),
    ("&File", None, None, None, None),
    ("&File", "Quit", "quit", QKeySequence.StandardKey.Quit, "window"),
    ("&Edit", "Find", "focus_search", QKeySequence.StandardKey.Find, "window"),
    ("&Edit", "Paste Image as Query", "query_input.paste", QKeySequence.StandardKey.Paste,
     "window"),
    ("&Edit", "Clear Search", "clear_search", "Esc", "search"),
    ("&Photo", "View", "view_current", "Return", "grid"),
    ("&Photo", "Open in Default App", "result_actions.open_current", "Ctrl+Return", "grid"),
    ("&Photo", "More Like This", "searching.more_like_this", "Ctrl+L", "window"),
    ("&Photo", "Show in File Manager", "result_actions.reveal", "Ctrl+Shift+R", "window"),
    ("&Photo", "Copy Path", "result_actions.copy_path", "Ctrl+Shift+C", "window"),
    ("&Photo", "Copy Image", "result_actions.copy_image", QKeySequence.StandardKey.Copy, "grid"),
    ("&Photo", None, None, None, None),
    ("&Photo", "More Like These", "searching.mark_good", "+", "grid"),
    ("&Photo", "Fewer Like These", "searching.mark_bad", "-", "grid"),
    ("&Photo", None, None, None, None),
    ("&Photo", "Find Duplicates…", "dialogs.show_duplicates", "Ctrl+D", "window"),
    ("&Photo", "People…", "dialogs.show_people", "Ctrl+P", "window"),
    ("&View", "Preview Pane", "toggle_preview", "Space", "grid"),
    ("&View", "Larger Thumbnails", "larger_thumbnails", QKeySequence.StandardKey.ZoomIn,
     "window"),
    ("&View", "Smaller Thumbnails", "smaller_thumbnails", QKeySequence.StandardKey.ZoomOut,
     "window"),
)

# the right-click menu on a result: these, a line, then the two feedback actions
CONTEXT = ("View", "Open in Default App", "More Like This", "Show in File Manager", "Copy Path",
           "Copy Image", None, "More Like These", "Fewer Like These")


def build_menus(window: QMainWindow) -> dict[str, QAction]:
    """The window's menu bar from ACTIONS; returns the actions by name. The window has
    `grid` and `search` (the widgets that the "grid" and "search" scopes belong to)."""
    menus: dict[str, QMenu] = {}
    named: dict[str, QAction] = {}
    for menu_name, text, method, keys, scope in ACTIONS:
        menu = menus.get(menu_name) or menus.setdefault(
            menu_name, window.menuBar().addMenu(menu_name))
        if text is None:
            menu.addSeparator()
            continue
        action = QAction(text, window)
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
        action.triggered.connect(_caller(window, method))
        if scope in ("grid", "search"):
            (window.grid if scope == "grid" else window.search).addAction(action)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        else:
            window.addAction(action)
        menu.addAction(action)
        named[text] = action
    return named


def _caller(window, method: str):
    # looked up when triggered, not when built: a test (or a part) may replace the method
    find = attrgetter(method)
    return lambda *_: find(window)()


def show_context_menu(window: QMainWindow, pos) -> None:
    """The right-click menu on the result at `pos` in the window's grid, from its named
    actions (`window.named_actions`)."""
    grid = window.grid
    idx = grid.indexAt(pos)
    if not idx.isValid():
        return
    grid.setCurrentIndex(idx)
    menu = QMenu(window)
    for name in CONTEXT:
        if name is None:
            menu.addSeparator()
        else:
            menu.addAction(window.named_actions[name])
    menu.exec(grid.viewport().mapToGlobal(pos))
