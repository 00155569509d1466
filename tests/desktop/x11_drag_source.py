"""Another program's window that drags a file out, as a file manager does: pressing the mouse
on it starts a real XDND drag (QDrag) of a file URL. For tests/desktop/test_x11.py.

    python x11_drag_source.py FILE
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QApplication, QLabel


class Source(QLabel):
    def __init__(self, path: str):
        super().__init__(f"drag me: {path}")
        self.path = path
        self.setWindowTitle("drag-source")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.resize(240, 120)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(self.path)])
        drag = QDrag(self)
        drag.setMimeData(mime)
        result = drag.exec(Qt.DropAction.CopyAction)
        print(f"drag ended: {result}", flush=True)


def main() -> int:
    app = QApplication(sys.argv[:1])
    source = Source(sys.argv[1])
    source.move(0, 0)
    source.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
