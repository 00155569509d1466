"""The desktop app (PySide6) over the core: the window, and its rooms by subject."""
