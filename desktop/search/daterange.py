"""The date range the Filters menu asks for: taken between two days."""

from __future__ import annotations

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QDialog, QDialogButtonBox, QFormLayout


class DateRangeDialog(QDialog):
    """Taken between two days (both included)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Date Range")
        today = QDate.currentDate()
        self.start = QDateEdit(today.addYears(-1), calendarPopup=True)
        self.end = QDateEdit(today, calendarPopup=True)
        for edit in (self.start, self.end):
            edit.setDisplayFormat("yyyy-MM-dd")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From", self.start)
        form.addRow("To", self.end)
        form.addRow(buttons)

    def range(self) -> tuple[float, float, str]:
        """(after, before) as Unix times (core.query.dates.day_start: the end is the start of the
        day after the last), and a label."""
        import datetime as dt

        from core.query.dates import day_start

        a, b = sorted((self.start.date().toPython(), self.end.date().toPython()))
        after, before = day_start(a), day_start(b + dt.timedelta(days=1))
        return after, before, f"taken {a.isoformat()} – {b.isoformat()}"
