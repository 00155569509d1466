"""Why a photo or video cannot be used, in the one line the catalog records."""

from __future__ import annotations

from core.types import one_line


class ImageError(Exception):
    """A file that cannot be used as a photo; the message is the recorded reason."""


# what the file system or the machine, not the file's contents, makes a decoder raise
FILE_ERRORS = (FileNotFoundError, PermissionError, MemoryError)


def file_error(exc: BaseException, doing: str) -> ImageError:
    """The reason for one of FILE_ERRORS; `doing` is what ran out of memory ("decode this
    image")."""
    if isinstance(exc, FileNotFoundError):
        return ImageError("file vanished before it could be read")
    if isinstance(exc, PermissionError):
        return ImageError("permission denied")
    return ImageError(f"not enough memory to {doing}")


def reason(exc: BaseException) -> str:
    """Why a file cannot be used, as the catalog records it: the exception's first line."""
    return one_line(exc, 160, first=True)
