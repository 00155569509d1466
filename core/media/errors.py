"""Why a photo or video cannot be used, in the one line the catalog records."""

from __future__ import annotations


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
    """The first line of an exception's message, short, without the path an OSError names
    (FFmpeg's "Invalid data found when processing input"); its class name when it has none."""
    text = (getattr(exc, "strerror", None) or str(exc)).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__
