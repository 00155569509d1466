"""The results grid: a list model over core results, thumbnails loaded off the GUI thread."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QRect,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate

from core.types import SearchResult
from core.words import format_seconds
from desktop.tasks import TaskRunner

MediaIdRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
ScoreRole = Qt.ItemDataRole.UserRole + 3
ThumbnailRole = Qt.ItemDataRole.UserRole + 4
ResultRole = Qt.ItemDataRole.UserRole + 5
MarkRole = Qt.ItemDataRole.UserRole + 6  # +1 marked good, -1 marked bad (relevance feedback)
GroupRole = Qt.ItemDataRole.UserRole + 7  # near-duplicate group number, when grouped
GroupLabelRole = Qt.ItemDataRole.UserRole + 8  # "group 3 · 4" on a group's first photo
CellRole = Qt.ItemDataRole.UserRole + 9  # everything the delegate paints, in one value


class Cell(NamedTuple):
    """What one grid cell shows. The delegate asks for this once per paint: every value that
    crosses Qt costs a conversion, and PySide6 6.12.0 loses a reference to None on each None
    returned from data() (the app pins it out; this keeps None off the paint path anyway)."""
    result: SearchResult
    thumbnail: QImage | None  # None: still loading; a null image: no preview
    mark: int  # +1 more like these, -1 fewer, 0 unmarked
    group: int  # near-duplicate group number, -1 when not grouped
    group_label: str


class ResultsModel(QAbstractListModel):
    """Ranked results; a row's thumbnail is requested the first time the view paints it.

    A video's thumbnail is that of the moment that matched, so thumbnails are keyed by
    (media id, frame).

    Loads run newest request first, and only the most recent LOADS_WAITING wait: a fast
    scroll through thousands of cells loads the ones on screen now, not every cell it passed.
    The last THUMBNAILS_KEPT thumbnails used stay in memory; an older one is loaded again
    when it is painted again."""

    LOAD_THREADS = 4
    LOADS_WAITING = 1024  # more than a 4K screen shows at the smallest thumbnail size
    THUMBNAILS_KEPT = 2_000  # about 2,000 × 256² × 4 bytes at most: 0.5 GB worst, far less

    thumbnail_ready = Signal(int)
    more_wanted = Signal()  # the view reached the last row and the list may go on

    def __init__(self, load_thumbnail: Callable[[int, int], str | None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self._results: list[SearchResult] = []
        self._rows: dict[tuple[int, int], int] = {}
        self._thumbs: OrderedDict[tuple[int, int], QImage] = OrderedDict()  # oldest use first
        self._waiting: OrderedDict[tuple[int, int], None] = OrderedDict()  # newest ask last
        self._loading: set[tuple[int, int]] = set()
        self._dropped = False  # some asks were dropped since the queue was last empty
        self._load_thumbnail = load_thumbnail
        self._loader = TaskRunner(self, max_threads=self.LOAD_THREADS)
        self.marks: dict[int, int] = {}
        self._groups: dict[int, int] = {}
        self._group_labels: dict[int, str] = {}
        self._complete = True  # False: the results go on past the last row (fetchMore)
        self._fetching = False

    def set_results(self, results: list[SearchResult], groups: dict[int, int] | None = None,
                    complete: bool = True) -> None:
        """Results, and for near-duplicates each media id's group number. With complete
        False the view asks for more (more_wanted) when it scrolls to the last row."""
        self.beginResetModel()
        self._complete, self._fetching = complete, False
        self._waiting.clear()  # the last list's loads not started: not wanted any more
        self._results = list(results)
        self._rows = {(r.media_id, r.frame): i for i, r in enumerate(self._results)}
        self._groups = groups or {}
        sizes: dict[int, int] = {}
        for group in self._groups.values():
            sizes[group] = sizes.get(group, 0) + 1
        self._group_labels, seen = {}, set()
        for r in self._results:  # the first photo of each group carries its label
            group = self._groups.get(r.media_id)
            if group is not None and group not in seen:
                seen.add(group)
                self._group_labels[r.media_id] = f"group {group + 1} · {sizes[group]}"
        self.endResetModel()

    def shows(self, results: list[SearchResult]) -> bool:
        """The first rows are these results already (the same, in the same order)."""
        return self._results[:len(results)] == list(results)

    def append_results(self, results: list[SearchResult], complete: bool) -> None:
        """A longer list of the same query: the rows not shown yet go at the end."""
        new = [r for r in results if (r.media_id, r.frame) not in self._rows]
        if new:
            first = len(self._results)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for i, r in enumerate(new, first):
                self._results.append(r)
                self._rows[(r.media_id, r.frame)] = i
            self.endInsertRows()
        self._complete, self._fetching = complete or not new, False

    def set_complete(self) -> None:
        self._complete, self._fetching = True, False

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: N802 - Qt API
        return not parent.isValid() and not self._complete and not self._fetching

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: N802 - Qt API
        if self.canFetchMore(parent):
            self._fetching = True
            self.more_wanted.emit()

    def set_marks(self, marks: dict[int, int]) -> None:
        self.marks = dict(marks)
        if self._results:
            self.dataChanged.emit(self.index(0), self.index(len(self._results) - 1),
                                  [MarkRole, CellRole])

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
            moment = f"\nat {format_seconds(r.at_s)}" if r.at_s is not None else ""
            away = f"\n{r.away}" if r.away else ""
            return f"{r.path}{moment}{away}\nscore {r.score:.3f}"
        if role == MediaIdRole:
            return r.media_id
        if role == PathRole:
            return r.path
        if role == ScoreRole:
            return r.score
        if role == ResultRole:
            return r
        if role == CellRole:
            return Cell(r, self._thumbnail(r), self.marks.get(r.media_id, 0),
                        self._groups.get(r.media_id, -1), self._group_labels.get(r.media_id, ""))
        if role == ThumbnailRole:
            return self._thumbnail(r)
        if role == MarkRole:
            return self.marks.get(r.media_id, 0)
        if role == GroupRole:
            return self._groups.get(r.media_id)
        if role == GroupLabelRole:
            return self._group_labels.get(r.media_id)
        return None

    def close(self) -> list:
        """Stop loading thumbnails (the window is closing); returns the loads still running."""
        return self._loader.shut()

    def pending_loads(self) -> int:
        """Thumbnails asked for and not arrived yet (waiting or loading)."""
        return len(self._waiting) + len(self._loading)

    def thumbnails_kept(self) -> int:
        return len(self._thumbs)

    def _thumbnail(self, r: SearchResult) -> QImage | None:
        """The row's thumbnail, or None while it loads (asking starts or hurries the load)."""
        key = (r.media_id, r.frame)
        image = self._thumbs.get(key)
        if image is None:
            self._request(key)
        else:
            self._thumbs.move_to_end(key)
        return image

    def _request(self, key: tuple[int, int]) -> None:
        if key in self._loading:
            return
        self._waiting[key] = None
        self._waiting.move_to_end(key)  # asked again: on screen again, load it soon
        while len(self._waiting) > self.LOADS_WAITING:
            self._waiting.popitem(last=False)  # scrolled past long ago
            self._dropped = True
        self._start_loads()

    def _start_loads(self) -> None:
        while self._waiting and len(self._loading) < self.LOAD_THREADS:
            key, _ = self._waiting.popitem(last=True)
            self._loading.add(key)

            def load(key=key):
                path = self._load_thumbnail(*key)
                return key, QImage(path) if path else QImage()

            # a thumbnail that fails to load becomes a "no preview" tile, never "…" forever
            self._loader.run(load, self._arrived,
                             lambda _exc, key=key: self._arrived((key, QImage())))

    def _arrived(self, payload) -> None:
        key, image = payload
        self._loading.discard(key)
        self._thumbs[key] = image
        self._thumbs.move_to_end(key)
        while len(self._thumbs) > self.THUMBNAILS_KEPT:
            self._thumbs.popitem(last=False)
        self._start_loads()
        if self._dropped and not self._waiting and not self._loading and self._results:
            # a cell still on screen whose ask was dropped is painted again, and asks again
            self._dropped = False
            self.dataChanged.emit(self.index(0), self.index(len(self._results) - 1),
                                  [ThumbnailRole, CellRole])
        row = self._rows.get(key)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [ThumbnailRole, CellRole])
        self.thumbnail_ready.emit(key[0])



