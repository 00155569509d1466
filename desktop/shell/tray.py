"""The tray icon, with which closing the window keeps watching."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.resources import icon_path


class Tray(QObject):
    """The tray icon: Show, Pause indexing, Quit. With it, closing the window keeps watching."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.icon = QSystemTrayIcon(QIcon(str(icon_path("snapseek.png"))), self)
        self.icon.setToolTip("Snapseek")
        self.menu = QMenu()
        self.show_action = QAction("Show Snapseek", self.menu)
        self.show_action.triggered.connect(window.bring_to_front)
        self.pause_action = QAction("Pause Indexing", self.menu, checkable=True)
        self.pause_action.toggled.connect(window.pause_button.setChecked)
        window.pause_button.toggled.connect(self._paused_changed)
        self.quit_action = QAction("Quit", self.menu)
        self.quit_action.triggered.connect(window.quit)
        for action in (self.show_action, self.pause_action, window.autostart_action):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.show()

    def _paused_changed(self, paused: bool) -> None:
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)

    def _activated(self, reason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            self.window.bring_to_front()
