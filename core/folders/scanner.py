"""Stat-only sweeps of watched folders: what is new, changed, renamed, copied or gone."""

from __future__ import annotations

import filecmp
import logging
import os
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

from core.folders.drives import NotAnswering, answering
from core.media.imaging import content_hash, is_media, is_photo, kind_of
from core.paths import inside
from core.store import Catalog, MediaRow, NewFile
from core.types import GoneHeld, ScanReport

log = logging.getLogger(__name__)


@dataclass
class ScanChanges:
    """What a scan did that the vector index must follow."""

    report: ScanReport = field(default_factory=ScanReport)
    removed_ids: list[int] = field(default_factory=list)  # drop from the index
    copied_ids: list[int] = field(default_factory=list)  # new ids that already have vectors
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    not_answering: list[int] = field(default_factory=list)  # folders whose walk stopped hearing
    moved_folders: list[tuple[str, str]] = field(default_factory=list)  # with their drive


def walk_photos(root: str, on_error: Callable[[str, str], None] | None = None,
                skipped: list[str] | None = None) -> Iterator[tuple[str, int, int]]:
    """Yield (path, size, mtime_ns) for photos under root, with os.scandir and no image reads.

    Hidden entries are skipped; symlinked folders are followed once (loops and folders reached
    twice are skipped by device and inode). Folders that cannot be read are said (on_error)
    and listed in `skipped`: what the catalog has under them is not known to be gone.
    """
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]

    def unreadable(folder: str, exc: OSError) -> None:
        if on_error:
            on_error(folder, f"folder unreadable ({exc.strerror or exc})")
        if skipped is not None:
            skipped.append(folder)

    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except FileNotFoundError as exc:
            if folder == root:  # the folder itself: not known to be gone (a drive unplugged)
                unreadable(folder, exc)
            continue  # a sub-folder gone between its listing and now
        except OSError as exc:
            unreadable(folder, exc)
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            continue
        seen_dirs.add(key)
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        except OSError as exc:
            unreadable(folder, exc)
            continue
        # a RAW beside a JPEG (or HEIC) of the same name is one photo: the JPEG stands for it;
        # so is a phone's Live Photo, a HEIC/JPEG with a short .MOV of the same name
        developed = {os.path.splitext(e.name)[0].lower() for e in entries
                     if kind_of(e.name) == "photo" and is_photo(e.name)}
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if kind_of(entry.name) in ("raw", "video") and \
                    os.path.splitext(entry.name)[0].lower() in developed:
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=True) and is_media(entry.name):
                    est = entry.stat(follow_symlinks=True)
                    yield entry.path, est.st_size, est.st_mtime_ns
            except OSError:
                continue  # vanished between listing and stat


def _outermost(paths: list[str]) -> list[str]:
    """Drop paths that lie inside another path of the list."""
    out: list[str] = []
    for path in sorted(set(paths)):
        if not out or not inside(path, out[-1]):
            out.append(path)
    return out


def _walk_paths(paths: list[str], on_error, skipped: list[str]) -> Iterator[tuple[str, int, int]]:
    """Changed paths: a folder is walked, a photo is stat-ed, anything gone yields nothing."""
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if os.path.isdir(path):
            yield from walk_photos(path, on_error, skipped)
        elif is_media(path) and not os.path.basename(path).startswith(".") and not _paired(path):
            yield path, st.st_size, st.st_mtime_ns


def _paired(path: str) -> bool:
    """A RAW or a video that a photo of the same name stands for (see walk_photos)."""
    if kind_of(path) == "photo":
        return False
    folder, name = os.path.split(path)
    stem = os.path.splitext(name)[0].lower()
    try:
        return any(kind_of(n) == "photo" and is_photo(n) and os.path.splitext(n)[0].lower() == stem
                   for n in os.listdir(folder or "."))
    except OSError:
        return False


def _same_bytes(a: str, b: str) -> bool:
    """Whether two files hold the same bytes (read until the first difference)."""
    try:
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


MOVE_TIME_SLACK_NS = 2_000_000_000


