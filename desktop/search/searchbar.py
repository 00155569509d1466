"""The search box: text plus chips for example images, "more like" photos, filters, the date
read from the text and relevance feedback. It builds the core's Query; it never runs one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

from core.types import Query

class Chip(QToolButton):
    """A query term or filter beside the text box; click ✕ to remove it."""

    COLOURS = {"image": "#2d6cdf", "negative": "#a33", "filter": "#3a7d44", "date": "#7b4fb3",
               "feedback": "#9a6a00", "similar": "#1f7a8c", "place": "#b3541e",
               "person": "#8a3b8f"}

    def __init__(self, label: str, kind: str = "image", parent=None):
        super().__init__(parent)
        self.kind = kind
        self.negative = kind == "negative"
        self.setText(("− " if self.negative else "") + label + "  ✕")
        self.setToolTip("Click to remove")
        self.setAccessibleName(f"{kind} chip: {label}")
        self.setStyleSheet("QToolButton{border-radius:10px;padding:2px 8px;"
                           f"background:{self.COLOURS[kind]};color:white}}")


class SearchBar(QWidget):
    """The text box plus chips: images (or excluded ones), photos to find more like, filters,
    the date read from the text, and relevance feedback. Emits `changed` when the query
    changes, `submitted` on Return in the box and `paste_media` when Ctrl+V in the box finds
    pictures or files on the clipboard (text pastes as text)."""

    changed = Signal()
    submitted = Signal()
    paste_media = Signal()
    down = Signal()  # ↓ in the box: on to the results

    def __init__(self, parent=None):
        super().__init__(parent)
        self.edit = QLineEdit(placeholderText="Search your photos — type, or drop / paste an image")
        self.edit.setClearButtonEnabled(True)
        self.edit.setMinimumHeight(32)
        self.edit.setAccessibleName("Search")
        self.chips: list[tuple[Chip, Path, float]] = []
        self.similar: list[tuple[Chip, int]] = []  # "more like" chips: (chip, media id)
        self.filters: dict[str, tuple[object, str]] = {}  # name → (value, label)
        self.filter_chips: dict[str, Chip] = {}
        self.dismissed_dates: set[str] = set()
        self.date_chip: Chip | None = None
        self.known_places: dict[str, str] = {}
        self.known_people: list[str] = []
        self.dismissed_people: set[str] = set()
        self.person_chips: dict[str, Chip] = {}
        self.dismissed_places: set[str] = set()
        self.place_chip: Chip | None = None
        self.good: list[int] = []
        self.bad: list[int] = []
        self.feedback_chip: Chip | None = None
        self._chip_row = QHBoxLayout()
        self._chip_row.setSpacing(4)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._chip_row)
        layout.addWidget(self.edit, 1)
        self.edit.textChanged.connect(self._text_changed)
        self.edit.returnPressed.connect(self.submitted)
        self.edit.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.edit and event.type() == QEvent.Type.KeyPress:
            if event.matches(QKeySequence.StandardKey.Paste) \
                    and has_media(QGuiApplication.clipboard().mimeData()):
                self.paste_media.emit()
                return True
            if event.key() == Qt.Key.Key_Down and not event.modifiers():
                self.down.emit()
                return True
        return super().eventFilter(obj, event)

    # -- image chips ---------------------------------------------------------
    def add_image(self, path: Path, negative: bool = False, label: str | None = None,
                  thumbnail: QImage | None = None) -> None:
        """A picture to search by (or away from), named as a person reads it: its file name,
        or `label` ("Pasted image") beside a small `thumbnail` of it."""
        name = label or (path.name if len(path.name) < 24 else path.name[:21] + "…")
        chip = Chip(name, "negative" if negative else "image")
        chip.picture = (label, thumbnail)  # kept when the chip is flipped
        if thumbnail is not None and not thumbnail.isNull():
            chip.setIcon(QIcon(QPixmap.fromImage(thumbnail)))
            chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        chip.setToolTip(("A pasted picture" if label else str(path)) + ". Click to remove")
        chip.clicked.connect(lambda: self.remove_chip(chip))
        chip.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        flip = QAction("Exclude (−)" if not negative else "Include (+)", chip)
        flip.triggered.connect(lambda: self._flip(chip))
        chip.addAction(flip)
        self.chips.append((chip, path, -1.0 if negative else 1.0))
        self._chip_row.insertWidget(len(self.chips) - 1, chip)
        self.changed.emit()

    def add_similar(self, media_id: int, label: str) -> None:
        """Search for more like a photo of the library, as a chip beside the text."""
        chip = Chip("like " + (label if len(label) < 24 else label[:21] + "…"), "similar")
        chip.clicked.connect(lambda: self.remove_similar(chip))
        self.similar.append((chip, media_id))
        self._chip_row.insertWidget(len(self.chips) + len(self.similar) - 1, chip)
        self.changed.emit()

    def remove_similar(self, chip: Chip, notify: bool = True) -> None:
        self.similar = [(c, m) for c, m in self.similar if c is not chip]
        drop_widget(chip)
        if notify:
            self.changed.emit()

    def _flip(self, chip: Chip) -> None:
        for c, path, w in self.chips:
            if c is chip:
                self.remove_chip(chip, notify=False)
                self.add_image(path, w > 0, *chip.picture)
                return

    def remove_chip(self, chip: Chip, notify: bool = True) -> None:
        self.chips = [(c, p, w) for c, p, w in self.chips if c is not chip]
        drop_widget(chip)
        if notify:
            self.changed.emit()

    # -- filters -------------------------------------------------------------
    def set_filter(self, name: str, value, label: str) -> None:
        """kind, camera, folder, range ((after, before) unix times) or sort; None removes."""
        old = self.filter_chips.pop(name, None)
        if old is not None:
            drop_widget(old)
        self.filters.pop(name, None)
        if value is not None:
            self.filters[name] = (value, label)
            chip = Chip(label, "filter")
            chip.clicked.connect(lambda: self.set_filter(name, None, ""))
            self.filter_chips[name] = chip
            self._chip_row.addWidget(chip)
        self._sync_date_chip()
        self._sync_place_chip()
        self.changed.emit()

    def _text_changed(self, _text: str) -> None:
        self._sync_date_chip()
        self._sync_place_chip()
        self._sync_people_chips()
        self.changed.emit()

    # -- people named in the text ("Anna at the beach") -------------------------
    def set_known_people(self, names: list[str]) -> None:
        self.known_people = list(names)
        self._sync_people_chips()

    def _people_names(self) -> list[str]:
        return [n for n in self.known_people if n.casefold() not in self.dismissed_people]

    def _sync_people_chips(self) -> None:
        """A chip for each part of who the text asks for, as the query reads it ("with Anna",
        "without Ben", "with (Anna and Ben) or Carl", "only Anna or only Ben"); removing one
        reads its names as words."""
        from core.query.who import chips

        wanted = dict(chips(self._reading(1).who)) if self.known_people else {}
        for label in [lb for lb in self.person_chips if lb not in wanted]:
            drop_widget(self.person_chips.pop(label))
        for label, names in wanted.items():
            if label not in self.person_chips:
                chip = Chip(label, "person")
                chip.label = label
                said = ", ".join(f'"{n}"' for n in names)
                chip.setToolTip(f"Read from {said}. Click to search the "
                                f"word{'s' if len(names) > 1 else ''} {said} instead.")
                chip.clicked.connect(lambda _=False, n=names: self.dismiss_people(n))
                self.person_chips[label] = chip
                self._chip_row.addWidget(chip)

    def dismiss_people(self, names) -> None:
        """Read these names as words from now on (until the bar is cleared)."""
        self.dismissed_people.update(n.casefold() for n in names)
        self._sync_people_chips()
        self.changed.emit()

    # -- a place read from the text ("beach in Portugal") ---------------------
    def set_known_places(self, places: dict[str, str]) -> None:
        """The places the library has photos of (folded name → spelling): only those can
        be read from the text."""
        self.known_places = dict(places)
        self._sync_place_chip()

    def _typed_place(self):
        from core.media.places import find_place
        from core.words import fold

        ignore = {fold(p) for p in self.dismissed_places}
        known = {n: v for n, v in self.known_places.items() if n not in ignore}
        return find_place(self.edit.text(), known) if known and "place" not in self.filters \
            else None

    def _sync_place_chip(self) -> None:
        """Show the place read from the text as a chip; removing it reads the words as words."""
        match = self._typed_place()
        self.place_chip = self._read_chip(
            self.place_chip, "place", f"in {match.name}" if match else None,
            match.phrase if match else "", "place",
            (lambda name=match.name: self.dismiss_place(name)) if match else None)

    def dismiss_place(self, name: str) -> None:
        self.dismissed_places.add(name)
        self._sync_place_chip()
        self.changed.emit()

    def _sync_date_chip(self) -> None:
        """Show the date read from the text as a chip; removing it reads the words as words."""
        from core.query.dates import find_date

        _, when = find_date(self.edit.text(), ignore=frozenset(self.dismissed_dates))
        if "range" in self.filters:
            when = None  # a date range picked by hand wins over words
        self.date_chip = self._read_chip(
            self.date_chip, "date", f"taken {when.label}" if when else None,
            when.phrase if when else "", "date",
            (lambda phrase=when.phrase.lower(): self.dismiss_date(phrase)) if when else None)

    def _read_chip(self, chip: Chip | None, kind: str, label: str | None, phrase: str,
                   what: str, dismiss) -> Chip | None:
        """The chip of something read out of the text (a date, a place), kept, replaced or
        removed as the text changes; clicking it reads those words as words again."""
        if chip is not None and (label is None or chip.label != label):
            drop_widget(chip)
            chip = None
        if label and chip is None:
            chip = Chip(label, kind)
            chip.label = label
            chip.setToolTip(f'Read from "{phrase}". Click to search those words instead of '
                            f"filtering by {what}.")
            chip.clicked.connect(lambda _=False: dismiss())
            self._chip_row.addWidget(chip)
        return chip

    def dismiss_date(self, phrase: str) -> None:
        self.dismissed_dates.add(phrase)
        self._sync_date_chip()
        self.changed.emit()

    # -- relevance feedback --------------------------------------------------
    def set_feedback(self, good: list[int], bad: list[int]) -> None:
        self.good, self.bad = list(good), list(bad)
        if self.feedback_chip is not None:
            drop_widget(self.feedback_chip)
            self.feedback_chip = None
        if self.good or self.bad:
            said = ([f"more like {len(self.good)}"] if self.good else []) \
                + ([f"fewer like {len(self.bad)}"] if self.bad else [])
            self.feedback_chip = Chip(" · ".join(said), "feedback")
            self.feedback_chip.clicked.connect(lambda: self.set_feedback([], []))
            self._chip_row.addWidget(self.feedback_chip)
        self.changed.emit()

    # -- the query -----------------------------------------------------------
    def clear_terms(self) -> None:
        """Drop the text and every image or "more like" chip; filters and feedback stay."""
        for chip, _, _ in list(self.chips):
            self.remove_chip(chip, notify=False)
        for chip, _ in list(self.similar):
            self.remove_similar(chip, notify=False)
        self.edit.clear()
        self.changed.emit()

    def clear(self) -> None:
        for chip, _, _ in list(self.chips):
            self.remove_chip(chip, notify=False)
        for chip, _ in list(self.similar):
            self.remove_similar(chip, notify=False)
        for name in list(self.filters):
            drop_widget(self.filter_chips.pop(name))
        self.filters.clear()
        self.dismissed_dates.clear()
        self.dismissed_places.clear()
        self.dismissed_people.clear()
        self.good, self.bad = [], []
        if self.feedback_chip is not None:
            drop_widget(self.feedback_chip)
            self.feedback_chip = None
        self.edit.clear()
        self._sync_date_chip()
        self.changed.emit()

    def _reading(self, k: int) -> Query:
        """The text as the core reads it: the one reading both the query and the chips use."""
        from core.search.scoring import parse_query

        q, _ = parse_query(self.edit.text().strip(), k=k,
                           ignore_dates=frozenset(self.dismissed_dates),
                           places=self.known_places if "place" not in self.filters else None,
                           people=self._people_names(),
                           ignore_places=frozenset(self.dismissed_places))
        return q

    def query(self, k: int) -> Query:
        q = self._reading(k)
        q.images += [(p, w) for _, p, w in self.chips]
        q.media += [(media_id, 1.0) for _, media_id in self.similar]
        value = lambda name: self.filters.get(name, (None, ""))[0]  # noqa: E731
        if value("range") is not None:
            q.after, q.before = value("range")
        q.kinds = frozenset({value("kind")}) if value("kind") else None
        q.camera, q.folder = value("camera"), value("folder")
        q.place = value("place") or q.place
        if value("person") and value("person") not in q.persons:  # from the People view
            q.persons.append(value("person"))
        q.sort = value("sort") or "relevance"
        q.good, q.bad = list(self.good), list(self.bad)
        return q


def drop_widget(widget: QWidget) -> None:
    widget.setParent(None)
    widget.deleteLater()


def has_media(mime: QMimeData | None) -> bool:
    """Pictures or local files on a clipboard or in a drop: what becomes image chips."""
    if mime is None:
        return False
    return mime.hasImage() or any(url.isLocalFile() for url in mime.urls())
