"""The catalog: SQLite is the truth about folders, media, their vectors and the index header."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from .search import camera_matches, matches_exact, path_has_any
# labels (media id and video frame) are defined in types; imported from here by older code
from .types import FRAME_SHIFT, MEDIA_MASK, CatalogError, Folder, Query, label_of, split_label  # noqa: F401

SCHEMA_VERSION = 2
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
    duration_s REAL
);
CREATE INDEX IF NOT EXISTS media_folder ON media(folder_id);
CREATE INDEX IF NOT EXISTS media_hash ON media(content_hash);
{_EMBEDDINGS.format(name="embeddings")}
CREATE INDEX IF NOT EXISTS embeddings_model_seq ON embeddings(model_id, seq);
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
    after: float | None = None  # taken at or after (unix time)
    before: float | None = None  # taken before
    names: tuple[tuple[str, str], ...] = ()  # ("path" | "name", text): all must match
    any_word: tuple[str, ...] = ()  # the path holds one of these words

    @classmethod
    def of(cls, query: Query, names=(), any_word=()) -> Filters:
        folder = os.path.realpath(os.path.expanduser(query.folder)) if query.folder else None
        return cls(folder, frozenset(query.kinds) if query.kinds else None,
                   query.camera.strip() if query.camera and query.camera.strip() else None,
                   query.after, query.before, tuple(names), tuple(any_word))

    def __bool__(self) -> bool:
        return bool(self.folder or self.kinds or self.camera or self.after is not None
                    or self.before is not None or self.names or self.any_word)

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
            clauses.append("taken_at >= ?")
            params.append(self.after)
        if self.before is not None:
            clauses.append("taken_at < ?")
            params.append(self.before)
        for field_name, value in self.names:
            clauses.append("snapseek_name(path, ?, ?)")
            params += [field_name, value]
        if self.any_word:
            clauses.append("snapseek_any_word(path, ?)")
            params.append("\0".join(self.any_word))
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
                _run_script(w, _SCHEMA)
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
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
            conn.commit()

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

    def media_rows(self, ids: list[int]) -> dict[int, tuple]:
        """id → (path, width, height, taken_at, kind, folder_id, camera, duration_s)."""
        out: dict[int, tuple] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for r in self._rows(
                f"SELECT id, path, width, height, taken_at, kind, folder_id, camera, duration_s "
                f"FROM media WHERE id IN ({marks})",
                chunk,
            ):
                out[r[0]] = (fs_path(r[1]), *r[2:])
        return out

    def details(self, media_id: int) -> dict | None:
        """Everything the catalog knows of one media item, for a preview or `--json`."""
        cur = self.db.execute(
            "SELECT id, path, kind, size, width, height, taken_at, taken_source, camera, lens, "
            "gps_lat, gps_lon, duration_s, status, error FROM media WHERE id=?", [media_id])
        row = cur.fetchone()
        if row is None:
            return None
        out = dict(zip([d[0] for d in cur.description], row, strict=True))
        out["path"] = fs_path(out["path"])
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
                    "taken_source=?, camera=?, lens=?, gps_lat=?, gps_lon=?, duration_s=? "
                    "WHERE id=?",
                    [meta.get("width"), meta.get("height"), meta.get("taken_at"),
                     meta.get("taken_source"), meta.get("camera"), meta.get("lens"),
                     meta.get("gps_lat"), meta.get("gps_lon"), meta.get("duration_s"), media_id],
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
    def vector_count(self, model_id: str) -> int:
        """How many media items have vectors for this model (a video counts once)."""
        return self.db.execute(
            "SELECT COUNT(*) FROM embeddings WHERE model_id=? AND frame=0", [model_id]
        ).fetchone()[0]

    def vector_ids(self, model_id: str) -> np.ndarray:
        """Index labels of every vector of this model (see label_of)."""
        rows = self._rows(f"SELECT {_LABEL_SQL} FROM embeddings WHERE model_id=?", [model_id])
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def vectors(
        self, model_id: str, since_seq: int = 0, ids: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """(labels, float32 matrix, max seq) of this model's vectors, optionally newer than a
        seq or of some media ids (all of a video's moments). Labels are media ids for photos."""
        if ids is not None:
            id_list = list(ids)
            rows: list[tuple] = []
            for start in range(0, len(id_list), 900):
                chunk = id_list[start : start + 900]
                marks = ",".join("?" * len(chunk))
                rows += self._rows(
                    f"SELECT {_LABEL_SQL}, vector, seq FROM embeddings WHERE model_id=? "
                    f"AND media_id IN ({marks})", [model_id, *chunk])
        else:
            rows = self._rows(
                f"SELECT {_LABEL_SQL}, vector, seq FROM embeddings WHERE model_id=? AND seq>? "
                "ORDER BY media_id, frame", [model_id, since_seq])
        if not rows:
            return np.empty(0, np.int64), np.empty((0, 0), np.float32), since_seq
        out_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
        return out_ids, mat, max(r[2] for r in rows)

    def max_seq(self, model_id: str) -> int:
        return self.db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM embeddings WHERE model_id=?", [model_id]
        ).fetchone()[0]

    def other_models(self, model_id: str) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT DISTINCT model_id FROM embeddings WHERE model_id!=?", [model_id])]

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


def _run_script(db: sqlite_utils.Database, script: str) -> None:
    """Statements one by one inside the caller's transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _media_row(r: tuple) -> MediaRow:
    return MediaRow(r[0], r[1], fs_path(r[2]), *r[3:])
