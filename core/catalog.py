"""The catalog: SQLite is the truth about folders, media, their vectors and the index header."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import sqlite_utils

from .search import camera_matches, matches_exact, path_has_any
# labels (media id and video frame) are defined in types; imported from here by older code
from .types import FRAME_SHIFT, MEDIA_MASK, CatalogError, Folder, Query, label_of, split_label  # noqa: F401

SCHEMA_VERSION = 5
# what the storage raises; callers catch this name and never import sqlite3 themselves
StorageError = sqlite3.Error
_LABEL_SQL = f"media_id + (frame << {FRAME_SHIFT})"  # label_of, in SQL


# one row per vector: a photo's, or each moment of a video (frame 0, 1, ... at at_s seconds)
_EMBEDDINGS = """CREATE TABLE IF NOT EXISTS {name} (
    media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    frame INTEGER NOT NULL DEFAULT 0,
    at_s REAL,
    vector BLOB NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (media_id, model_id, frame)
);"""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    paused INTEGER NOT NULL DEFAULT 0,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS media (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'photo',
    width INTEGER,
    height INTEGER,
    taken_at REAL,
    taken_source TEXT,
    camera TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    error TEXT,
    added_at REAL NOT NULL,
    lens TEXT,
    gps_lat REAL,
    gps_lon REAL,
    duration_s REAL,
    taken_offset INTEGER,
    keywords TEXT,
    caption TEXT
);
CREATE INDEX IF NOT EXISTS media_folder ON media(folder_id);
CREATE INDEX IF NOT EXISTS media_hash ON media(content_hash);
{_EMBEDDINGS.format(name="embeddings")}
DROP INDEX IF EXISTS embeddings_model_seq;
CREATE INDEX IF NOT EXISTS embeddings_model_label ON embeddings(model_id, seq, media_id, frame);
CREATE TABLE IF NOT EXISTS index_header (
    model_id TEXT PRIMARY KEY,
    dim INTEGER NOT NULL,
    count INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    file_size INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    generation INTEGER NOT NULL
);
"""