class Scanner:
    """Compares folders on disk with the catalog by (size, mtime); hashes only what is new.

    The folders it is given are on their drives (core/folders/presence.py judged them). Even
    so it forgets nothing it is not sure of: photos under a folder it could not read are
    kept; a folder whose walk stops hearing from its drive for QUIET_S seconds is left as it
    was (`not_answering`); and when more than half of a folder's photos (HOLD_AT_LEAST at
    least) would go at once, they are kept and said (`report.held`) unless `forget` names the
    folder (or is True): the user is asked first."""

    QUIET_S = 30.0
    HOLD_AT_LEAST = 10

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def scan(self, folders: list[tuple[int, str]], on_found: Callable[[int], None] | None = None,
             only: dict[int, list[str]] | None = None,
             forget: bool | Collection[int] = False) -> ScanChanges:
        """Sweep whole folders, or with `only` just some paths (files or sub-folders) in them."""
        changes = ScanChanges()
        report = changes.report
        missing: dict[str, MediaRow] = {}
        new: list[tuple[int, str, int, int]] = []
        changed: list[tuple[MediaRow, int, int]] = []
        photos: dict[int, int] = {}  # each folder's photos before the scan
        roots = dict(folders)
        on_error = lambda p, why: changes.unreadable.append((p, why))  # noqa: E731
        for folder_id, root in folders:
            skipped: list[str] = []
            if only is not None:
                if folder_id not in only:
                    continue
                known: dict[str, MediaRow] = {}
                for path in _outermost(only[folder_id]):
                    known.update(self.catalog.media_under(folder_id, path))
                walk = _walk_paths(_outermost(only[folder_id]), on_error, skipped)
                photos[folder_id] = self.catalog.folder_media_count(folder_id)
            else:
                known = self.catalog.media_in_folder(folder_id)
                walk = walk_photos(root, on_error, skipped)
                photos[folder_id] = len(known)
            new_here: list[tuple[int, str, int, int]] = []
            changed_here: list[tuple[MediaRow, int, int]] = []
            unchanged = 0
            try:
                for path, size, mtime_ns in answering(walk, self.QUIET_S, root):
                    report.found += 1
                    if on_found and report.found % 500 == 0:
                        on_found(report.found)
                    row = known.pop(path, None)
                    if row is None:
                        new_here.append((folder_id, path, size, mtime_ns))
                    elif row.size != size or row.mtime_ns != mtime_ns:
                        changed_here.append((row, size, mtime_ns))
                    else:
                        unchanged += 1
            except NotAnswering:
                changes.not_answering.append(folder_id)  # left as it was: nothing new, none gone
                continue
            new += new_here
            changed += changed_here
            report.unchanged += unchanged
            missing.update((path, row) for path, row in known.items()
                           if not any(inside(path, folder) for folder in skipped))
        if on_found:
            on_found(report.found)
        hashes = {}
        for _, path, size, _ in new:
            try:
                hashes[path] = content_hash(path, size)
            except OSError as exc:
                hashes[path] = None  # vanished or unreadable: skip now, the next scan retries
                if isinstance(exc, PermissionError):  # said, or it is silently never indexed
                    on_error(path, f"file unreadable ({(exc.strerror or str(exc)).lower()})")
        changed_hashes = {}
        for row, size, _ in changed:
            try:
                changed_hashes[row.id] = content_hash(row.path, size)
            except OSError as exc:
                changed_hashes[row.id] = None
                if isinstance(exc, PermissionError):
                    on_error(row.path, f"file unreadable ({(exc.strerror or str(exc)).lower()})")
        missing_by_hash: dict[str, list[MediaRow]] = {}
        for row in missing.values():
            missing_by_hash.setdefault(row.content_hash, []).append(row)

        moved: list[tuple[int, int, str, int, int]] = []
        arrived: list[tuple[int, str, int, int, str]] = []
        for folder_id, path, size, mtime_ns in new:
            digest = hashes[path]
            if digest is None:
                continue
            # a move keeps the file's bytes and its modification time (to the 2 s of FAT and
            # exFAT cards and some network shares); a file edited in the middle (same size,
            # head and tail) that appears as another goes has a new time, and is decoded
            # rather than given the gone file's vectors
            gone = [r for r in missing_by_hash.get(digest, ())
                    if abs(r.mtime_ns - mtime_ns) <= MOVE_TIME_SLACK_NS]
            if gone:
                row = gone[-1]
                missing_by_hash[digest].remove(row)
                del missing[row.path]
                moved.append((row.id, folder_id, path, size, mtime_ns))
            else:
                arrived.append((folder_id, path, size, mtime_ns, digest))
        # same size, head and tail: a copy only if every byte agrees (a file edited in the
        # middle would otherwise get another picture's vectors, never decoded). Compared
        # before the write: a long comparison must not hold the catalog's write lock.
        moved_to = {m[0]: m[2] for m in moved}
        found_new = [
            NewFile(folder_id, path, size, mtime_ns, digest, kind_of(path), next(
                (media_id for media_id, source in self.catalog.copy_candidates(digest)
                 if _same_bytes(path, moved_to.get(media_id, source))), None))
            for folder_id, path, size, mtime_ns, digest in arrived]
        changed_rows = [(row.id, size, mtime_ns, changed_hashes[row.id])
                        for row, size, mtime_ns in changed if changed_hashes[row.id] is not None]
        self._hold(missing, photos, roots, forget, report)
        added, copied = self.catalog.record_scan(moved, found_new, changed_rows,
                                                 [row.id for row in missing.values()])
        report.renamed += len(moved)
        report.new += added
        report.copied += len(copied)
        changes.copied_ids += copied
        report.changed += len(changed_rows)
        report.removed += len(missing)
        changes.removed_ids += [r[0] for r in changed_rows] + [row.id for row in missing.values()]
        return changes

    def _hold(self, missing: dict[str, MediaRow], photos: dict[int, int], roots: dict[int, str],
              forget: bool | Collection[int], report: ScanReport) -> None:
        """Keep what would empty most of a folder at once, unless told to forget it."""
        gone: dict[int, list[MediaRow]] = {}
        for row in missing.values():
            gone.setdefault(row.folder_id, []).append(row)
        for folder_id, rows in gone.items():
            if forget is True or (forget and folder_id in forget):
                continue
            if len(rows) >= self.HOLD_AT_LEAST and 2 * len(rows) > photos.get(folder_id, 0):
                for row in rows:
                    del missing[row.path]
                report.held.append(GoneHeld(roots[folder_id], len(rows), photos[folder_id]))
