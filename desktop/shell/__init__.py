"""Living on the desktop: one app per library, the tray, the menu entry and start at login,
the system's light or dark look."""
