"""The catalog: SQLite is the truth about folders, media, their vectors and the index header."""

from __future__ import annotations

from .enrich import Enrichment
from .media import Media
from .people import People
from .text import Text
from .vectors import Vectors


class Catalog(Media, Vectors, Enrichment, People, Text):
    """The one catalog callers use: each part of it (media, vectors, the second pass, people,
    text) is a room of its own over the same connections (store.db)."""