def thumbnail_grid(model: ResultsModel, size: int) -> tuple[QListView, ThumbnailDelegate]:
    """An icon-mode list over a results model, painted by a ThumbnailDelegate."""
    grid = QListView()
    grid.setViewMode(QListView.ViewMode.IconMode)
    grid.setResizeMode(QListView.ResizeMode.Adjust)
    grid.setMovement(QListView.Movement.Static)
    grid.setUniformItemSizes(True)
    delegate = ThumbnailDelegate(grid, size=size)
    grid.setItemDelegate(delegate)
    grid.setGridSize(QSize(size + 8, size + 8))
    grid.setModel(model)
    return grid, delegate


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints the thumbnail centred in its cell, or a placeholder until it arrives."""

    def __init__(self, parent=None, size: int = 180):
        super().__init__(parent)
        self.size = size

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 - Qt API
        return QSize(self.size + 8, self.size + 8)

    def paint(self, painter: QPainter, option, index) -> None:
        cell_value = index.data(CellRole)
        if cell_value is None:
            return
        result, image, mark, group, label = cell_value
        painter.save()
        if group >= 0:  # near-duplicate groups: alternate tints behind their cells
            painter.fillRect(option.rect, QColor(70, 110, 170, 70) if group % 2
                             else QColor(170, 120, 60, 70))
        cell = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
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
        if result.away:  # its drive is away: the thumbnail, dimmed, and why
            painter.fillRect(cell, QColor(0, 0, 0, 120))
            self._away_note(painter, cell, result.away)
        if result.kind == "video":
            text = "▶ " + (f"{format_seconds(result.at_s)} of " if result.at_s else "") \
                + format_seconds(result.duration_s)
            self._badge(painter, cell, text, QColor(0, 0, 0, 170), Qt.AlignmentFlag.AlignRight)
        if label:
            self._badge(painter, cell, label, QColor(40, 40, 45, 200), Qt.AlignmentFlag.AlignTop)
        if mark:
            colour = QColor(40, 170, 70) if mark > 0 else QColor(200, 50, 50)
            painter.setPen(QPen(colour, 4))
            painter.drawRect(cell.adjusted(2, 2, -2, -2))
            self._badge(painter, cell, "✓ more" if mark > 0 else "✕ fewer", colour,
                        Qt.AlignmentFlag.AlignLeft)
        if selected:
            painter.setPen(QPen(option.palette.highlight().color(), 3))
            painter.drawRect(cell.adjusted(1, 1, -1, -1))
        painter.restore()

    @staticmethod
    def _away_note(painter: QPainter, cell: QRect, text: str) -> None:
        """"on USB, not connected" across the middle of the cell, on as many lines as the
        cell's width needs."""
        box = cell.adjusted(8, 0, -8, 0)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        bounds = painter.fontMetrics().boundingRect(box, flags, text).adjusted(-6, -3, 6, 3)
        painter.fillRect(bounds, QColor(30, 30, 34, 220))
        painter.setPen(QColor(255, 214, 120))
        painter.drawText(box, flags, text)

    @staticmethod
    def _badge(painter: QPainter, cell: QRect, text: str, colour: QColor, side) -> None:
        """A small label in a corner of the cell: bottom right or left, or top left."""
        metrics = painter.fontMetrics()
        w, h = metrics.horizontalAdvance(text) + 10, metrics.height() + 4
        x = cell.right() - w - 4 if side == Qt.AlignmentFlag.AlignRight else cell.left() + 4
        y = cell.top() + 4 if side == Qt.AlignmentFlag.AlignTop else cell.bottom() - h - 4
        box = QRect(x, y, w, h)
        painter.fillRect(box, colour)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
