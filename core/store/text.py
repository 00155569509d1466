"""What photos say of themselves: places, the text read in them, and the full-text search."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from core.store.db import Connections

# a typed word this long is also found inside words the reader ran together (shorter ones would
# find every "at" in "Kathmandu")
RUN_TOGETHER_MIN = 4


class Text(Connections):
    """Places from GPS, text in pictures, and words found in everything a photo says."""

    @staticmethod
    def _write_text(w: sqlite_utils.Database, media_id: int, lines: list) -> None:
        """Replace the text read in a photo: rows of (frame, core.text.ocr.TextLine)."""
        w.execute("DELETE FROM photo_text WHERE media_id=?", [media_id])
        for number, (frame, line) in enumerate(lines):
            w.execute("INSERT INTO photo_text(media_id, frame, line, text, confidence, x0, y0, "
                      "x1, y1) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      [media_id, frame, number, line.text, line.confidence, *line.box])

    def photo_text(self, media_id: int) -> list[str]:
        """The lines of text read in a photo (or its video's moments), in reading order."""
        return [r[0] for r in self._rows("SELECT text FROM photo_text WHERE media_id=? "
                                         "ORDER BY frame, y0, x0", [media_id])]

    # -- places (schema 5) ----------------------------------------------------
    def places_missing(self, limit: int = 5000) -> list[tuple[int, float, float]]:
        """Photos with a GPS position whose place was not looked up yet."""
        return [tuple(r) for r in self._rows(
            "SELECT id, gps_lat, gps_lon FROM media WHERE gps_lat IS NOT NULL AND "
            "gps_lon IS NOT NULL AND id NOT IN (SELECT media_id FROM places) LIMIT ?", [limit])]

    def store_places(self, places: list[tuple[int, object]]) -> None:
        """(media id, core.media.places.Place or None) pairs; None records "no place" (a position
        off the map or a camera's 0,0) so it is not looked up again."""
        with self.write() as w:
            for media_id, place in places:
                values = ([place.locality, place.city, place.region, place.country,
                           place.country_code] if place is not None else ["", "", "", "", ""])
                w.execute("INSERT OR REPLACE INTO places(media_id, locality, city, region, "
                          "country, country_code) SELECT id, ?, ?, ?, ?, ? FROM media WHERE id=?",
                          [*values, media_id])

    def places(self) -> list[tuple[str, str, str, str, int]]:
        """(locality, city, region, country, photos) of the library's places, most photos
        first: the place filter's menu and the names a query may use."""
        return [tuple(r) for r in self._rows(
            "SELECT p.locality, p.city, p.region, p.country, count(*) AS n FROM places p "
            "JOIN media m ON m.id = p.media_id WHERE m.status='ok' AND p.country != '' "
            "GROUP BY p.locality, p.city, p.region, p.country ORDER BY n DESC")]

    def place_of(self, media_id: int) -> tuple[str, str, str, str] | None:
        rows = self._rows("SELECT locality, city, region, country FROM places WHERE media_id=? "
                          "AND country != ''", [media_id])
        return tuple(rows[0]) if rows else None

    # -- words (schema 5) -----------------------------------------------------
    def text_hits(self, words: Iterable[str], limit: int = 50_000) -> dict[int, set[str]]:
        """Photos whose names, keywords, caption, place or text in the picture hold the words
        (any case or accents): media id → the words found. The last word may be the start of
        a word (it is still being typed); the others are whole words, so "car" does not find
        every "Caroline"."""
        hits: dict[int, set[str]] = {}
        words = list(dict.fromkeys(words))
        for i, word in enumerate(words):
            token = word.replace('"', " ").strip()
            if not token:
                continue
            match = '"' + token + '"' + ("*" if i == len(words) - 1 else "")
            rows = self._rows("SELECT rowid FROM media_fts WHERE media_fts MATCH ? "
                              "ORDER BY rowid DESC LIMIT ?", [match, limit])
            if len(token) >= RUN_TOGETHER_MIN:
                # the reader may have run words together ("HOTELMIRAMAR", "INVOICE4471"):
                # inside a line read in the picture, a word is found anywhere (SQLite's own
                # lower() and instr(): a scan of the lines at C speed, no Python per row)
                rows += self._rows("SELECT DISTINCT media_id FROM photo_text "
                                   "WHERE instr(lower(text), lower(?)) > 0 LIMIT ?",
                                   [token, limit])
            for (media_id,) in rows:
                hits.setdefault(media_id, set()).add(word)
        return hits

    def text_body(self, media_id: int) -> str:
        rows = self._rows("SELECT body FROM media_fts WHERE rowid=?", [media_id])
        return rows[0][0] if rows else ""

