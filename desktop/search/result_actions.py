"""What can be done with the results in the grid: open them elsewhere, show them in the file
manager, copy their paths or pictures (the window's right-click menu offers these)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication, QImage

from desktop import handoff


class ResultActions(QObject):
    """For the window's current or selected results; it provides `model`, `tasks`,
    `show_error`, `statusBar()`, `current_row()` and `selected_rows()`."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window

    def open_current(self) -> None:
        self.open_result(self.window.current_row())

    def away(self, results) -> bool:
        """Whether one of these results is on a drive that is away; if so the status bar says
        so in one line, and nothing is handed to another program."""
        result = next((r for r in results if r.away), None)
        if result is not None:
            name = result.path.rsplit("/", 1)[-1]
            self.window.statusBar().showMessage(
                f"{name} is {result.away}: it opens when its drive is back.", 10000)
        return result is not None

    def open_result(self, row: int | None) -> None:
        if row is not None:
            result = self.window.model.result(row)
            if not self.away([result]):
                handoff.open_media(result.path, result.at_s if result.kind == "video" else None)

    def selected_paths(self) -> list[str]:
        """The selected results' files, in grid order (the current one when none is)."""
        model = self.window.model
        return list(dict.fromkeys(model.result(r).path for r in self.window.selected_rows()))

    def reveal(self) -> None:
        """Show the selected files in the file manager, selected there too."""
        paths = self.selected_paths()
        model = self.window.model
        if paths and not self.away([model.result(r) for r in self.window.selected_rows()]):
            self.window.tasks.run(lambda: handoff.show_in_file_manager(paths),
                                  handoff.open_folders, self.window.show_error)

    def copy_path(self) -> None:
        paths = self.selected_paths()
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))

    def copy_image(self) -> None:
        row = self.window.current_row()
        if row is None or self.away([self.window.model.result(row)]):
            return
        path = self.window.model.result(row).path
        self.window.tasks.run(lambda: QImage(path), QGuiApplication.clipboard().setImage)
