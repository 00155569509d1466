"""The People view's list items: a person, a suggestion (seen in two photos), a name the
photos' files give (waiting to be confirmed), and the faces in no one; each with the roles the
view reads back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListWidgetItem

from desktop.people.pickers import PersonRole, faces_count

NameRole = Qt.ItemDataRole.UserRole + 3
SuggestedRole = Qt.ItemDataRole.UserRole + 4
HiddenRole = Qt.ItemDataRole.UserRole + 5
FileNameRole = Qt.ItemDataRole.UserRole + 6  # a name the files give, not confirmed yet
UNSORTED = 0  # the PersonRole of the faces in no one (no person has id 0)


def _photos(count: int) -> str:
    return f"{count} photo{'s' if count != 1 else ''}"


def _item(text: str, person_id: int, name: str, image: QImage | None, *, suggested=False,
          hidden=False, file_name=False, italic=False, tip="") -> QListWidgetItem:
    item = QListWidgetItem(text)
    item.setData(PersonRole, person_id)
    item.setData(NameRole, name)
    item.setData(SuggestedRole, suggested)
    item.setData(HiddenRole, hidden)
    item.setData(FileNameRole, file_name)
    if italic:
        font = item.font()
        font.setItalic(True)
        item.setFont(font)
    if tip:
        item.setToolTip(tip)
    if image is not None and not image.isNull():
        item.setIcon(QIcon(QPixmap.fromImage(image)))
    return item


def person_item(person, image: QImage | None, suggested: bool = False) -> QListWidgetItem:
    """A person (catalog.PersonRow), or one seen in too few photos to be sure."""
    if suggested:
        text = f"{person.name or 'Unnamed'}?\nSeen in {_photos(person.photos)}"
    else:
        text = (f"{person.name or 'Unnamed'}{' (hidden)' if person.hidden else ''}\n"
                f"{_photos(person.photos)}")
    item = _item(text, person.id, person.name or "", image, suggested=suggested,
                 hidden=person.hidden, italic=suggested,
                 tip="Seen in too few photos to be sure: name them to make them a person, or "
                     "drag them onto the person they are." if suggested else "")
    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
    return item


def file_name_item(row, image: QImage | None) -> QListWidgetItem:
    """A name the photos' files give (catalog.FileNameRow), until the user confirms it."""
    said_no = " (said no)" if row.hidden else ""
    item = _item(f"{row.name}?{said_no}\nIn the files of {_photos(row.photos)}", row.person_id,
                 row.name, image, suggested=True, hidden=row.hidden, file_name=True,
                 italic=True,
                 tip=f"Your photos' files call someone {row.name} (another program named "
                     "them). Confirm Name makes it a person; rename it to confirm it as "
                     "someone else; Ignore Name says no.")
    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
    return item


def unsorted_item(count: int, image: QImage | None) -> QListWidgetItem:
    """The faces in no one, as one group: reviewed, named or moved to someone like a
    person's, never renamed, merged or hidden."""
    return _item(f"In no one\n{faces_count(count)}", UNSORTED, "", image, italic=True,
                 tip="Faces sorting put in no one: select some and name them, or move them "
                     "to the person they are.")
