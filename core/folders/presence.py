"""Whether each watched folder is on its drive, judged before a scan may forget anything: here,
back at another mount point with its drive, or away (not connected, not answering).

An unplugged drive leaves its mount point behind as an empty folder on another filesystem;
a share whose server is gone does not answer at all. Neither is a deletion: the folder's photos
are kept, searchable, until the drive is back. A folder's drive is its filesystem's lasting
name (core/folders/drives.py); where the system gives only a device number, which the next
mount may change, the folder's own photos tell: a drive that holds them where the catalog says
is the folder's drive."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from core.folders.drives import Drive, drive_of, drives_mounted, lasting, within
from core.paths import inside
from core.store import Catalog, FolderDrive
from core.types import Away, Event, Level, Notice

NOT_CONNECTED = "not connected"
NOT_ANSWERING = "not answering"
NOT_FOUND = "folder not found"  # its drive is there, the folder is not (moved, renamed)
MTIME_SLACK_NS = 2_000_000_000  # FAT and exFAT keep times to 2 s


@dataclass(frozen=True)
class Verdict:
    folder: FolderDrive
    path: str  # where the folder is now: another path when its drive is back elsewhere
    drive: Drive | None  # the drive it is on (None: a folder from before drives were known)
    away: str | None = None  # why it is away; None: here

    @property
    def moved(self) -> bool:
        return self.away is None and self.path != self.folder.path

    def as_away(self) -> Away:
        f = self.folder
        return Away(f.path, f.drive_name or os.path.basename(f.path.rstrip(os.sep)) or f.path,
                    self.away or "", f.photos)


def _holds(sample: list[tuple[str, int, int]], old: str, new: str) -> bool:
    """Whether the folder's photos (a sample of them) are under `new` as they were under `old`:
    at least half of them, same size and time."""
    if not sample:
        return True
    found = 0
    for path, size, mtime_ns in sample:
        if not inside(path, old):
            continue
        try:
            st = os.stat(new + path[len(old):])
        except OSError:
            continue
        found += st.st_size == size and abs(st.st_mtime_ns - mtime_ns) <= MTIME_SLACK_NS
    return 2 * found >= len(sample)


def _look(folder: FolderDrive, sample: list[tuple[str, int, int]]) -> Verdict:
    root = folder.path
    here = drive_of(root) if os.path.isdir(root) else None
    if here is not None and (here.key == folder.drive or _holds(sample, root, root)):
        return Verdict(folder, root, here)
    mounted = []
    if lasting(folder.drive) and folder.drive_mount and inside(root, folder.drive_mount):
        # the drive may be back at another mount point (USB1 beside a stale USB folder)
        mounted = [d for d in drives_mounted() if d.key == folder.drive]
        for drive in mounted:
            if here is not None and drive.mount == here.mount:
                continue
            moved = drive.mount.rstrip(os.sep) + root[len(folder.drive_mount.rstrip(os.sep)):]
            if os.path.isdir(moved) and _holds(sample, root, moved):
                return Verdict(folder, moved, drive)
    if here is not None and folder.drive is None:
        # known from before drives were: the scan's hold keeps its photos if most are gone
        return Verdict(folder, root, None)
    return Verdict(folder, root, None, NOT_FOUND if mounted else NOT_CONNECTED)


def judge(folder: FolderDrive, sample: list[tuple[str, int, int]], seconds: float) -> Verdict:
    """Where a folder is, asked with a time limit (a share that does not answer is away)."""
    try:
        return within(lambda: _look(folder, sample), seconds, folder.path)
    except OSError:  # NotAnswering, or a share that answers only with errors
        return Verdict(folder, folder.path, None, NOT_ANSWERING)


class Presence:
    """Judges watched folders and records what it finds: each one's drive, a move with its
    drive, away and back, each change told once (a Notice)."""

    ASK_WITHIN_S = 15.0  # a drive that has not answered by then is away until it does

    def __init__(self, catalog: Catalog, emit: Callable[[Event], None]):
        self.catalog = catalog
        self.emit = emit

    def judge(self, folders: list[FolderDrive]) -> list[Verdict]:
        """Each folder's verdict, nothing written (`snapseek status`)."""
        return [judge(f, self.catalog.media_sample(f.id) if f.photos else [], self.ASK_WITHIN_S)
                for f in folders]

    def check(self, folders: list[FolderDrive]) -> list[Verdict]:
        """Each folder's verdict, recorded: what a scan does first."""
        others = self.catalog.folder_drives()
        verdicts = []
        for verdict in self.judge(folders):
            if verdict.moved and any(inside(verdict.path, o.path) or inside(o.path, verdict.path)
                                     for o in others if o.id != verdict.folder.id):
                verdict = Verdict(verdict.folder, verdict.folder.path, None, NOT_CONNECTED)
            self._record(verdict)
            verdicts.append(verdict)
        return verdicts

    def not_answering(self, folder: FolderDrive) -> Verdict:
        """A folder whose walk stopped hearing from its drive: away from now on."""
        verdict = Verdict(folder, folder.path, None, NOT_ANSWERING)
        self._record(verdict)
        return verdict

    def _record(self, verdict: Verdict) -> None:
        f, drive = verdict.folder, verdict.drive
        if verdict.away is not None:
            if f.away != verdict.away:
                self.catalog.set_folder_away(f.id, verdict.away)
                self.emit(Notice(Level.WARNING, (
                    f"{f.path} is away ({verdict.as_away().line()}): its {f.photos} photos are "
                    "kept, and stay searchable, until it is back.")))
            return
        if verdict.moved:
            self.catalog.move_folder(f.id, f.path, verdict.path)
            self.emit(Notice(Level.INFO, f"{f.path} is back, at {verdict.path}: its photos "
                                         "are as they were."))
        elif f.away is not None:
            self.emit(Notice(Level.INFO, f"{f.path} is back: its photos are as they were."))
        if drive is not None:
            if (f.drive, f.drive_name, f.drive_mount, f.away) != (drive.key, drive.name,
                                                                  drive.mount, None):
                self.catalog.set_folder_drive(f.id, drive.key, drive.name, drive.mount)
        elif f.away is not None:
            self.catalog.set_folder_drive(f.id, f.drive, f.drive_name, f.drive_mount)
