"""An image chip names its picture as a person reads it: a pasted picture shows a small
thumbnail of itself and "Pasted image" (not the name of the file it was kept in), a file its
file name; excluding it keeps both."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QWidget

pytestmark = pytest.mark.usefixtures("qapp")


class Host(QWidget):
    """What the query input needs of the window: the search bar, the task runner, errors."""

    def __init__(self):
        from desktop.search.searchbar import SearchBar
        from desktop.tasks import TaskRunner

        super().__init__()
        self.search = SearchBar(self)
        self.tasks = TaskRunner(self)
        self.errors: list[BaseException] = []

    def show_error(self, error: BaseException) -> None:
        self.errors.append(error)


@pytest.fixture
def host(qtbot, tmp_path):
    from desktop.search.query_input import PastedPictures, QueryInput

    window = Host()
    qtbot.addWidget(window)
    window.query_input = QueryInput(window, PastedPictures(tmp_path / "pasted"))
    yield window
    window.tasks.close()
    window.query_input.pasted.remove()


def _orange(width=64, height=48) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("orange"))
    return image


def test_a_pasted_picture_is_a_chip_with_its_thumbnail_called_pasted_image(qtbot, host):
    mime = QMimeData()
    mime.setImageData(_orange())
    assert host.query_input.add_from_mime(mime)
    qtbot.waitUntil(lambda: len(host.search.chips) == 1, timeout=10_000)
    chip, path, _ = host.search.chips[0]
    assert chip.text() == "Pasted image  ✕" and path.name.startswith("pasted-")
    assert chip.accessibleName() == "image chip: Pasted image"
    shown = chip.icon().pixmap(16, 16).toImage()
    assert not shown.isNull() and shown.pixelColor(8, 8).name() == QColor("orange").name()
    # excluded, it is still the pasted image, thumbnail and all
    chip.actions()[0].trigger()
    chip, same, weight = host.search.chips[0]
    assert (chip.text(), same, weight) == ("− Pasted image  ✕", path, -1.0)
    assert not chip.icon().isNull()
    assert host.errors == []


def test_a_file_is_a_chip_with_its_file_name(qtbot, host, tmp_path):
    picture = tmp_path / "beach at noon.jpg"
    _orange().save(str(picture))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(picture))])
    assert host.query_input.add_from_mime(mime)
    chip, path, _ = host.search.chips[0]
    assert chip.text() == "beach at noon.jpg  ✕" and path == picture
    assert str(picture) in chip.toolTip()
