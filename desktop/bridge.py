"""Turns core events (plain callbacks on worker threads) into queued Qt signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.types import Event, Notice, Progress


class CoreBridge(QObject):
    progress = Signal(Progress)
    notice = Signal(Notice)

    def __call__(self, event: Event) -> None:
        # emitted on the worker thread; receivers live on the GUI thread, so delivery is queued
        if isinstance(event, Progress):
            self.progress.emit(event)
        elif isinstance(event, Notice):
            self.notice.emit(event)
