"""The Filters menu: kind, camera, folder, place, date range and order, built each time it
opens from choices the library gave off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu, QToolButton


class FiltersMenu(QObject):
    """The button's menu; its choices set filters on the search bar (which shows them as
    chips). `refresh()` asks the library again for cameras, folders, places and people."""

    def __init__(self, window, button: QToolButton):
        super().__init__(window)
        self.window = window
        self.menu = QMenu(button)
        self.menu.aboutToShow.connect(self.fill)
        button.setMenu(self.menu)
        self.cameras: list[str] = []
        self.folders: list[str] = []
        self.places: list[tuple[str, int]] = []  # (city or country, photos)

    def refresh(self) -> None:
        lib = self.window.library
        if lib is None:
            return

        def choices():
            return (lib.cameras(), [f.path for f in lib.folders()], lib.places(),
                    lib.place_names(), lib.person_names())

        def keep(payload):
            self.cameras, self.folders, self.places, places, people = payload
            self.window.search.set_known_places(places)
            self.window.search.set_known_people(people)

        self.window.tasks.run(choices, keep)

    def fill(self) -> None:
        """Built when opened, from the choices last loaded."""
        menu, bar = self.menu, self.window.search
        menu.clear()
        current = {name: value for name, (value, _) in bar.filters.items()}
        kinds = menu.addMenu("Kind")
        for kind, label in (("photo", "Photos"), ("video", "Videos"), ("raw", "RAW")):
            action = kinds.addAction(label)
            action.setCheckable(True)
            action.setChecked(current.get("kind") == kind)
            action.triggered.connect(lambda on, k=kind, lb=label: bar.set_filter(
                "kind", k if on else None, f"{lb} only"))
        cameras = menu.addMenu("Camera")
        cameras.setEnabled(bool(self.cameras))
        for camera in self.cameras[:40]:
            action = cameras.addAction(camera)
            action.setCheckable(True)
            action.setChecked(current.get("camera") == camera)
            action.triggered.connect(lambda on, c=camera: bar.set_filter(
                "camera", c if on else None, c))
        folders = menu.addMenu("Folder")
        folders.setEnabled(bool(self.folders))
        for folder in self.folders:
            action = folders.addAction(folder)
            action.setCheckable(True)
            action.setChecked(current.get("folder") == folder)
            action.triggered.connect(lambda on, f=folder: bar.set_filter(
                "folder", f if on else None, f"in {Path(f).name}"))
        places = menu.addMenu("Place")
        places.setEnabled(bool(self.places))
        for place, count in self.places[:60]:
            action = places.addAction(f"{place}  ({count})")
            action.setCheckable(True)
            action.setChecked(current.get("place") == place)
            action.triggered.connect(lambda on, p=place: bar.set_filter(
                "place", p if on else None, f"in {p}"))
        menu.addAction("Date Range…", self.choose_date_range)
        newest = menu.addAction("Newest First")
        newest.setCheckable(True)
        newest.setChecked(current.get("sort") == "date")
        newest.triggered.connect(lambda on: bar.set_filter(
            "sort", "date" if on else None, "newest first"))
        menu.addSeparator()
        clear = menu.addAction("Clear Filters")
        clear.setEnabled(bool(current))
        clear.triggered.connect(lambda: [bar.set_filter(n, None, "") for n in list(bar.filters)])

    def choose_date_range(self) -> None:
        from desktop.search.daterange import DateRangeDialog

        dialog = DateRangeDialog(self.window)
        if dialog.exec():
            after, before, label = dialog.range()
            self.window.search.set_filter("range", (after, before), label)
