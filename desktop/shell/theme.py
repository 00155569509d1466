"""Follow the system's light or dark appearance (or the user's choice), on every platform.

Qt's Fusion style is drawn the same everywhere; its colours come from a palette. When the
desktop says it prefers dark (Qt's `styleHints().colorScheme()`, which follows GNOME, KDE,
macOS and Windows settings) or the user chose dark, the app uses a dark palette; it changes
with the system while it runs."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

CHOICES = ("system", "light", "dark")


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 30, 33), QColor(43, 43, 47), QColor(230, 230, 233)
    for role, colour in (
            (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
            (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
            (QPalette.ColorRole.ToolTipBase, window), (QPalette.ColorRole.ToolTipText, text),
            (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
            (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.BrightText, QColor("red")),
            (QPalette.ColorRole.Link, QColor(110, 160, 255)),
            (QPalette.ColorRole.Highlight, QColor(60, 110, 200)),
            (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
            (QPalette.ColorRole.PlaceholderText, QColor(150, 150, 155))):
        p.setColor(role, colour)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 125))
    return p


def wants_dark(choice: str) -> bool:
    if choice == "dark":
        return True
    if choice == "light":
        return False
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app, choice: str = "system") -> bool:
    """Fusion with a light or dark palette; returns whether it is dark."""
    app.setStyle("Fusion")
    dark = wants_dark(choice if choice in CHOICES else "system")
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    return dark


def follow_system(app, choice_of) -> None:
    """Re-apply when the desktop switches between light and dark (`choice_of()` gives the
    user's current choice)."""
    QGuiApplication.styleHints().colorSchemeChanged.connect(
        lambda _scheme: apply_theme(app, choice_of()))
