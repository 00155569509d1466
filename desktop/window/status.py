"""The status bar (what the background work is doing, its progress, Pause) and the banner that
keeps an error the user can act on visible until dismissed."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from core.types import Level, Notice, Progress, State


class StatusArea(QObject):
    idle = Signal()  # the background work has finished
    pause_toggled = Signal(bool)  # the user paused (True) or resumed indexing
    settings_wanted = Signal()  # the banner's Settings… button

    def __init__(self, bar: QStatusBar, parent: QObject | None = None):
        super().__init__(parent)
        self.bar = bar
        self.banner = QWidget()
        self.banner.setStyleSheet("background:#fdecea;color:#611a15;border-radius:6px")
        self.banner_text = QLabel(wordWrap=True)
        self.banner_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        settings_button = QPushButton("Settings…")
        settings_button.clicked.connect(self.settings_wanted)
        self.banner_dismiss = QPushButton("✕")
        self.banner_dismiss.setAccessibleName("Dismiss")
        self.banner_dismiss.clicked.connect(self.banner.hide)
        row = QHBoxLayout(self.banner)
        row.addWidget(self.banner_text, 1)
        row.addWidget(settings_button)
        row.addWidget(self.banner_dismiss)
        self.banner.hide()

        self.state_label = QLabel("Starting…")
        self.progress_bar = QProgressBar(maximumWidth=200, textVisible=True)
        self.progress_bar.hide()
        self.pause_button = QPushButton("Pause", checkable=True)
        self.pause_button.hide()
        self.pause_button.toggled.connect(self.pause_toggled)
        bar.addWidget(self.state_label, 1)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.pause_button)

    def say(self, text: str) -> None:
        """A lasting line in the status bar (until the next one)."""
        self.state_label.setText(text)

    def _progress(self, value: int, total: int, visible: bool) -> None:
        self.progress_bar.setMaximum(max(total, 1))
        self.progress_bar.setValue(value)
        self.progress_bar.setVisible(visible)

    def on_progress(self, p: Progress) -> None:
        if p.state == State.SCANNING:
            self.say(f"Looking for photos… {p.found} found")
        elif p.state in (State.INDEXING, State.PAUSED):
            eta = f" · about {p.eta_s / 60:.0f} min left" if p.eta_s and p.eta_s > 90 else ""
            verb = "Paused" if p.state == State.PAUSED else "Indexing"
            self.say(f"{verb} {p.done + p.failed} of {p.total} · {p.rate:.1f} photos/s{eta}")
            self._progress(p.done + p.failed, p.total, p.total > 0)
            self.pause_button.setVisible(True)
            self.show_paused(p.state == State.PAUSED)
        elif p.state == State.RE_EMBEDDING:  # a model switch; searches answer meanwhile
            self.say(f"Re-embedding with {p.model}: {p.done:,} of {p.total:,}")
            self._progress(p.done, p.total, p.total > 0)
            self.pause_button.setVisible(True)
            self.show_paused(False)
        elif p.state == State.FINDING_FACES:  # the second pass: faces and text in the photos
            self.say(f"Looking for faces and text: {p.done + p.failed:,} of {p.total:,} photos "
                     "(all are searchable already)")
            self._progress(p.done + p.failed, p.total, 0 < p.done + p.failed < p.total)
        elif p.state == State.DOWNLOADING:  # a model's files, once
            left = f" · about {p.eta_s / 60:.0f} min left" if p.eta_s and p.eta_s > 90 else ""
            self.say(f"Downloading {p.model}: {p.done / 1e6:,.0f} of {p.total / 1e6:,.0f} MB · "
                     f"{p.rate / 1e6:.1f} MB/s{left}")
            self._progress(p.done // 1024, p.total // 1024, p.total > 0)
        elif p.state == State.IDLE:
            self.progress_bar.hide()
            self.pause_button.hide()
            self.idle.emit()
        elif p.state == State.ERROR:
            self.progress_bar.hide()

    def show_paused(self, paused: bool) -> None:
        """The button tells what a click does, whoever paused (the user or a full disk)."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.blockSignals(False)
        self.pause_button.setText("Resume" if paused else "Pause")

    def on_notice(self, notice: Notice) -> bool:
        """Shows a notice; True when it is an error (for the window to show as one)."""
        if notice.level == Level.ERROR:
            return True
        if notice.text.startswith("Downloading"):
            self.say(notice.text)  # stays until indexing reports progress
        else:
            self.bar.showMessage(notice.text, 10000)
        return False

    def show_error(self, text: str) -> None:
        self.say(f"⚠ {text}")
        self.state_label.setToolTip(text)
        self.banner_text.setText(f"⚠ {text}")
        self.banner.show()
