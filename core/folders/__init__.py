"""Watched folders: the scans, the watcher, and the two passes that make new photos searchable."""
