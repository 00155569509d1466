"""Watched folders: adding, absorbing and forgetting them, pausing, and the drive each is on:
its name, where it was mounted, whether it is away, and its move to another mount point."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from core.paths import inside
from core.store.db import Connections, db_path, fs_path
from core.types import Folder


@dataclass(frozen=True)
class FolderDrive:
    """A watched folder as the judge of its drive sees it (core/folders/presence.py)."""

    id: int
    path: str
    paused: bool
    drive: str | None  # the drive's key (core/folders/drives.py), None before it was known
    drive_name: str | None
    drive_mount: str | None  # where the drive was mounted when last seen
    away: str | None  # why it is away, None while it is here
    photos: int


class Folders(Connections):
    """The folders table."""

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
                      (SELECT COUNT(*) FROM media m WHERE m.folder_id=f.id AND m.status='error'),
                      f.drive_name, f.away
               FROM folders f ORDER BY f.path"""
        )
        return [Folder(r[0], fs_path(r[1]), bool(r[2]), *r[3:]) for r in rows]

    def folder_id(self, path: str) -> int | None:
        row = self.db.execute("SELECT id FROM folders WHERE path=?", [db_path(path)]).fetchone()
        return row[0] if row else None

    def folder_media_count(self, folder_id: int) -> int:
        return self.db.execute("SELECT COUNT(*) FROM media WHERE folder_id=?",
                               [folder_id]).fetchone()[0]

    # -- the drive each folder is on ---------------------------------------------------
    def folder_drives(self) -> list[FolderDrive]:
        return [FolderDrive(r[0], fs_path(r[1]), bool(r[2]), *r[3:]) for r in self._rows(
            """SELECT f.id, f.path, f.paused, f.drive, f.drive_name, f.drive_mount, f.away,
                      (SELECT COUNT(*) FROM media m WHERE m.folder_id=f.id)
               FROM folders f ORDER BY f.path""")]

    def media_sample(self, folder_id: int, n: int = 16) -> list[tuple[str, int, int]]:
        """(path, size, mtime_ns) of up to n of a folder's photos, picked at random: whether
        they are where the catalog says tells a drive that holds them from one that does not."""
        return [(fs_path(r[0]), r[1], r[2]) for r in self._rows(
            "SELECT path, size, mtime_ns FROM media WHERE folder_id=? ORDER BY RANDOM() LIMIT ?",
            [folder_id, n])]

    def set_folder_drive(self, folder_id: int, drive: str | None, name: str | None,
                         mount: str | None) -> None:
        """The folder is here, on this drive: it is not away."""
        with self.write() as w:
            w.execute("UPDATE folders SET drive=?, drive_name=?, drive_mount=?, away=NULL "
                      "WHERE id=?", [drive, name, mount, folder_id])

    def folder_away(self, folder_id: int) -> str | None:
        """Why a folder's drive is away, or None while it is here."""
        row = self.db.execute("SELECT away FROM folders WHERE id=?", [folder_id]).fetchone()
        return row[0] if row else None

    def set_folder_away(self, folder_id: int, why: str) -> None:
        with self.write() as w:
            w.execute("UPDATE folders SET away=? WHERE id=?", [why, folder_id])

    def move_folder(self, folder_id: int, old: str, new: str) -> None:
        """A folder and its photos now lie under `new` (its drive came back at another mount
        point): paths change, ids (and so vectors, thumbnails, faces) stay. One transaction."""
        with self.write() as w:
            w.execute("UPDATE folders SET path=? WHERE id=?", [db_path(new), folder_id])
            for media_id, path in w.execute("SELECT id, path FROM media WHERE folder_id=?",
                                            [folder_id]).fetchall():
                path = fs_path(path)
                if inside(path, old):
                    w.execute("UPDATE media SET path=? WHERE id=?",
                              [db_path(new + path[len(old):]), media_id])
