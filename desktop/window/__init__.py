"""The main window and the parts that tie the rooms together: its actions, the library's life in
it, the status bar, core events as signals, and the dialogs it opens."""
