"""Text and numbers as a person reads and types them: compared without case (and accents),
durations as 1:05."""

from __future__ import annotations

import unicodedata


def fold(text: str, accents: bool = True) -> str:
    """The one way text is compared without case: Unicode case folding (SQLite's LOWER and
    LIKE fold ASCII only). With `accents` (names of places) accents and runs of spaces go
    too, so "Reykjavík" and "REYKJAVIK" meet; without, a path or a camera keeps its accents."""
    folded = text.casefold()
    if not accents:
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def format_seconds(seconds: float | None) -> str:
    """1:05 or 1:02:05, for a video's length or a moment in it."""
    if seconds is None:
        return ""
    s = int(round(seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"
