"""The results grid: a list model over core results, thumbnails loaded off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractListModel, QMimeData, QModelIndex, QObject, QRect, QSize, Qt, QUrl, Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from core.types import SearchResult

from .tasks import TaskRunner

MediaIdRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
ScoreRole = Qt.ItemDataRole.UserRole + 3
ThumbnailRole = Qt.ItemDataRole.UserRole + 4
ResultRole = Qt.ItemDataRole.UserRole + 5


class ResultsModel(QAbstractListModel):
    """Ranked results; a row's thumbnail is requested the first time the view paints it."""

    thumbnail_ready = Signal(int)

    def __init__(self, load_thumbnail: Callable[[int], str | None], parent: QObject | None = None):
        super().__init__(parent)
        self._results: list[SearchResult] = []
        self._rows: dict[int, int] = {}
        self._thumbs: dict[int, QImage] = {}
        self._requested: set[int] = set()
        self._load_thumbnail = load_thumbnail
        self._loader = TaskRunner(self, max_threads=4)

    def set_results(self, results: list[SearchResult]) -> None:
        self.beginResetModel()
        self._results = list(results)
        self._rows = {r.media_id: i for i, r in enumerate(self._results)}
        self.endResetModel()

    def results(self) -> list[SearchResult]:
        return list(self._results)

    def result(self, row: int) -> SearchResult:
        return self._results[row]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._results)

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        return super().flags(index) | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt API
        return ["text/uri-list"]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802 - Qt API
        """Results drag out of the window as file URLs, into any program that takes files."""
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(self._results[i.row()].path) for i in indexes])
        return mime

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._results):
            return None
        r = self._results[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return r.path.rsplit("/", 1)[-1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{r.path}\nscore {r.score:.3f}"
        if role == MediaIdRole:
            return r.media_id
        if role == PathRole:
            return r.path
        if role == ScoreRole:
            return r.score
        if role == ResultRole:
            return r
        if role == ThumbnailRole:
            image = self._thumbs.get(r.media_id)
            if image is None:
                self._request(r.media_id)
            return image
        return None

    def _request(self, media_id: int) -> None:
        if media_id in self._requested:
            return
        self._requested.add(media_id)

        def load(media_id=media_id):
            path = self._load_thumbnail(media_id)
            return media_id, QImage(path) if path else QImage()

        self._loader.run(load, self._arrived)

    def _arrived(self, payload) -> None:
        media_id, image = payload
        self._thumbs[media_id] = image
        row = self._rows.get(media_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [ThumbnailRole])
        self.thumbnail_ready.emit(media_id)



class ThumbnailDelegate(QStyledItemDelegate):
    """Paints the thumbnail centred in its cell, or a placeholder until it arrives."""

    def __init__(self, parent=None, size: int = 180):
        super().__init__(parent)
        self.size = size

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 - Qt API
        return QSize(self.size + 8, self.size + 8)

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        cell = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        image = index.data(ThumbnailRole)
        if image is None or image.isNull():
            painter.fillRect(cell, QColor(60, 60, 64) if image is None else QColor(90, 40, 40))
            painter.setPen(QColor(150, 150, 155))
            painter.drawText(cell, Qt.AlignmentFlag.AlignCenter,
                             "…" if image is None else "no preview")
        else:
            scaled = image.size().scaled(cell.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(cell.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, image)
        if selected:
            painter.setPen(QPen(option.palette.highlight().color(), 3))
            painter.drawRect(cell.adjusted(1, 1, -1, -1))
        painter.restore()
