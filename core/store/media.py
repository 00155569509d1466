"""Media rows: what the scans write and what results show."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import sqlite_utils

from core.query.filters import Filters, under
from core.store.db import Connections, db_path, fs_path
from core.store.vectors import copy_vectors
from core.types import away_line


class MediaBrief(NamedTuple):
    """What a result shows of a media item (Catalog.media_rows)."""
    path: str
    width: int | None
    height: int | None
    taken_at: float | None
    kind: str
    folder_id: int
    camera: str | None
    duration_s: float | None
    away: str | None = None  # its drive is away: "on USB, not connected"


@dataclass(frozen=True)
class MediaRow:
    id: int
    folder_id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    status: str


def _media_row(r: tuple) -> MediaRow:
    return MediaRow(r[0], r[1], fs_path(r[2]), *r[3:])


@dataclass(frozen=True)
class NewFile:
    """A file a scan found that the catalog does not know, and the indexed file whose every
    byte it holds, compared before the write (a copy takes that file's vectors)."""
    folder_id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    kind: str
    copy_of: int | None = None


class Media(Connections):
    """Media rows and the filters over them."""

    # -- media ---------------------------------------------------------------
    def media_in_folder(self, folder_id: int) -> dict[str, MediaRow]:
        rows = self._rows(
            "SELECT id, folder_id, path, size, mtime_ns, content_hash, status "
            "FROM media WHERE folder_id=?",
            [folder_id],
        )
        return {fs_path(r[2]): _media_row(r) for r in rows}

    def media_under(self, folder_id: int, path: str) -> dict[str, MediaRow]:
        """Rows for a file path, or for everything under a folder path (a range on the index)."""
        # lookups on the path index, one per range; an OR of them would scan the whole table
        cols = "SELECT id, folder_id, path, size, mtime_ns, content_hash, status FROM media "
        sql, params = [f"{cols} WHERE path=? AND +folder_id=?"], [db_path(path), folder_id]
        for low, high in under(path):
            sql.append(f"{cols} WHERE path>=? AND path<? AND +folder_id=?")
            params += [low, high, folder_id]
        rows = self._rows(" UNION ALL ".join(sql), params)
        return {fs_path(r[2]): _media_row(r) for r in rows}

    def media_by_id(self, media_id: int) -> MediaRow | None:
        row = self.db.execute(
            "SELECT id, folder_id, path, size, mtime_ns, content_hash, status FROM media WHERE id=?",
            [media_id],
        ).fetchone()
        return _media_row(row) if row else None

    def insert_media(
        self, db: sqlite_utils.Database, folder_id: int, path: str, size: int, mtime_ns: int,
        content_hash: str, kind: str = "photo",
    ) -> int | None:
        """A new media row; None when another folder already holds that path."""
        cur = db.execute(
            "INSERT OR IGNORE INTO media(folder_id, path, size, mtime_ns, content_hash, kind, "
            "added_at) VALUES(?, ?, ?, ?, ?, ?, ?)",
            [folder_id, db_path(path), size, mtime_ns, content_hash, kind, time.time()],
        )
        return cur.lastrowid if cur.rowcount else None

    # -- what a scan writes ----------------------------------------------------
    def copy_candidates(self, content_hash: str, limit: int = 8) -> list[tuple[int, str]]:
        """(id, path) of indexed media with this content hash: a new file may be a copy."""
        return [(r[0], fs_path(r[1])) for r in self._rows(
            "SELECT id, path FROM media WHERE content_hash=? AND status='ok' LIMIT ?",
            [content_hash, limit])]

    def record_scan(self, moved: list[tuple[int, int, str, int, int]], new: list[NewFile],
                    changed: list[tuple[int, int, int, str]], gone: list[int]
                    ) -> tuple[int, list[int]]:
        """One scan's findings in one transaction: moves (id, folder id, path, size, mtime),
        new files, changed files (id, size, mtime, hash: indexed again) and files gone.
        Returns how many new files are not copies, and the ids of the copies. Whole files
        were compared before: the write lock is held for the writes alone."""
        added, copies = 0, []
        with self.write() as w:
            for media_id, folder_id, path, size, mtime_ns in moved:
                w.execute("UPDATE media SET path=?, folder_id=?, size=?, mtime_ns=? WHERE id=?",
                          [db_path(path), folder_id, size, mtime_ns, media_id])
            for f in new:
                # the source compared may have changed or gone since: then this is no copy
                source = f.copy_of if f.copy_of is not None and w.execute(
                    "SELECT 1 FROM media WHERE id=? AND content_hash=? AND status='ok'",
                    [f.copy_of, f.content_hash]).fetchone() else None
                media_id = self.insert_media(w, f.folder_id, f.path, f.size, f.mtime_ns,
                                             f.content_hash, f.kind)
                if media_id is None:
                    continue
                if source is None:
                    added += 1
                    continue
                w.execute(
                    "UPDATE media SET (status, width, height, taken_at, taken_source, camera,"
                    " lens, gps_lat, gps_lon, duration_s, taken_offset, keywords, caption) ="
                    " (SELECT status, width, height, taken_at, taken_source, camera, lens,"
                    " gps_lat, gps_lon, duration_s, taken_offset, keywords, caption"
                    " FROM media WHERE id=?) WHERE id=?", [source, media_id])
                copy_vectors(w, source, media_id)
                copies.append(media_id)
            for media_id, size, mtime_ns, digest in changed:
                w.execute(
                    "UPDATE media SET size=?, mtime_ns=?, content_hash=?, status='pending', "
                    "error=NULL WHERE id=?", [size, mtime_ns, digest, media_id])
                w.execute("DELETE FROM embeddings WHERE media_id=?", [media_id])
            for media_id in gone:
                w.execute("DELETE FROM media WHERE id=?", [media_id])
        return added, copies

    def media_rows(self, ids: list[int]) -> dict[int, MediaBrief]:
        """id → what a result shows of it."""
        out: dict[int, MediaBrief] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for r in self._rows(
                f"SELECT m.id, m.path, width, height, taken_at, kind, folder_id, camera, "
                f"duration_s, f.drive_name, f.away FROM media m JOIN folders f ON "
                f"f.id=m.folder_id WHERE m.id IN ({marks})",
                chunk,
            ):
                away = away_line(r[9], r[10]) if r[10] else None
                out[r[0]] = MediaBrief(fs_path(r[1]), *r[2:9], away)
        return out

    def details(self, media_id: int) -> dict | None:
        """Everything the catalog knows of one media item, for a preview or `--json`."""
        cur = self.db.execute(
            "SELECT id, path, kind, size, width, height, taken_at, taken_source, camera, lens, "
            "gps_lat, gps_lon, duration_s, status, error, taken_offset, keywords, caption "
            "FROM media WHERE id=?", [media_id])
        row = cur.fetchone()
        if row is None:
            return None
        out = dict(zip([d[0] for d in cur.description], row, strict=True))
        out["path"] = fs_path(out["path"])
        out["keywords"] = json.loads(out["keywords"]) if out["keywords"] else []
        return out

    def cameras(self) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT camera FROM media WHERE camera IS NOT NULL AND status='ok' "
            "GROUP BY camera ORDER BY COUNT(*) DESC")]

    def pending(self, model_id: str, limit: int | None = None) -> list[tuple[int, str]]:
        """Media without a vector for this model and without an error, newest first."""
        sql = (
            "SELECT m.id, m.path FROM media m JOIN folders f ON f.id=m.folder_id "
            "WHERE f.paused=0 AND f.away IS NULL AND m.status!='error' AND NOT EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.media_id=m.id AND e.model_id=?) "
            "ORDER BY m.mtime_ns DESC, m.id DESC"
        )
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [(r[0], fs_path(r[1])) for r in self._rows(sql, [model_id])]

    def errors(self) -> list[tuple[str, str]]:
        return [(fs_path(r[0]), r[1]) for r in self._rows(
            "SELECT path, error FROM media WHERE status='error' ORDER BY path")]

    def media_present(self, ids: Iterable[int]) -> set[int]:
        """Which of these media ids still have a row."""
        ids = list(ids)
        out: set[int] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out.update(r[0] for r in self.db.execute(
                f"SELECT id FROM media WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def media_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM media").fetchone()[0]

    def error_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM media WHERE status='error'").fetchone()[0]

    def allowed_ids(self, filters: Filters) -> set[int] | None:
        """Ids of the indexed media the filters let through; None when there are no filters
        (everything passes: no set to build)."""
        if not filters:
            return None
        where, params = filters.where()
        return {r[0] for r in self._rows(f"SELECT id FROM media WHERE {where}", params)}

    def ids_passing(self, filters: Filters, limit: int) -> list[int]:
        """Ids of indexed media that pass the filters, newest first."""
        where, params = filters.where()
        return [r[0] for r in self._rows(
            f"SELECT id FROM media WHERE {where} ORDER BY taken_at DESC, id DESC LIMIT ?",
            [*params, limit])]

    def recent(self, limit: int) -> list[int]:
        return [r[0] for r in self._rows(
            "SELECT id FROM media WHERE status='ok' ORDER BY COALESCE(taken_at, mtime_ns / 1e9) "
            "DESC, id DESC LIMIT ?", [limit])]

    def media_id_of(self, path: str) -> int | None:
        row = self.db.execute("SELECT id FROM media WHERE path=?", [db_path(path)]).fetchone()
        return row[0] if row else None

    def sample_ids(self, n: int) -> list[int]:
        """Up to n indexed media ids spread evenly over the library (the same ones each time
        while it is unchanged): the bulk a query's scores are measured against."""
        total = self.media_count()
        step = max(1, total // max(n, 1))
        return [r[0] for r in self._rows(
            "SELECT id FROM media WHERE status='ok' AND id % ? = 0 LIMIT ?", [step, n])] or \
            [r[0] for r in self._rows("SELECT id FROM media WHERE status='ok' LIMIT ?", [n])]

