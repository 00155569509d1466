"""The library's own dialogs: its watched folders, and settings with the models offered."""
