"""The catalog: SQLite is the truth about folders, media, their vectors and the index header."""

from __future__ import annotations

from core.store.enrich import Enrichment
from core.store.folders import Folders
from core.store.media import Media
from core.store.people import People
from core.store.text import Text
from core.store.vectors import Vectors


class Catalog(Folders, Media, Vectors, Enrichment, People, Text):
    """The one catalog callers use: each part of it (folders, media, vectors, the second pass,
    people, text) is a room of its own over the same connections (store.db)."""
