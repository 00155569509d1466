"""Stat-only sweeps of watched folders: what is new, changed, renamed, copied or gone."""

from __future__ import annotations

import filecmp
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from core.media.imaging import content_hash, is_media, is_photo, kind_of
from core.paths import inside
from core.store import Catalog, MediaRow, NewFile
from core.types import ScanReport

log = logging.getLogger(__name__)


@dataclass
class ScanChanges:
    """What a scan did that the vector index must follow."""

    report: ScanReport = field(default_factory=ScanReport)
    removed_ids: list[int] = field(default_factory=list)  # drop from the index
    copied_ids: list[int] = field(default_factory=list)  # new ids that already have vectors
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def walk_photos(root: str, on_error: Callable[[str, str], None] | None = None
                ) -> Iterator[tuple[str, int, int]]:
    """Yield (path, size, mtime_ns) for photos under root, with os.scandir and no image reads.

    Hidden entries are skipped; symlinked folders are followed once (loops and folders reached
    twice are skipped by device and inode).
    """
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            if on_error:
                on_error(folder, f"folder unreadable ({exc.strerror or exc})")
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            continue
        seen_dirs.add(key)
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            if on_error:
                on_error(folder, f"folder unreadable ({exc.strerror or exc})")
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


def _walk_one(path: str, on_error) -> list[tuple[str, int, int]]:
    """A changed path: a folder is walked, a photo is stat-ed, anything gone yields nothing."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    if os.path.isdir(path):
        return list(walk_photos(path, on_error))
    if is_media(path) and not os.path.basename(path).startswith(".") and not _paired(path):
        return [(path, st.st_size, st.st_mtime_ns)]
    return []


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
    """Compares folders on disk with the catalog by (size, mtime); hashes only what is new."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def scan(self, folders: list[tuple[int, str]], on_found: Callable[[int], None] | None = None,
             only: dict[int, list[str]] | None = None) -> ScanChanges:
        """Sweep whole folders, or with `only` just some paths (files or sub-folders) in them."""
        changes = ScanChanges()
        report = changes.report
        missing: dict[str, MediaRow] = {}
        new: list[tuple[int, str, int, int]] = []
        changed: list[tuple[MediaRow, int, int]] = []
        on_error = lambda p, why: changes.unreadable.append((p, why))  # noqa: E731
        for folder_id, root in folders:
            if not os.path.isdir(root):
                # an unmounted disk is not a deletion: keep its photos until it comes back
                changes.unreadable.append((root, "folder is missing or not mounted"))
                continue
            if only is not None:
                if folder_id not in only:
                    continue
                known: dict[str, MediaRow] = {}
                found: list[tuple[str, int, int]] = []
                for path in _outermost(only[folder_id]):
                    known.update(self.catalog.media_under(folder_id, path))
                    found.extend(_walk_one(path, on_error))
            else:
                known = self.catalog.media_in_folder(folder_id)
                found = walk_photos(root, on_error=on_error)
            for path, size, mtime_ns in found:
                report.found += 1
                if on_found and report.found % 500 == 0:
                    on_found(report.found)
                row = known.pop(path, None)
                if row is None:
                    new.append((folder_id, path, size, mtime_ns))
                elif row.size != size or row.mtime_ns != mtime_ns:
                    changed.append((row, size, mtime_ns))
                else:
                    report.unchanged += 1
            missing.update(known)
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
