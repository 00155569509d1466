"""Turns core events (plain callbacks on worker threads) into queued Qt signals."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.types import Event, GoneHeld, Notice, Progress


class CoreBridge(QObject):
    progress = Signal(Progress)
    notice = Signal(Notice)
    held = Signal(GoneHeld)  # most of a folder's photos gone at once: the user is asked

    def __call__(self, event: Event) -> None:
        # emitted on the worker thread; receivers live on the GUI thread, so delivery is queued
        if isinstance(event, Progress):
            self.progress.emit(event)
        elif isinstance(event, Notice):
            self.notice.emit(event)
        elif isinstance(event, GoneHeld):
            self.held.emit(event)
