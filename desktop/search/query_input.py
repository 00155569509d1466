"""Pictures as queries: dropped, pasted or picked files become image chips, a dropped folder is
added to the library, and raw picture data is saved as a file first (a query names a file)."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog

from desktop.search.searchbar import has_media

PASTED = "Pasted image"  # what a pasted picture's chip says: its file's name means nothing
THUMBNAIL_SIZE = 20  # pixels: a chip's small picture of what was pasted


def query_file_filter() -> str:
    """The file dialog's filter for query images: every format the library indexes."""
    from core.media.imaging import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS

    photos = " ".join(f"*{e}" for e in sorted(PHOTO_EXTENSIONS))
    videos = " ".join(f"*{e}" for e in sorted(VIDEO_EXTENSIONS))
    return f"Photos and videos ({photos} {videos});;Photos ({photos});;Videos ({videos})"


def pasted_root() -> Path:
    """Where pasted pictures are kept: the user's cache folder, one folder per running app."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("snapseek", appauthor=False)) / "pasted"


def _lock(folder: Path):
    # the operating system drops this lock when its process ends, kill -9 included: a folder
    # whose lock can be taken belongs to an app that is gone
    from core.library import HomeLock

    return HomeLock.of(folder)


class PastedPictures:
    """Pictures saved for queries while the app runs, in a folder of this process's own,
    removed at quit; `remove_leftovers` removes the folders of apps that ended without doing
    so. Every method touches the disk: call them off the GUI thread."""

    def __init__(self, root: Path | None = None):
        self.root = root or pasted_root()
        self.folder: Path | None = None
        self._making = threading.Lock()  # two pastes at once still make one folder

    def save(self, image: QImage) -> Path:
        with self._making:
            if self.folder is None:
                self.root.mkdir(parents=True, exist_ok=True)
                folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.root))
                _lock(folder).acquire(0)
                self.folder = folder
        path = self.folder / f"pasted-{time.time_ns()}.png"
        if not image.save(str(path), "PNG"):
            raise OSError(f"Could not save the pasted picture in {self.folder}")
        return path

    def remove(self) -> None:
        folder, self.folder = self.folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            _lock(folder).release(all_holds=True)

    def remove_leftovers(self) -> list[Path]:
        """Remove the folders of apps that are no longer running; returns them."""
        removed = []
        for folder in self.root.iterdir() if self.root.is_dir() else []:
            if folder == self.folder or not folder.is_dir():
                continue
            lock = _lock(folder)
            if lock.acquire(0):  # nobody holds it: its app is gone
                shutil.rmtree(folder, ignore_errors=True)
                lock.release(all_holds=True)
                removed.append(folder)
        return removed


class QueryInput(QObject):
    """Drop, paste and pick for the window: it provides `search` (the bar), `tasks`,
    `show_error` and `dialogs.add_folder`."""

    def __init__(self, window, pasted: PastedPictures | None = None):
        super().__init__(window)
        self.window = window
        self.pasted = pasted or PastedPictures()

    def accepts(self, mime: QMimeData) -> bool:
        """What a drag may bring: files, folders, a picture."""
        return mime.hasUrls() or mime.hasImage()

    def paste(self) -> None:
        """Pictures and files on the clipboard become image chips; text goes into the box."""
        mime = QGuiApplication.clipboard().mimeData()
        if has_media(mime):
            self.add_from_mime(mime)
        elif mime is not None and mime.hasText():
            self.window.search.edit.setFocus()
            self.window.search.edit.paste()

    def add_from_mime(self, mime: QMimeData) -> bool:
        """Local files and file URLs become image chips; a folder is added; raw data is saved
        (in the background: the chip comes when the file is written)."""
        added = False
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if path.is_dir():
                    self.window.dialogs.add_folder(str(path))
                    added = True
                elif path.is_file():
                    self.window.search.add_image(path)
                    added = True
        if added:
            return True
        if mime.hasImage():
            image = QImage(mime.imageData())  # a copy: the clipboard may change meanwhile
            if not image.isNull():
                self.window.tasks.run(lambda: self._keep(image), self._add_pasted,
                                      self.window.show_error)
                return True
        return False

    def _keep(self, image: QImage) -> tuple[Path, QImage]:
        """Off the GUI thread: the picture saved as a file, and the chip's thumbnail of it."""
        size = THUMBNAIL_SIZE
        return self.pasted.save(image), image.scaled(
            size, size, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation)

    def _add_pasted(self, kept: tuple[Path, QImage]) -> None:
        path, thumbnail = kept
        self.window.search.add_image(path, label=PASTED, thumbnail=thumbnail)

    def choose_image(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self.window, "Search by image", str(Path.home()),
                                              query_file_filter())
        if name:
            self.window.search.add_image(Path(name))
