"""The catalog: SQLite is the truth about folders, media, their vectors and the index header."""

from __future__ import annotations

from core.store.corrections import Corrections
from core.store.enrich import Enrichment
from core.store.folders import Folders
from core.store.media import Media
from core.store.names import FileNames
from core.store.people import People
from core.store.text import Text
from core.store.vectors import Vectors


class Catalog(Folders, Media, Vectors, Enrichment, People, Corrections, FileNames, Text):
    """The one catalog callers use: a facade of table groups (folders, media, vectors, the
    second pass, people, the user's corrections, the names in the files, text) over one
    database. The groups share only the connections and the writer's lock (db.Connections);
    none keeps or reads a field of another. One calls across: storing a photo's faces
    (People) links its file regions to them again in the same transaction (FileNames)."""
