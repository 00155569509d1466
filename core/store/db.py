"""The catalog's connections: one per thread, writes in `BEGIN IMMEDIATE` transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from core.query.filters import SQL_FUNCTIONS
from core.store.schema import SCHEMA_VERSION, is_current, migrate, path_text, schema_version
from core.types import CatalogError

# what the storage raises; callers catch this name and never import sqlite3 themselves
StorageError = sqlite3.Error


class CatalogFull(CatalogError):
    """SQLite could not write: the disk (or the user's quota) is full."""


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc))  # SQLITE_FULL


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


class Connections:
    """SQLite in WAL mode; one connection per thread, one writer at a time.

    Opening only reads when the catalog is up to date: a read-only command never waits behind
    a writer, and a home that cannot be written (a backup, a mounted snapshot) still answers."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._read_only = False
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._read_only = self.path.exists() and not (
            os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK))
        try:
            db = self.db
            version = schema_version(db)
            if version > SCHEMA_VERSION:
                raise CatalogError(
                    f"The catalog {self.path} was written by a newer Snapseek "
                    f"(schema {version}, this version knows {SCHEMA_VERSION}). "
                    "Update Snapseek, or use another --home."
                )
            if is_current(db):
                return
            if self._read_only:
                raise CatalogError(
                    f"The catalog {self.path} was written by an older Snapseek and cannot be "
                    "brought up to date here: its folder is read-only. Open it once where it "
                    "can be written, or use another --home.")
            with self.write() as w:
                migrate(w)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise CatalogError(
                f"The catalog {self.path} cannot be read ({exc}). It was left untouched: "
                "move it aside to start a new library there, or use another --home."
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        if not self._read_only:
            conn = sqlite3.connect(str(self.path), timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        # SQLite reads a WAL catalog it cannot write only through its -shm file; where that
        # cannot be made either, nothing can change the catalog, and it is read as it stands
        conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=60)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError:
            conn.close()
            conn = sqlite3.connect(self.path.resolve().as_uri() + "?immutable=1", uri=True, timeout=60)
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (sqlite connections are bound to their thread)."""
        owned = getattr(self._local, "conn", None)
        if owned is None:
            conn = self._connect()
            conn.execute("PRAGMA foreign_keys=ON")
            # filters defined once, in Python, used from SQL as they are (core.query.filters)
            for name, (arguments, function) in SQL_FUNCTIONS.items():
                conn.create_function(name, arguments, function, deterministic=True)
            for arguments in (1, 2):  # the full-text table's words (see schema)
                conn.create_function("snapseek_path_text", arguments, path_text, deterministic=True)
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