# -- people (schema 3): faces found by the second pass, people, the user's corrections, and
# which enricher (name, version) ran on which photo. New tables only: schema 2 → 3 is the
# CREATE ... IF NOT EXISTS of this block, run with the rest of _SCHEMA in one transaction.
_PEOPLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    frame INTEGER NOT NULL DEFAULT 0,
    idx INTEGER NOT NULL,
    box_left REAL NOT NULL, box_top REAL NOT NULL, box_right REAL NOT NULL, box_bottom REAL NOT NULL,
    quality REAL NOT NULL,
    sortable INTEGER NOT NULL,
    embedding BLOB,
    person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    UNIQUE (media_id, frame, idx)
);
CREATE INDEX IF NOT EXISTS faces_person ON faces(person_id);
CREATE TABLE IF NOT EXISTS face_constraints (
    face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    must INTEGER NOT NULL,
    PRIMARY KEY (face_id, person_id)
);
CREATE INDEX IF NOT EXISTS face_constraints_person ON face_constraints(person_id);
CREATE TABLE IF NOT EXISTS enrich_runs (
    media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    enricher TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    note TEXT,
    ran_at REAL NOT NULL,
    PRIMARY KEY (media_id, enricher)
);
"""
_SCHEMA += _PEOPLE_SCHEMA

# -- places and text (schema 5): a photo's place from its GPS, the text read in it, and one
# full-text table over everything textual a photo has (file and folder names, keywords,
# caption, place names, text in the picture), kept current by triggers so no write path can
# forget it. Words match case- and accent-insensitively, and by prefix at query time.
_FTS_BODY = """snapseek_path_text(m.path, (SELECT f.path FROM folders f WHERE f.id = m.folder_id))
    || ' ' || COALESCE(m.keywords, '') || ' ' ||
    COALESCE(m.caption, '') || ' ' || COALESCE((SELECT p.locality || ' ' || p.city || ' ' ||
    p.region || ' ' || p.country FROM places p WHERE p.media_id = m.id), '') || ' ' ||
    COALESCE((SELECT group_concat(t.text, ' ') FROM photo_text t WHERE t.media_id = m.id), '')"""


def _fts_refresh(media_id: str) -> str:
    return (f"DELETE FROM media_fts WHERE rowid = {media_id}; "
            f"INSERT INTO media_fts(rowid, body) SELECT m.id, {_FTS_BODY} FROM media m "
            f"WHERE m.id = {media_id};")


_TEXT_SCHEMA = """
CREATE TABLE IF NOT EXISTS places (
    media_id INTEGER PRIMARY KEY REFERENCES media(id) ON DELETE CASCADE,
    locality TEXT NOT NULL, city TEXT NOT NULL, region TEXT NOT NULL, country TEXT NOT NULL,
    country_code TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS places_city ON places(city);
CREATE TABLE IF NOT EXISTS photo_text (
    media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    frame INTEGER NOT NULL DEFAULT 0,
    line INTEGER NOT NULL,
    text TEXT NOT NULL,
    confidence REAL NOT NULL,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    PRIMARY KEY (media_id, frame, line)
);
CREATE VIRTUAL TABLE IF NOT EXISTS media_fts USING fts5(
    body, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS media_fts_delete AFTER DELETE ON media BEGIN
    DELETE FROM media_fts WHERE rowid = old.id;
END;
""" + "".join(  # every other change to what a photo says refreshes its full-text row
    f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {table} BEGIN "
    f"{_fts_refresh(row)} END;\n"
    for name, event, table, row in (
        ("media_fts_insert", "INSERT", "media", "new.id"),
        ("media_fts_update", "UPDATE OF path, keywords, caption", "media", "new.id"),
        ("places_fts_insert", "INSERT", "places", "new.media_id"),
        ("places_fts_delete", "DELETE", "places", "old.media_id"),
        ("text_fts_insert", "INSERT", "photo_text", "new.media_id"),
        ("text_fts_delete", "DELETE", "photo_text", "old.media_id"),
    ))
_SCHEMA += _TEXT_SCHEMA
# Schema 5 from older ones: the new tables above, then every photo's text indexed once
_MIGRATE_TO_5 = f"""
INSERT INTO media_fts(rowid, body) SELECT m.id, {_FTS_BODY} FROM media m
    WHERE m.id NOT IN (SELECT rowid FROM media_fts);
"""

# Schema 1 → 2: lens, GPS and duration on media; a frame number and time on each vector.
_MIGRATE_1_TO_2 = f"""
ALTER TABLE media ADD COLUMN lens TEXT;
ALTER TABLE media ADD COLUMN gps_lat REAL;
ALTER TABLE media ADD COLUMN gps_lon REAL;
ALTER TABLE media ADD COLUMN duration_s REAL;
{_EMBEDDINGS.format(name="embeddings_v2")}
INSERT INTO embeddings_v2(media_id, model_id, frame, vector, seq)
    SELECT media_id, model_id, 0, vector, seq FROM embeddings;
DROP TABLE embeddings;
ALTER TABLE embeddings_v2 RENAME TO embeddings;
"""

# Schema 4 (from 1, 2 or 3): what a photo says about itself beyond the date. taken_offset is
# the UTC offset in minutes where known (dates are shown and filtered in the photo's own local
# time: taken_at + taken_offset); keywords a JSON list, caption text. Older date sources are
# renamed to the ones read now ("mtime" is "file", a video's "metadata" is "video").
_MIGRATE_TO_4 = """
ALTER TABLE media ADD COLUMN taken_offset INTEGER;
ALTER TABLE media ADD COLUMN keywords TEXT;
ALTER TABLE media ADD COLUMN caption TEXT;
UPDATE media SET taken_source='file' WHERE taken_source='mtime';
UPDATE media SET taken_source='video' WHERE taken_source='metadata';
"""
# the photo's own local time, as a Unix time read as UTC (what date filters cut in days)
LOCAL_TAKEN_SQL = "(taken_at + COALESCE(taken_offset, 0) * 60)"


def db_path(path: str) -> str | bytes:
    """A path as SQLite can hold it: text, or the raw bytes of a name that is not UTF-8."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)


def fs_path(value: str | bytes) -> str:
    """The inverse of db_path: the str that os functions take."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


class CatalogFull(CatalogError):
    """SQLite could not write: the disk (or the user's quota) is full."""


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc))  # SQLITE_FULL


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


@dataclass(frozen=True)
class MediaRow:
    id: int
    folder_id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    status: str


@dataclass(frozen=True)
class Filters:
    """The one definition of what a query's filters let through, as SQL over `media`.

    Browsing (filters alone) and ranked search (the allowed ids handed to the vector search)
    both use it. What SQLite cannot say exactly is said in Python and registered as SQL
    functions (see Catalog.db): the camera and name filters fold Unicode case, which SQLite's
    LOWER and LIKE do only for ASCII, and have no wildcards. A folder is a range on the path
    index, for text paths and for the raw bytes of names that are not UTF-8 alike.
    """

    folder: str | None = None  # a real path: what lies inside it
    kinds: frozenset[str] | None = None  # photo, raw, video
    camera: str | None = None  # search.camera_matches
    # taken at or after / before, in the photo's local time (a wall-clock day as a Unix time)
    after: float | None = None
    before: float | None = None
    names: tuple[tuple[str, str], ...] = ()  # ("path" | "name", text): all must match
    any_word: tuple[str, ...] = ()  # the path holds one of these words
    persons: tuple[str, ...] = ()  # people's names (or ids): all of them are in the photo
    place: str | None = None  # a city, region or country (any case or accents)

    @classmethod
    def of(cls, query: Query, names=(), any_word=()) -> Filters:
        folder = os.path.realpath(os.path.expanduser(query.folder)) if query.folder else None
        return cls(folder, frozenset(query.kinds) if query.kinds else None,
                   query.camera.strip() if query.camera and query.camera.strip() else None,
                   query.after, query.before, tuple(names), tuple(any_word),
                   tuple(getattr(query, "persons", ()) or ()),
                   query.place.strip() if query.place and query.place.strip() else None)

    def __bool__(self) -> bool:
        return bool(self.folder or self.kinds or self.camera or self.after is not None
                    or self.before is not None or self.names or self.any_word or self.persons
                    or self.place)

    def where(self) -> tuple[str, list]:
        """The SQL condition over `media` (indexed media only) and its parameters."""
        clauses, params = ["status='ok'"], []
        if self.folder:
            clause, bounds = _under_sql(self.folder)
            clauses.append(clause)
            params += bounds
        if self.kinds:
            clauses.append(f"kind IN ({','.join('?' * len(self.kinds))})")
            params += sorted(self.kinds)
        if self.camera:
            clauses.append("snapseek_camera(camera, ?)")
            params.append(self.camera)
        if self.after is not None:
            clauses.append(f"{LOCAL_TAKEN_SQL} >= ?")
            params.append(self.after)
        if self.before is not None:
            clauses.append(f"{LOCAL_TAKEN_SQL} < ?")
            params.append(self.before)
        for field_name, value in self.names:
            clauses.append("snapseek_name(path, ?, ?)")
            params += [field_name, value]
        if self.any_word:
            clauses.append("snapseek_any_word(path, ?)")
            params.append("\0".join(self.any_word))
        for person in self.persons:
            clauses.append("id IN (SELECT f.media_id FROM faces f JOIN people p ON "
                           "p.id=f.person_id WHERE snapseek_person(p.name, p.id, ?))")
            params.append(person)
        if self.place:
            clauses.append("id IN (SELECT media_id FROM places WHERE "
                           "snapseek_place(locality, city, region, country, ?))")
            params.append(self.place)
        return " AND ".join(clauses), params


@dataclass(frozen=True)
class IndexHeader:
    model_id: str
    dim: int
    count: int
    seq: int
    file_size: int
    fingerprint: str
    generation: int


def _vector_rows(rows: list[tuple], dtype) -> tuple[np.ndarray, np.ndarray, int]:
    """(labels, matrix of `dtype`, max seq) of rows read as (label, vector, seq)."""
    labels = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    mat = np.frombuffer(b"".join(r[1] for r in rows), "<f4").reshape(len(rows), -1)
    return labels, mat.astype(dtype, copy=False), max(r[2] for r in rows)


class Catalog:
    """SQLite catalog in WAL mode; one connection per thread, one writer at a time."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._open()

    # -- connection handling -------------------------------------------------
    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self.db
            version = self._schema_version(db)
            if version > SCHEMA_VERSION:
                raise CatalogError(
                    f"The catalog {self.path} was written by a newer Snapseek "
                    f"(schema {version}, this version knows {SCHEMA_VERSION}). "
                    "Update Snapseek, or use another --home."
                )
            with self.write() as w:
                if version == 1:
                    _run_script(w, _MIGRATE_1_TO_2)
                if 1 <= version < 4:
                    _run_script(w, _MIGRATE_TO_4)
                _run_script(w, _SCHEMA)
                if 1 <= version < 5:
                    _run_script(w, _MIGRATE_TO_5)
                w.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', ?)",
                    [str(SCHEMA_VERSION)],
                )
        except sqlite3.DatabaseError as exc:
            self.close()
            raise CatalogError(
                f"The catalog {self.path} cannot be read ({exc}). It was left untouched: "
                "move it aside to start a new library there, or use another --home."
            ) from exc

    @staticmethod
    def _schema_version(db: sqlite_utils.Database) -> int:
        if "meta" not in db.table_names():
            return 0
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (sqlite connections are bound to their thread)."""
        owned = getattr(self._local, "conn", None)
        if owned is None:
            conn = sqlite3.connect(str(self.path), timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # filters defined once, in Python, used from SQL as they are (see Filters)
            conn.create_function("snapseek_camera", 2, _camera_sql, deterministic=True)
            conn.create_function("snapseek_name", 3, _name_sql, deterministic=True)
            conn.create_function("snapseek_any_word", 2, _any_word_sql, deterministic=True)
            conn.create_function("snapseek_person", 3, _person_sql, deterministic=True)
            conn.create_function("snapseek_path_text", 1, _path_text_sql, deterministic=True)
            conn.create_function("snapseek_path_text", 2, _path_text_sql, deterministic=True)
            conn.create_function("snapseek_place", 5, _place_sql, deterministic=True)
            owned = self._local.conn = _ThreadConnection(conn, sqlite_utils.Database(conn))
        return owned.db

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """One transaction on this thread's connection; writers take turns.

        BEGIN IMMEDIATE takes SQLite's write lock at the start, so two writers (threads or
        processes) wait for each other at the door instead of one failing with "database is
        locked" half-way, when a read lock cannot be upgraded. Nested calls are savepoints.
        """
        with self._write_lock:
            db = self.db
            conn = db.conn
            if conn.in_transaction:
                with db.atomic():
                    yield db
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
                conn.commit()
            except BaseException as exc:
                if conn.in_transaction:
                    conn.rollback()
                if _disk_full(exc):
                    raise CatalogFull(
                        f"The disk holding {self.path.parent} is full: the last change was not "
                        "written, and nothing written before it is lost. Free some space and "
                        "index again to go on.") from exc
                raise

    def close(self) -> None:
        """Close this thread's connection. Every other thread's connection is closed by that
        thread when it ends (or when it calls close()); they are never shared."""
        owned = getattr(self._local, "conn", None)
        if owned is not None:
            del self._local.conn
            owned.close()

    def _rows(self, sql: str, params: Iterable = ()) -> list[tuple]:
        return self.db.execute(sql, list(params)).fetchall()

    # -- meta ----------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as w:
            w.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", [key, value])

    # -- folders -------------------------------------------------------------
    def add_folder(self, path: str, absorb: Iterable[int] = ()) -> int:
        """Add a folder; folders that lie inside it (`absorb`) become part of it, their media
        moving over. One transaction: never a parent and its children both watched."""
        with self.write() as w:
            w.execute(
                "INSERT OR IGNORE INTO folders(path, added_at) VALUES(?, ?)", [db_path(path), time.time()]
            )
            folder_id = w.execute("SELECT id FROM folders WHERE path=?", [db_path(path)]).fetchone()[0]
            for child in absorb:
                w.execute("UPDATE media SET folder_id=? WHERE folder_id=?", [folder_id, child])
                w.execute("DELETE FROM folders WHERE id=?", [child])
            return folder_id

    def remove_folder(self, folder_id: int) -> list[int]:
        """Forget a folder and its media; returns the media ids that were removed."""
        with self.write() as w:
            ids = [r[0] for r in w.execute("SELECT id FROM media WHERE folder_id=?", [folder_id])]
            w.execute("DELETE FROM media WHERE folder_id=?", [folder_id])
            w.execute("DELETE FROM folders WHERE id=?", [folder_id])
        return ids

    def set_folder_paused(self, folder_id: int, paused: bool) -> None:
        with self.write() as w:
            w.execute("UPDATE folders SET paused=? WHERE id=?", [int(paused), folder_id])

    def folders(self) -> list[Folder]:
        rows = self._rows(
            """SELECT f.id, f.path, f.paused,
                      (SELECT COUNT(*) FROM media m WHERE m.folder_id=f.id),
                      (SELECT COUNT(*) FROM media m WHERE m.folder_id=f.id AND m.status='error')
               FROM folders f ORDER BY f.path"""
        )
        return [Folder(r[0], fs_path(r[1]), bool(r[2]), r[3], r[4]) for r in rows]

    def folder_id(self, path: str) -> int | None:
        row = self.db.execute("SELECT id FROM folders WHERE path=?", [db_path(path)]).fetchone()
        return row[0] if row else None

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
        for low, high in _under(path):
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

    @staticmethod
    def copy_embeddings(db: sqlite_utils.Database, src_id: int, dst_id: int) -> None:
        db.execute(
            "INSERT OR REPLACE INTO embeddings(media_id, model_id, frame, at_s, vector, seq) "
            "SELECT ?, model_id, frame, at_s, vector, "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM embeddings) FROM embeddings WHERE media_id=?",
            [dst_id, src_id],
        )

    def media_rows(self, ids: list[int]) -> dict[int, MediaBrief]:
        """id → what a result shows of it."""
        out: dict[int, MediaBrief] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for r in self._rows(
                f"SELECT id, path, width, height, taken_at, kind, folder_id, camera, duration_s "
                f"FROM media WHERE id IN ({marks})",
                chunk,
            ):
                out[r[0]] = MediaBrief(fs_path(r[1]), *r[2:])
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

    def frame_times(self, model_id: str, labels: Iterable[int]) -> dict[int, float]:
        """label → seconds into its video, for labels of video moments."""
        pairs = [split_label(int(label)) for label in labels]
        out: dict[int, float] = {}
        for start in range(0, len(pairs), 400):
            chunk = pairs[start : start + 400]
            where = " OR ".join("(media_id=? AND frame=?)" for _ in chunk)
            for media_id, frame, at in self._rows(
                    f"SELECT media_id, frame, at_s FROM embeddings WHERE model_id=? AND "
                    f"at_s IS NOT NULL AND ({where})",
                    [model_id, *[v for pair in chunk for v in pair]]):
                out[label_of(media_id, frame)] = at
        return out

    def cameras(self) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT camera FROM media WHERE camera IS NOT NULL AND status='ok' "
            "GROUP BY camera ORDER BY COUNT(*) DESC")]

    def pending(self, model_id: str, limit: int | None = None) -> list[tuple[int, str]]:
        """Media without a vector for this model and without an error, newest first."""
        sql = (
            "SELECT m.id, m.path FROM media m JOIN folders f ON f.id=m.folder_id "
            "WHERE f.paused=0 AND m.status!='error' AND NOT EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.media_id=m.id AND e.model_id=?) "
            "ORDER BY m.mtime_ns DESC, m.id DESC"
        )
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [(r[0], fs_path(r[1])) for r in self._rows(sql, [model_id])]

    def store_vectors(
        self, model_id: str, items: list[tuple[int, np.ndarray, dict]], errors: list[tuple[int, str]]
    ) -> tuple[int, set[int]]:
        """Write one batch (vectors, metadata and errors) in one transaction.

        A photo has one vector; a video a matrix, one row per moment, with `meta["times"]`.
        Returns the batch's seq and the ids whose vectors were stored (a file that vanished
        meanwhile has no row left to update)."""
        stored: set[int] = set()
        with self.write() as w:
            seq = w.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM embeddings").fetchone()[0]
            for media_id, vec, meta in items:
                cur = w.execute(
                    "UPDATE media SET status='ok', error=NULL, width=?, height=?, taken_at=?, "
                    "taken_source=?, camera=?, lens=?, gps_lat=?, gps_lon=?, duration_s=?, "
                    "taken_offset=?, keywords=?, caption=? WHERE id=?",
                    [meta.get("width"), meta.get("height"), meta.get("taken_at"),
                     meta.get("taken_source"), meta.get("camera"), meta.get("lens"),
                     meta.get("gps_lat"), meta.get("gps_lon"), meta.get("duration_s"),
                     meta.get("taken_offset"), _keywords_json(meta.get("keywords")),
                     meta.get("caption"), media_id],
                )
                if cur.rowcount == 0:  # the file vanished while it was being embedded
                    continue
                vectors = np.atleast_2d(np.asarray(vec, dtype="<f4"))
                times = meta.get("times") or [None] * len(vectors)
                w.execute("DELETE FROM embeddings WHERE media_id=? AND model_id=?",
                          [media_id, model_id])
                for frame, (row, at) in enumerate(zip(vectors, times, strict=True)):
                    w.execute(
                        "INSERT INTO embeddings(media_id, model_id, frame, at_s, vector, seq) "
                        "VALUES(?, ?, ?, ?, ?, ?)",
                        [media_id, model_id, frame, at, row.tobytes(), seq],
                    )
                stored.add(media_id)
            for media_id, reason in errors:
                w.execute("UPDATE media SET status='error', error=? WHERE id=?", [reason, media_id])
        return seq, stored

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

    def browse(self, filters: Filters, limit: int) -> list[int]:
        """Ids of indexed media that pass the filters, newest first."""
        where, params = filters.where()
        return [r[0] for r in self._rows(
            f"SELECT id FROM media WHERE {where} ORDER BY taken_at DESC, id DESC LIMIT ?",
            [*params, limit])]

    def recent(self, limit: int) -> list[int]:
        return [r[0] for r in self._rows(
            "SELECT id FROM media WHERE status='ok' ORDER BY COALESCE(taken_at, mtime_ns / 1e9) "
            "DESC, id DESC LIMIT ?", [limit])]

    # -- vectors -------------------------------------------------------------
    def vector_count(self, model_id: str, moments: bool = False) -> int:
        """How many media items have vectors for this model (a video counts once), or with
        `moments` how many vectors (each moment of a video counts)."""
        frames = "" if moments else " AND frame=0"
        return self.db.execute(
            f"SELECT COUNT(*) FROM embeddings WHERE model_id=?{frames}", [model_id]
        ).fetchone()[0]

    def vector_ids(self, model_id: str) -> np.ndarray:
        """Index labels of every vector of this model (see label_of)."""
        rows = self._rows(f"SELECT {_LABEL_SQL} FROM embeddings WHERE model_id=?", [model_id])
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def vectors(
        self, model_id: str, since_seq: int = 0, ids: Iterable[int] | None = None,
        dtype=np.float32,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """(labels, matrix, max seq) of this model's vectors, optionally newer than a seq or of
        some media ids (all of a video's moments). Labels are media ids for photos.

        The whole table (no `ids`) is read in chunks straight into one matrix of `dtype`:
        at 1M 768-d vectors a float16 stand-in is made with 1.5 GB, never a 3 GB float32 copy
        (nor the rows' bytes, another 3 GB) on the way."""
        if ids is None:
            return self._all_vectors(model_id, since_seq, dtype)
        id_list = list(ids)
        rows: list[tuple] = []
        for start in range(0, len(id_list), 900):
            chunk = id_list[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows += self._rows(
                f"SELECT {_LABEL_SQL}, vector, seq FROM embeddings WHERE model_id=? "
                f"AND media_id IN ({marks})", [model_id, *chunk])
        if not rows:
            return np.empty(0, np.int64), np.empty((0, 0), dtype), since_seq
        return _vector_rows(rows, dtype)

    def _all_vectors(self, model_id: str, since_seq: int, dtype) -> tuple[np.ndarray, np.ndarray, int]:
        count = self.db.execute("SELECT COUNT(*) FROM embeddings WHERE model_id=? AND seq>?",
                                [model_id, since_seq]).fetchone()[0]
        labels = np.empty(count, np.int64)
        matrix: np.ndarray | None = None
        extra: list[tuple[np.ndarray, np.ndarray]] = []  # rows written after the count
        n, top = 0, since_seq
        for got, vecs, seq in self.iter_vectors(model_id, since_seq, dtype):
            top = max(top, seq)
            if matrix is None:
                matrix = np.empty((count, vecs.shape[1]), dtype)
            fits = max(0, min(len(got), count - n))
            labels[n:n + fits], matrix[n:n + fits] = got[:fits], vecs[:fits]
            n += fits
            if fits < len(got):
                extra.append((got[fits:], vecs[fits:]))
        if matrix is None:
            return np.empty(0, np.int64), np.empty((0, 0), dtype), since_seq
        if n < count or extra:  # rows deleted or added between the count and the read
            labels = np.concatenate([labels[:n], *(e[0] for e in extra)])
            matrix = np.concatenate([matrix[:n], *(e[1] for e in extra)])
        return labels, matrix, top

    def iter_vectors(self, model_id: str, since_seq: int = 0, dtype=np.float32,
                     block: int = 8192) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """(labels, matrix of `dtype`, max seq) blocks of this model's vectors in (media id,
        frame) order, each block a separate array (a reader may let go of one it is done
        with). The whole table is walked one short read per block: a long walk (an index
        rebuild) never holds a read transaction open, which would keep the WAL from being
        checkpointed. Rows newer than a seq are few: one read through the (model, seq) index."""
        if since_seq:
            cursor = self.db.execute(
                f"SELECT {_LABEL_SQL}, vector, seq FROM embeddings WHERE model_id=? AND seq>? "
                "ORDER BY media_id, frame", [model_id, since_seq])
            batches: Iterator[list[tuple]] = iter(lambda: cursor.fetchmany(block), [])
        else:
            batches = self._walk_vectors(model_id, block)
        for batch in batches:
            labels, vecs, seq = _vector_rows(batch, dtype)
            # its own array: float32 is a view of the rows' bytes until copied
            yield labels, vecs if vecs.flags.owndata else vecs.copy(), seq

    def _walk_vectors(self, model_id: str, block: int) -> Iterator[list[tuple]]:
        after = (-1, -1)
        while True:
            # the primary key's order, (media id, model, frame), from the last row read; the
            # unary + keeps SQLite off the (model, seq) index, which would sort every row of
            # the model for each block
            batch = self._rows(
                f"SELECT {_LABEL_SQL}, vector, seq FROM embeddings WHERE +model_id=? "
                "AND (media_id, model_id, frame) > (?, ?, ?) "
                "ORDER BY media_id, model_id, frame LIMIT ?",
                [model_id, after[0], model_id, after[1], block])
            if batch:
                yield batch
            if len(batch) < block:
                return
            after = split_label(batch[-1][0])

    def max_seq(self, model_id: str) -> int:
        return self.db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM embeddings WHERE model_id=?", [model_id]
        ).fetchone()[0]

    def other_models(self, model_id: str) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT DISTINCT model_id FROM embeddings WHERE model_id!=?", [model_id])]

    # -- switching models (core/switch.py) -------------------------------------
    def make_model_active(self, spec: str, model_id: str, retired: Iterable[str] = ()) -> bool:
        """Make a model the library's (meta "model" and "model_id"), ending a switch, in one
        transaction; refused (False) while a photo still lacks its vector. The `retired`
        models' ids are kept in meta "retired_models" until their vectors are deleted."""
        with self.write() as w:
            if w.execute(
                    "SELECT 1 FROM media m JOIN folders f ON f.id=m.folder_id "
                    "WHERE f.paused=0 AND m.status!='error' AND NOT EXISTS "
                    "(SELECT 1 FROM embeddings e WHERE e.media_id=m.id AND e.model_id=?) "
                    "LIMIT 1", [model_id]).fetchone():
                return False
            for key, value in (("model", spec), ("model_id", model_id), ("switching_to", ""),
                               ("retired_models", "\n".join(retired))):
                w.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", [key, value])
        return True

    def drop_model(self, model_id: str) -> int:
        """Delete a model's vectors and index header; returns how many vectors went."""
        with self.write() as w:
            gone = w.execute("DELETE FROM embeddings WHERE model_id=?", [model_id]).rowcount
            w.execute("DELETE FROM index_header WHERE model_id=?", [model_id])
        return gone

    # -- index header --------------------------------------------------------
    def index_header(self, model_id: str) -> IndexHeader | None:
        row = self.db.execute(
            "SELECT model_id, dim, count, seq, file_size, fingerprint, generation "
            "FROM index_header WHERE model_id=?", [model_id]).fetchone()
        return IndexHeader(*row) if row else None

    def set_index_header(self, header: IndexHeader) -> None:
        with self.write() as w:
            w.execute(
                "INSERT OR REPLACE INTO index_header VALUES(?, ?, ?, ?, ?, ?, ?)",
                [header.model_id, header.dim, header.count, header.seq, header.file_size,
                 header.fingerprint, header.generation])

    # -- the second pass and people (schema 3) --------------------------------
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
                    "WHERE m.status='ok' AND f.paused=0 AND (r.media_id IS NULL OR r.version!=? "
                    "OR r.content_hash!=m.content_hash) "
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
            "WHERE m.status='ok' AND f.paused=0").fetchone()[0]
        if not enrichers:
            return total, total
        marks = " AND ".join(
            "EXISTS (SELECT 1 FROM enrich_runs r WHERE r.media_id=m.id AND r.enricher=? AND "
            "r.version=? AND r.content_hash=m.content_hash)" for _ in enrichers)
        done = self.db.execute(
            f"SELECT COUNT(*) FROM media m JOIN folders f ON f.id=m.folder_id "
            f"WHERE m.status='ok' AND f.paused=0 AND {marks}",
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

    # each enricher's rows are written by one method here (OCR adds its own)
    _ENRICH_WRITERS = {"faces": "_write_faces", "text": "_write_text"}

    @staticmethod
    def _write_text(w: sqlite_utils.Database, media_id: int, lines: list) -> None:
        """Replace the text read in a photo: rows of (frame, core.ocr.TextLine)."""
        w.execute("DELETE FROM photo_text WHERE media_id=?", [media_id])
        for number, (frame, line) in enumerate(lines):
            w.execute("INSERT INTO photo_text(media_id, frame, line, text, confidence, x0, y0, "
                      "x1, y1) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      [media_id, frame, number, line.text, line.confidence, *line.box])

    def media_id_of(self, path: str) -> int | None:
        row = self.db.execute("SELECT id FROM media WHERE path=?", [db_path(path)]).fetchone()
        return row[0] if row else None

    def people_in(self, media_id: int) -> list[str]:
        """The names of the named people in a photo."""
        return [r[0] for r in self._rows(
            "SELECT DISTINCT p.name FROM faces f JOIN people p ON p.id = f.person_id "
            "WHERE f.media_id=? AND p.name IS NOT NULL AND p.hidden=0 ORDER BY p.name",
            [media_id])]

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
        """(media id, core.places.Place or None) pairs; None records "no place" (a position
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

    def model_ids(self) -> list[str]:
        """Every model that has vectors in the catalog."""
        return [r[0] for r in self._rows("SELECT DISTINCT model_id FROM embeddings")]

    def sample_ids(self, n: int) -> list[int]:
        """Up to n indexed media ids spread evenly over the library (the same ones each time
        while it is unchanged): the bulk a query's scores are measured against."""
        total = self.media_count()
        step = max(1, total // max(n, 1))
        return [r[0] for r in self._rows(
            "SELECT id FROM media WHERE status='ok' AND id % ? = 0 LIMIT ?", [step, n])] or \
            [r[0] for r in self._rows("SELECT id FROM media WHERE status='ok' LIMIT ?", [n])]

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
            for (media_id,) in rows:
                hits.setdefault(media_id, set()).add(word)
        return hits

    def text_body(self, media_id: int) -> str:
        rows = self._rows("SELECT body FROM media_fts WHERE rowid=?", [media_id])
        return rows[0][0] if rows else ""

    @staticmethod
    def _write_faces(w: sqlite_utils.Database, media_id: int, faces: list) -> None:
        """Replace a photo's faces. A face found again at the same place (boxes overlapping by
        half) keeps its id, person and the user's corrections."""
        old = w.execute("SELECT id, frame, box_left, box_top, box_right, box_bottom FROM faces "
                        "WHERE media_id=?", [media_id]).fetchall()
        kept: set[int] = set()
        w.execute("UPDATE faces SET idx=-id WHERE media_id=?", [media_id])  # free the idx slots
        for face in faces:
            match = max(((_iou(face.box, o[2:]), o[0]) for o in old
                         if o[1] == face.frame and o[0] not in kept), default=(0.0, None))
            values = [face.frame, face.idx, *face.box, face.quality, int(face.sortable),
                      None if face.embedding is None else np.asarray(face.embedding, "<f4").tobytes()]
            if match[0] >= 0.5:
                kept.add(match[1])
                w.execute("UPDATE faces SET frame=?, idx=?, box_left=?, box_top=?, box_right=?, "
                          "box_bottom=?, quality=?, sortable=?, embedding=? WHERE id=?",
                          [*values, match[1]])
                if not face.sortable:
                    w.execute("UPDATE faces SET person_id=NULL WHERE id=?", [match[1]])
            else:
                w.execute("INSERT INTO faces(media_id, frame, idx, box_left, box_top, box_right, "
                          "box_bottom, quality, sortable, embedding) VALUES(?, ?, ?, ?, ?, ?, ?, ?, "
                          "?, ?)", [media_id, *values])
        for o in old:
            if o[0] not in kept:
                w.execute("DELETE FROM faces WHERE id=?", [o[0]])

    def face_vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(face ids, media ids, person ids (0: none), float32 matrix) of every sortable face
        of an indexed photo."""
        rows = self._rows(
            "SELECT f.id, f.media_id, COALESCE(f.person_id, 0), f.embedding FROM faces f "
            "JOIN media m ON m.id=f.media_id WHERE f.sortable=1 AND f.embedding IS NOT NULL "
            "AND m.status='ok' ORDER BY f.id")
        if not rows:
            return (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64),
                    np.empty((0, 128), np.float32))
        ids, media, people = (np.array([r[i] for r in rows], np.int64) for i in range(3))
        matrix = np.frombuffer(b"".join(r[3] for r in rows), "<f4").reshape(len(rows), -1)
        return ids, media, people, matrix

    def face_constraints(self) -> tuple[dict[int, int], set[tuple[int, int]]]:
        """The user's corrections: face → the person it must be in; (face, person) pairs a face
        must never be in."""
        must: dict[int, int] = {}
        cannot: set[tuple[int, int]] = set()
        for face_id, person_id, is_must in self._rows(
                "SELECT face_id, person_id, must FROM face_constraints"):
            if is_must:
                must[face_id] = person_id
            else:
                cannot.add((face_id, person_id))
        return must, cannot

    def set_face_people(self, assign: dict[int, int | None], new_groups: list[list[int]]) -> list[int]:
        """Move faces to people (None: unsorted) and make a new person of each group, in one
        transaction; people left with no face and nothing the user said about them go.
        Returns the new people's ids."""
        made = []
        with self.write() as w:
            for face_id, person_id in assign.items():
                w.execute("UPDATE faces SET person_id=? WHERE id=?", [person_id, face_id])
            for group in new_groups:
                person_id = w.execute("INSERT INTO people(created_at) VALUES(?)",
                                      [time.time()]).lastrowid
                made.append(person_id)
                for face_id in group:
                    w.execute("UPDATE faces SET person_id=? WHERE id=?", [person_id, face_id])
            w.execute("DELETE FROM people WHERE name IS NULL AND hidden=0 AND NOT EXISTS "
                      "(SELECT 1 FROM faces f WHERE f.person_id=people.id) AND NOT EXISTS "
                      "(SELECT 1 FROM face_constraints c WHERE c.person_id=people.id AND c.must=1)")
        return made

    def people(self, hidden: bool = False) -> list[PersonRow]:
        """People with their photo and face counts, most photos first."""
        rows = self._rows(
            "SELECT p.id, p.name, p.hidden, COUNT(DISTINCT f.media_id), COUNT(f.id) FROM people p "
            "JOIN faces f ON f.person_id=p.id JOIN media m ON m.id=f.media_id AND m.status='ok' "
            + ("" if hidden else "WHERE p.hidden=0 ")
            + "GROUP BY p.id ORDER BY COUNT(DISTINCT f.media_id) DESC, p.id")
        return [PersonRow(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def person(self, person_id: int) -> PersonRow | None:
        row = self.db.execute("SELECT id, name, hidden FROM people WHERE id=?", [person_id]).fetchone()
        if row is None:
            return None
        photos, faces = self.db.execute(
            "SELECT COUNT(DISTINCT f.media_id), COUNT(f.id) FROM faces f JOIN media m "
            "ON m.id=f.media_id AND m.status='ok' WHERE f.person_id=?", [person_id]).fetchone()
        return PersonRow(row[0], row[1], bool(row[2]), photos, faces)

    def person_media(self, person_id: int, limit: int = 1000) -> list[int]:
        """A person's photos, newest first."""
        return [r[0] for r in self._rows(
            "SELECT m.id FROM media m WHERE m.status='ok' AND m.id IN "
            "(SELECT media_id FROM faces WHERE person_id=?) "
            "ORDER BY COALESCE(m.taken_at, m.mtime_ns / 1e9) DESC, m.id DESC LIMIT ?",
            [person_id, limit])]

    def person_faces(self, person_id: int | None, limit: int = 200) -> list[FaceRow]:
        """A person's faces (None: the unsorted ones that could be sorted), best first."""
        where = "f.person_id=?" if person_id is not None else "f.person_id IS NULL AND f.sortable=1"
        return [FaceRow(*r) for r in self._rows(
            "SELECT f.id, f.media_id, f.frame, f.idx, f.quality, f.person_id FROM faces f "
            f"JOIN media m ON m.id=f.media_id AND m.status='ok' WHERE {where} "
            "ORDER BY f.quality DESC, f.id LIMIT ?",
            ([person_id] if person_id is not None else []) + [limit])]

    def media_faces(self, media_id: int) -> list[FaceRow]:
        """The faces found in one photo (or video), with their people."""
        return [FaceRow(*r) for r in self._rows(
            "SELECT id, media_id, frame, idx, quality, person_id FROM faces WHERE media_id=? "
            "ORDER BY frame, idx", [media_id])]

    def rename_person(self, person_id: int, name: str | None) -> None:
        """Name a person: their faces now are theirs for good (must-link), whatever a
        re-clustering finds later."""
        with self.write() as w:
            w.execute("UPDATE people SET name=? WHERE id=?", [name, person_id])
            self._confirm(w, person_id)

    def hide_person(self, person_id: int, hidden: bool = True) -> None:
        with self.write() as w:
            w.execute("UPDATE people SET hidden=? WHERE id=?", [int(hidden), person_id])
            self._confirm(w, person_id)

    @staticmethod
    def _confirm(w: sqlite_utils.Database, person_id: int) -> None:
        w.execute("INSERT OR REPLACE INTO face_constraints(face_id, person_id, must) "
                  "SELECT id, person_id, 1 FROM faces WHERE person_id=?", [person_id])

    def merge_people(self, keep: int, gone: int) -> None:
        """Two people are one: `gone`'s faces and corrections move to `keep`, all confirmed."""
        with self.write() as w:
            name = w.execute("SELECT COALESCE(a.name, b.name), MIN(a.hidden, b.hidden) FROM "
                             "people a, people b WHERE a.id=? AND b.id=?", [keep, gone]).fetchone()
            w.execute("UPDATE faces SET person_id=? WHERE person_id=?", [keep, gone])
            w.execute("DELETE FROM face_constraints WHERE person_id=? AND must=0 AND face_id IN "
                      "(SELECT id FROM faces WHERE person_id=?)", [gone, keep])
            w.execute("UPDATE OR REPLACE face_constraints SET person_id=? WHERE person_id=?",
                      [keep, gone])
            w.execute("DELETE FROM face_constraints WHERE person_id=? AND must=0 AND face_id IN "
                      "(SELECT id FROM faces WHERE person_id=?)", [keep, keep])
            w.execute("UPDATE people SET name=?, hidden=? WHERE id=?", [name[0], name[1], keep])
            w.execute("DELETE FROM people WHERE id=?", [gone])
            self._confirm(w, keep)

    def face_not_person(self, face_id: int) -> int | None:
        """"Not this person": the face leaves its person for good (cannot-link) and becomes
        unsorted. Returns the person it left."""
        with self.write() as w:
            row = w.execute("SELECT person_id FROM faces WHERE id=?", [face_id]).fetchone()
            if row is None or row[0] is None:
                return None
            w.execute("INSERT OR REPLACE INTO face_constraints(face_id, person_id, must) "
                      "VALUES(?, ?, 0)", [face_id, row[0]])
            w.execute("UPDATE faces SET person_id=NULL WHERE id=?", [face_id])
            return row[0]

    def people_named(self, name: str) -> list[int]:
        """Ids of the people with this name (any case); a number is a person's id."""
        wanted = name.strip().casefold()
        out = [r[0] for r in self._rows("SELECT id, name FROM people WHERE name IS NOT NULL")
               if r[1].strip().casefold() == wanted]
        if not out and wanted.isdigit() and self.person(int(wanted)) is not None:
            out = [int(wanted)]
        return out

    def person_names(self) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT DISTINCT name FROM people WHERE name IS NOT NULL AND TRIM(name)!=''")]


def _under(folder: str) -> list[tuple[str | bytes, str | bytes]]:
    """Ranges [low, high) of the paths inside a folder, on the path index: one over the raw
    bytes of names that are not UTF-8 (stored as BLOBs, which sort after all text), and one
    over text paths when the folder's own name is UTF-8. Nothing in them is a wildcard."""
    prefix = folder.rstrip(os.sep) + os.sep
    raw = os.fsencode(prefix)
    ranges: list[tuple[str | bytes, str | bytes]] = [(raw, raw[:-1] + bytes([raw[-1] + 1]))]
    try:
        prefix.encode("utf-8")
    except UnicodeEncodeError:
        return ranges
    return [(prefix, prefix[:-1] + chr(ord(os.sep) + 1)), *ranges]


def _under_sql(folder: str) -> tuple[str, list]:
    ranges = _under(folder)
    return ("(" + " OR ".join("(path >= ? AND path < ?)" for _ in ranges) + ")",
            [bound for pair in ranges for bound in pair])


def _camera_sql(camera, wanted) -> int:
    return int(wanted is not None and camera_matches(camera, wanted))


def _name_sql(path, field_name, value) -> int:
    return int(path is not None and matches_exact(path, [(field_name, value)]))


def _any_word_sql(path, words) -> int:
    return int(path is not None and path_has_any(path, words.split("\0")))


class _ThreadConnection:
    """One thread's connection. Held in a thread-local, so when the thread ends it is
    released, and closed, on that thread (sqlite3 connections belong to their thread)."""

    def __init__(self, conn: sqlite3.Connection, db: sqlite_utils.Database):
        self.conn, self.db = conn, db

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:  # ProgrammingError: closed by the garbage collector elsewhere
            pass

    def __del__(self) -> None:
        self.close()


def _keywords_json(keywords) -> str | None:
    """A photo's keywords as stored: a JSON list (the full-text search will read them)."""
    return json.dumps(list(keywords), ensure_ascii=False) if keywords else None


def _path_text_sql(path, folder=None) -> str:
    """A path as words for the full-text table: from the watched folder's own name down (not
    "/home/anna/...", which every photo would hold); any bytes, names not UTF-8 too."""
    if path is None:
        return ""
    text = fs_path(path)
    if folder is not None:
        root = os.path.dirname(fs_path(folder).rstrip(os.sep))
        if root and text.startswith(root + os.sep):
            text = text[len(root) + 1:]
    return text.encode("utf-8", "replace").decode("utf-8")


def _place_sql(locality, city, region, country, wanted) -> int:
    """Whether a place answers to a name, any case or accents (core.places.fold)."""
    from .places import COUNTRY_ALIASES, fold

    want = fold(wanted or "")
    names = {fold(n) for n in (locality, city, region, country) if n}
    alias = COUNTRY_ALIASES.get(want)
    return int(want in names or (alias is not None and fold(alias) in names))


def _run_script(db: sqlite_utils.Database, script: str) -> None:
    """Statements one by one inside the caller's transaction (executescript would commit);
    a trigger's body keeps its own semicolons (sqlite3.complete_statement says where a
    statement ends)."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.execute(statement)
            statement = ""
    if statement.strip(" \n;"):
        db.execute(statement)


def _media_row(r: tuple) -> MediaRow:
    return MediaRow(r[0], r[1], fs_path(r[2]), *r[3:])


# -- people: row types and helpers --------------------------------------------
@dataclass(frozen=True)
class EnrichItem:
    media_id: int
    path: str
    kind: str
    content_hash: str
    frames: int  # a video's moments (thumbnails), 1 for a photo
    needs: frozenset[str]  # the enrichers still to run on it


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str | None
    hidden: bool
    photos: int
    faces: int


@dataclass(frozen=True)
class FaceRow:
    id: int
    media_id: int
    frame: int
    idx: int
    quality: float
    person_id: int | None


def _person_sql(name, person_id, wanted) -> int:
    """A person by name (any case) or by id."""
    wanted = wanted.strip().casefold()
    return int((name is not None and name.strip().casefold() == wanted)
               or (wanted.isdigit() and int(wanted) == person_id))


def _iou(a, b) -> float:
    """Overlap of two boxes (left, top, right, bottom) over their union."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
