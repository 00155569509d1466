"""The preview pane beside the grid: the picture, what the library knows of it, why it is a
result, and on demand where in the picture the query matched (a heatmap)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from core.types import Query, SearchResult
from desktop.tasks import TaskRunner

WHERE = "Where in the picture?"


class PreviewPane(QWidget):
    """Loads through the window's task runner; an answer for a photo that is no longer the
    current one (`still_current` says) is dropped."""

    error = Signal(object)  # the heatmap could not be made

    def __init__(self, tasks: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.setMinimumWidth(300)
        self.image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.info = QLabel(alignment=Qt.AlignmentFlag.AlignTop)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where_button = QPushButton(WHERE)
        self.where_button.setToolTip("Show where in the picture the query matched (a heatmap)")
        self.where_button.setEnabled(False)
        self.where_button.clicked.connect(self.show_where)
        self.last_where: dict | None = None
        self._picture = QImage()
        self._shown: tuple | None = None  # (result, query, library, still_current)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.where_button)
        layout.addWidget(self.info)
        self.hide()

    def show_result(self, result: SearchResult, query: Query | None, lib,
                    still_current: Callable[[], bool]) -> None:
        self._shown = (result, query, lib, still_current)
        path = result.path
        self.info.setText(f"<b>{escape(Path(path).name)}</b><br><small>{escape(path)}</small>")
        self.where_button.setEnabled(False)

        def load():
            source = path
            if result.kind == "video" or result.away:  # the moment that matched; a drive away
                source = lib.thumbnail(result.media_id, result.frame) if lib else None
            from desktop.photo.viewer import load_picture

            # upright (EXIF orientation), as the heatmap's grid is
            image = load_picture(str(source), 600) if source else QImage()
            why = lib.why(result.media_id, query) if lib and query is not None else None
            return image, (lib.details(result.media_id) if lib else None), why

        def show(payload):
            image, details, why = payload
            if not still_current():
                return
            self._picture = image
            self.show_picture(None)
            self.info.setText(describe(result, details or {}, why))
            self.where_button.setEnabled(query is not None and not query.is_empty())

        self.tasks.run(load, show)

    def show_picture(self, grid) -> None:
        """The picture, with where the query matched laid over it when known."""
        image = QImage(self._picture)
        if grid is not None and not image.isNull():
            painter = QPainter(image)
            rows, cols = len(grid), len(grid[0])
            w, h = image.width() / cols, image.height() / rows
            for r, line in enumerate(grid):
                for c, weight in enumerate(line):
                    painter.fillRect(int(c * w), int(r * h), int(w) + 1, int(h) + 1,
                                     QColor(230, 30, 30, int(150 * weight)))
            painter.end()
        self.image.setPixmap(QPixmap.fromImage(image).scaled(
            self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def show_where(self) -> None:
        """Where in the picture the query matched: computed on demand, off the GUI thread."""
        if self._shown is None:
            return
        result, query, lib, still_current = self._shown
        if lib is None or query is None or not still_current():
            return
        self.where_button.setEnabled(False)
        self.where_button.setText("Looking…")

        def done(why) -> None:
            self.where_button.setText(WHERE)
            if still_current():
                self.last_where = why
                self.show_picture(why["grid"])

        def failed(exc) -> None:
            self.where_button.setText(WHERE)
            self.error.emit(exc)

        self.tasks.run(lambda: lib.explain(result.media_id, replace(query, k=1)), done, failed)


def describe(result, details: dict, why: dict | None = None) -> str:
    """The preview pane's text: what the catalog knows of a photo or video, and why it is a
    result (the words it holds and where, the chips it satisfies, its similarity)."""
    from core.words import format_seconds

    path = result.path
    lines = [f"<b>{escape(Path(path).name)}</b>"]
    away = getattr(result, "away", None)
    if away:  # its drive is away: what is known of it is shown, from the catalog
        lines.append(f"<span style='color:#b26a00'>⚠ {escape(away)}</span>")
    size = f"{details.get('width')}×{details.get('height')}" if details.get("width") else ""
    when = ""
    if details.get("taken_at"):
        # the photo's own local time, with its offset when the file says it
        from core.media.localtime import local_time

        offset = details.get("taken_offset")
        when = local_time(details["taken_at"], offset).strftime("%Y-%m-%d %H:%M")
        if offset is not None:
            sign = "+" if offset >= 0 else "−"
            when += f" (UTC{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d})"
        if details.get("taken_source") in ("file", "mtime"):  # "mtime": older catalogs
            when += " (file date)"
    lines.append(" · ".join(x for x in (size, when or "unknown date") if x))
    if result.kind == "video":
        moment = f" · best moment at {format_seconds(result.at_s)}" if result.at_s else ""
        lines.append(f"video, {format_seconds(details.get('duration_s'))}{moment}")
    gear = " · ".join(escape(x) for x in (details.get("camera"), details.get("lens")) if x)
    if gear:
        lines.append(gear)
    if details.get("gps_lat") is not None:
        lines.append(f"GPS {details['gps_lat']:.5f}, {details['gps_lon']:.5f}")
    place = details.get("place")
    if place:
        lines.append("📍 " + escape(", ".join(dict.fromkeys(
            v for v in (place.get("locality"), place.get("city"), place.get("country")) if v))))
    if details.get("people"):
        lines.append("👤 " + escape(", ".join(details["people"])))
    if details.get("caption"):
        lines.append(f"<i>{escape(details['caption'])}</i>")
    if details.get("keywords"):
        lines.append(escape(", ".join(details["keywords"])))
    if details.get("text"):
        lines.append("“" + escape(" / ".join(details["text"])[:200]) + "”")
    if why is not None:
        reasons = [f"“{escape(', '.join(words))}” in its {escape(where)}"
                   for where, words in why.get("words", {}).items()]
        reasons += [escape(chip) for chip in why.get("chips", [])]
        lines.append("<b>Why:</b> " + ("; ".join(reasons) + "; " if reasons else "")
                     + f"looks like the query (score {result.score:.3f})")
    else:
        lines.append(f"score {result.score:.3f}")
    lines.append(f"<small>{escape(path)}</small>")
    return "<br>".join(lines)
