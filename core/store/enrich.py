"""The second pass's bookkeeping: which enricher (name, version) ran on which photo."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.store.db import Connections, fs_path


@dataclass(frozen=True)
class EnrichItem:
    media_id: int
    path: str
    kind: str
    content_hash: str
    frames: int  # a video's moments (thumbnails), 1 for a photo
    needs: frozenset[str]  # the enrichers still to run on it


class Enrichment(Connections):
    """What the second pass still has to do, and its results written with the record of them."""

    def enrich_pending(self, enrichers: dict[str, int], limit: int = 64) -> list[EnrichItem]:
        """Indexed media that an enricher (name → version) has not run on, at this version and
        on this content; newest first. Each item says which enrichers it still needs."""
        if not enrichers:
            return []
        need: dict[int, set[str]] = {}
        rows: dict[int, tuple] = {}
        for name, version in enrichers.items():
            for r in self._rows(
                    "SELECT m.id, m.path, m.kind, m.content_hash FROM media m "
                    "JOIN folders f ON f.id=m.folder_id "
                    "LEFT JOIN enrich_runs r ON r.media_id=m.id AND r.enricher=? "
                    "WHERE m.status='ok' AND f.paused=0 AND f.away IS NULL AND "
                    "(r.media_id IS NULL OR r.version!=? OR r.content_hash!=m.content_hash) "
                    "ORDER BY m.mtime_ns DESC, m.id DESC LIMIT ?", [name, version, limit]):
                need.setdefault(r[0], set()).add(name)
                rows[r[0]] = r
        out = []
        for media_id in sorted(need, key=lambda m: list(rows).index(m))[:limit]:
            _, path, kind, digest = rows[media_id]
            frames = 1
            if kind == "video":
                frames = self.db.execute(
                    "SELECT COALESCE(MAX(frame), 0) + 1 FROM embeddings WHERE media_id=?",
                    [media_id]).fetchone()[0]
            out.append(EnrichItem(media_id, fs_path(path), kind, digest, frames,
                                  frozenset(need[media_id])))
        return out

    def enrich_progress(self, enrichers: dict[str, int]) -> tuple[int, int]:
        """(done, total): indexed media every enricher has run on, of all indexed media."""
        total = self.db.execute(
            "SELECT COUNT(*) FROM media m JOIN folders f ON f.id=m.folder_id "
            "WHERE m.status='ok' AND f.paused=0 AND f.away IS NULL").fetchone()[0]
        if not enrichers:
            return total, total
        marks = " AND ".join(
            "EXISTS (SELECT 1 FROM enrich_runs r WHERE r.media_id=m.id AND r.enricher=? AND "
            "r.version=? AND r.content_hash=m.content_hash)" for _ in enrichers)
        done = self.db.execute(
            f"SELECT COUNT(*) FROM media m JOIN folders f ON f.id=m.folder_id "
            f"WHERE m.status='ok' AND f.paused=0 AND f.away IS NULL AND {marks}",
            [v for item in enrichers.items() for v in item]).fetchone()[0]
        return done, total

    def store_enriched(self, media_id: int, content_hash: str,
                       results: list[tuple[str, int, list, str | None]]) -> bool:
        """One photo's enrichment: each enricher's rows and the record that it ran (name,
        version, content), in one transaction: a crash loses or doubles nothing. False when the
        photo was forgotten or changed meanwhile (nothing is written)."""
        with self.write() as w:
            row = w.execute("SELECT content_hash FROM media WHERE id=?", [media_id]).fetchone()
            if row is None or row[0] != content_hash:
                return False
            for name, version, rows, note in results:
                writer = self._ENRICH_WRITERS.get(name)
                if writer is not None:
                    getattr(self, writer)(w, media_id, rows)
                w.execute(
                    "INSERT OR REPLACE INTO enrich_runs(media_id, enricher, version, content_hash, "
                    "note, ran_at) VALUES(?, ?, ?, ?, ?, ?)",
                    [media_id, name, version, content_hash, note, time.time()])
        return True

    # each enricher's rows are written by one method of the catalog (People, FileNames, Text)
    _ENRICH_WRITERS = {"faces": "_write_faces", "names": "_write_names", "text": "_write_text"}

