"""The viewer: one result full-window inside the app. ←/→ flip through the results, +/−,
Ctrl+wheel or the wheel zoom, 0 fits, Esc goes back to the grid at the same place. A video shows
the moment that matched; Enter plays it from there (mpv or VLC when installed)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QImageReader, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import QWidget

from core.types import SearchResult
from core.words import format_seconds
from desktop.tasks import TaskRunner

LONG_SIDE = 2560  # decode at most this many pixels on the long side: sharp on a 4K screen


def load_picture(path: str, long_side: int = LONG_SIDE) -> QImage:
    """A photo upright and at most long_side, decoded off the GUI thread: Qt's own readers,
    then the core's (HEIC, AVIF, RAW) for what Qt cannot read."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)  # EXIF orientation
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > long_side:
        reader.setScaledSize(size.scaled(QSize(long_side, long_side),
                                         Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if not image.isNull():
        return image
    try:
        from core.media.imaging import ImageError, open_image

        decoded = open_image(path, long_side)
    except (ImageError, OSError):
        return QImage()
    rgb = decoded.image.convert("RGB")
    rgb.thumbnail((long_side, long_side))
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


class Viewer(QWidget):
    """Shows results[row]; asks the window to go back (`closed`) or play a video (`play`)."""

    closed = Signal(int)  # the row shown last, so the grid can select it
    play = Signal(int)

    def __init__(self, thumbnail_for: Callable[[int, int], str | None], parent=None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Viewer")
        self._thumbnail_for = thumbnail_for
        self._loader = TaskRunner(self, max_threads=1)
        self.results: list[SearchResult] = []
        self.row = -1
        self.image = QImage()
        self.zoom = 1.0  # 1.0 = fit to the window
        self._pan = QPointF(0, 0)
        self._drag_from: QPointF | None = None
        self._wanted = 0  # the latest load asked for: older answers are dropped
        for keys, slot in ((Qt.Key.Key_Right, self.next), (Qt.Key.Key_Left, self.previous),
                           (Qt.Key.Key_Escape, self.close_viewer),
                           (Qt.Key.Key_Backspace, self.close_viewer),
                           (Qt.Key.Key_Plus, self.zoom_in), (Qt.Key.Key_Equal, self.zoom_in),
                           (Qt.Key.Key_Minus, self.zoom_out), (Qt.Key.Key_0, self.fit),
                           (Qt.Key.Key_Return, self._play), (Qt.Key.Key_Enter, self._play),
                           (Qt.Key.Key_Space, self.next)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # -- what is shown -------------------------------------------------------
    def show_result(self, results: list[SearchResult], row: int) -> None:
        self.results = results
        self.go_to(row)

    def go_to(self, row: int) -> None:
        if not self.results:
            return
        self.row = max(0, min(row, len(self.results) - 1))
        self.zoom, self._pan = 1.0, QPointF(0, 0)
        result = self.results[self.row]
        self._wanted += 1
        wanted = self._wanted

        def load():
            if result.kind == "video" or result.away:  # the moment that matched; a drive away
                source = self._thumbnail_for(result.media_id, result.frame)
                return load_picture(source) if source else QImage()
            return load_picture(result.path)

        self._loader.run(load, lambda image: self._arrived(wanted, image),
                         lambda _exc: self._arrived(wanted, QImage()))
        self.update()

    def _arrived(self, wanted: int, image: QImage) -> None:
        if wanted == self._wanted:
            self.image = image
            self.update()

    def current(self) -> SearchResult | None:
        return self.results[self.row] if 0 <= self.row < len(self.results) else None

    def close_loader(self) -> list:
        """Stop loading pictures (the window is closing); returns the loads still running."""
        return self._loader.shut()

    # -- keys ----------------------------------------------------------------
    def next(self) -> None:
        if self.row + 1 < len(self.results):
            self.go_to(self.row + 1)

    def previous(self) -> None:
        if self.row > 0:
            self.go_to(self.row - 1)

    def zoom_in(self) -> None:
        self.zoom = min(self.zoom * 1.25, 16.0)
        self.update()

    def zoom_out(self) -> None:
        self.zoom = max(self.zoom / 1.25, 1.0)
        if self.zoom == 1.0:
            self._pan = QPointF(0, 0)
        self.update()

    def fit(self) -> None:
        self.zoom, self._pan = 1.0, QPointF(0, 0)
        self.update()

    def close_viewer(self) -> None:
        self.closed.emit(self.row)

    def _play(self) -> None:
        result = self.current()
        if result is not None:
            self.play.emit(self.row)

    # -- mouse ---------------------------------------------------------------
    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        (self.zoom_in if event.angleDelta().y() > 0 else self.zoom_out)()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._drag_from = event.position()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._drag_from is not None and self.zoom > 1.0:
            self._pan += event.position() - self._drag_from
            self._drag_from = event.position()
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._drag_from = None

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.close_viewer()

    # -- painting ------------------------------------------------------------
    def target_rect(self) -> QRectF:
        """Where the picture is drawn: fitted to the widget, then zoomed about the centre."""
        if self.image.isNull():
            return QRectF()
        fitted = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        w, h = fitted.width() * self.zoom, fitted.height() * self.zoom
        centre = QPointF(self.width() / 2, self.height() / 2) + self._pan
        return QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(18, 18, 20))
        result = self.current()
        if self.image.isNull():
            painter.setPen(QColor(170, 170, 175))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "Loading…" if result is not None else "")
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.target_rect(), self.image)
        if result is not None:  # on a dark strip: readable over a light picture too
            area = self.rect().adjusted(12, 8, -12, -8)
            flags = Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft
            caption = self.caption()
            painter.fillRect(painter.fontMetrics().boundingRect(area, flags, caption)
                             .adjusted(-6, -3, 6, 3), QColor(18, 18, 20, 200))
            painter.setPen(QColor(255, 214, 120) if result.away else QColor(230, 230, 235))
            painter.drawText(area, flags, caption)
        painter.end()

    def caption(self) -> str:
        """The line under the picture: its name, where it is in the results, and a video's
        moment or, for a photo whose drive is away, why only its thumbnail shows."""
        result = self.current()
        if result is None:
            return ""
        name = result.path.rsplit("/", 1)[-1]
        text = f"{name}  ·  {self.row + 1} of {len(self.results)}"
        if result.away:
            return text + f"  ·  {result.away}: the thumbnail until its drive is back"
        if result.kind == "video":
            text += f"  ·  ▶ Enter plays from {format_seconds(result.at_s or 0)}"
        return text
