"""The catalog's tables, triggers and migrations, and the step that brings a catalog up to date."""

from __future__ import annotations

import os
import re
import sqlite3

import sqlite_utils

SCHEMA_VERSION = 9

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
    added_at REAL NOT NULL,
    drive TEXT,
    drive_name TEXT,
    drive_mount TEXT,
    away TEXT
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
    score REAL,
    embedding BLOB,
    person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    region_id INTEGER REFERENCES face_regions(id) ON DELETE CASCADE,
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

# -- faces apart (schema 8): "not this person" said of faces, not of a person's id (a person
# emptied by a re-sorting, or merged away, took the rejection with it). One rejection is a set:
# side 0 the faces said not to be the person, side 1 the faces the person held then; no face of
# one side is ever one person with a face of the other, whatever ids the people get later.
_APART_SCHEMA = """
CREATE TABLE IF NOT EXISTS faces_apart (
    apart_id INTEGER NOT NULL,
    face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    side INTEGER NOT NULL,
    PRIMARY KEY (apart_id, face_id)
);
CREATE INDEX IF NOT EXISTS faces_apart_face ON faces_apart(face_id);
"""
_SCHEMA += _APART_SCHEMA

# -- names in the files (schema 9): the face regions a photo's XMP names (MWG, Microsoft), each
# name once (`key`: any case) with the person it stands for: until the user confirms the name,
# a person with no name and no face. A region names the found face it covers (`face_id`); a
# confirmed name with no face found there is a face of its own (`faces.region_id`), so that
# the person is in that photo for search, made again whenever the photo's faces or regions are.
_NAMES_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_names (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    person_id INTEGER REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS file_names_person ON file_names(person_id);
CREATE TABLE IF NOT EXISTS face_regions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    name_id INTEGER NOT NULL REFERENCES file_names(id) ON DELETE CASCADE,
    box_left REAL NOT NULL, box_top REAL NOT NULL, box_right REAL NOT NULL, box_bottom REAL NOT NULL,
    source TEXT NOT NULL,
    face_id INTEGER REFERENCES faces(id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS face_regions_media ON face_regions(media_id);
CREATE INDEX IF NOT EXISTS face_regions_name ON face_regions(name_id);
CREATE INDEX IF NOT EXISTS face_regions_face ON face_regions(face_id);
CREATE INDEX IF NOT EXISTS faces_region ON faces(region_id);
"""
_SCHEMA += _NAMES_SCHEMA


def _migrate_to_9(w: sqlite_utils.Database) -> None:
    """Schema 9 from 3-8 (which have faces): the column that makes a region a face."""
    if "region_id" not in {r[1] for r in w.execute("PRAGMA table_info(faces)")}:
        w.execute("ALTER TABLE faces ADD COLUMN region_id INTEGER "
                  "REFERENCES face_regions(id) ON DELETE CASCADE")
# Schema 8 from 3-7: each person's rejections become one set, against the faces it holds now
_MIGRATE_TO_8 = """
INSERT OR IGNORE INTO faces_apart(apart_id, face_id, side)
    SELECT person_id, face_id, 0 FROM face_constraints WHERE must=0;
INSERT OR IGNORE INTO faces_apart(apart_id, face_id, side)
    SELECT f.person_id, f.id, 1 FROM faces f
    WHERE f.person_id IN (SELECT person_id FROM face_constraints WHERE must=0);
DELETE FROM faces_apart WHERE apart_id NOT IN (SELECT apart_id FROM faces_apart WHERE side=1);
DELETE FROM face_constraints WHERE must=0;
"""

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

# Schema 6 (from 3, 4 or 5, which have faces): the detector's score of each face, which tells
# a face too small or blurred to recognise (still someone) from a pattern taken for a face.
# Faces found before have none (counted as someone) until the faces enricher runs again.
_MIGRATE_TO_6 = """
ALTER TABLE faces ADD COLUMN score REAL;
"""

# Schema 7 (from any): the drive a folder is on, as the system names it (a filesystem's UUID or
# label, a network share, else its device number), its name and where it was mounted; and why
# the folder is away when it is (not connected, not answering), its photos kept meanwhile.
_DRIVE_COLUMNS = ("drive", "drive_name", "drive_mount", "away")


def _migrate_to_7(w: sqlite_utils.Database) -> None:
    have = {r[1] for r in w.execute("PRAGMA table_info(folders)")}
    for column in _DRIVE_COLUMNS:
        if column not in have:
            w.execute(f"ALTER TABLE folders ADD COLUMN {column} TEXT")


def schema_version(db: sqlite_utils.Database) -> int:
    if "meta" not in db.table_names():
        return 0
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


def _objects(pattern: str) -> frozenset[str]:
    return frozenset(re.findall(pattern + r" IF (?:NOT )?EXISTS (\w+)", _SCHEMA))


# what an up-to-date catalog holds, and what it no longer holds (an index of an older build)
_MADE = _objects(r"CREATE (?:VIRTUAL )?(?:TABLE|INDEX|TRIGGER)")
_DROPPED = _objects(r"DROP (?:TABLE|INDEX|TRIGGER)")


def is_current(db: sqlite_utils.Database) -> bool:
    """Whether the catalog needs no change at all: its version, and every table, index and
    trigger as this version makes them. Opening then only reads."""
    if schema_version(db) != SCHEMA_VERSION:
        return False
    have = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    return _MADE <= have and not (_DROPPED & have)


def migrate(w: sqlite_utils.Database) -> None:
    """Bring the catalog to SCHEMA_VERSION inside the caller's write transaction. The version
    is read again under the write lock: another process may have migrated meanwhile."""
    if is_current(w):
        return
    version = schema_version(w)
    if version == 1:
        run_script(w, _MIGRATE_1_TO_2)
    if 1 <= version < 4:
        run_script(w, _MIGRATE_TO_4)
    if 3 <= version < 6:
        run_script(w, _MIGRATE_TO_6)
    if 1 <= version < 7:
        _migrate_to_7(w)
    if 3 <= version < 9:
        _migrate_to_9(w)
    run_script(w, _SCHEMA)
    if 1 <= version < 5:
        run_script(w, _MIGRATE_TO_5)
    if 3 <= version < 8:
        run_script(w, _MIGRATE_TO_8)
    w.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', ?)",
              [str(SCHEMA_VERSION)])


def run_script(db: sqlite_utils.Database, script: str) -> None:
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


def path_text(path, folder=None) -> str:
    """A path as words for the full-text table: from the watched folder's own name down (not
    "/home/anna/...", which every photo would hold); any bytes, names not UTF-8 too."""
    if path is None:
        return ""
    text = os.fsdecode(path)
    if folder is not None:
        root = os.path.dirname(os.fsdecode(folder).rstrip(os.sep))
        if root and text.startswith(root + os.sep):
            text = text[len(root) + 1:]
    return text.encode("utf-8", "replace").decode("utf-8")
